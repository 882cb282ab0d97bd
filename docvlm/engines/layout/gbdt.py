"""Predicting with a LightGBM text model in numpy, without importing LightGBM.

LightGBM trains the project's models (``docvlm train``) and saves them in its text format. Reading
them back with ``lightgbm.Booster`` costs about 2 s of imports per process (LightGBM pulls pandas
and scipy), which every worker and every ``docvlm extract`` paid before its first document. This
module parses the text format and evaluates every tree of a model at once, for all rows, in a
fixed number of array operations whatever the trees' depth:
1. every split's test on every row (one gather and one comparison over rows x splits);
2. each split keeps the leaves on the side the row goes to: a bit mask over its tree's leaves
   (at most 64), so AND-ing the masks of a tree's splits leaves one bit, the row's leaf;
3. the leaves' values are summed per row, per class for multiclass models (and put through the
   sigmoid for binary objectives, the softmax for ``multiclass``, a sigmoid per class for
   ``multiclassova``).

Supported: the objectives whose output is the raw score or its sigmoid (``binary``,
``regression``-like and ``lambdarank``), ``multiclass`` and ``multiclassova``, trees of up to 64 leaves, numerical and categorical
splits, and LightGBM's three ways of sending missing values (``None``: NaN is read as 0; ``Zero``;
``NaN``); a categorical split sends NaN and negative values right, as LightGBM does. Other models
are refused with a ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

_ZERO = 1e-35  # LightGBM's kZeroThreshold
_CATEGORICAL, _DEFAULT_LEFT = 1, 2  # decision_type bits; bits 2-3 hold the missing type
_MISSING_ZERO, _MISSING_NAN = 1, 2
_MAX_LEAVES = 64  # one uint64 mask per split


@dataclass
class _Forest:
    """The splits of every tree side by side (tree ``k``'s from ``tree_start[k]``), their masks, the leaves."""

    feature: np.ndarray
    threshold: np.ndarray
    decision: np.ndarray
    cat_index: np.ndarray  # the split's category set (categorical splits), -1 otherwise
    cat_sets: list[frozenset[int]]
    keep_left: np.ndarray  # uint64: the leaves of its tree a row going left can still reach
    keep_right: np.ndarray
    tree_start: np.ndarray  # trees with at least one split
    tree_class: np.ndarray  # the class each of those trees scores (0 for one-output models)
    leaf_base: np.ndarray  # where each of those trees' leaves start in ``leaf_value``
    leaf_value: np.ndarray
    constant: np.ndarray  # per class: the sum of the trees that are a single leaf

    def __post_init__(self) -> None:
        # no categorical split, and every split reads NaN as 0 (LightGBM's missing type None)
        self.plain = not self.cat_sets and not ((self.decision >> 2) & 3).any()


class TextModel:
    """A LightGBM model read from its text format; ``predict`` matches ``Booster.predict``."""

    def __init__(self, text: str, source: str = "<text>") -> None:
        header, trees = _parse(text, source)
        self.source = source
        self.num_features = int(header.get("max_feature_idx", "-1")) + 1
        self.feature_names = header.get("feature_names", "").split()
        objective = header.get("objective", "regression").split()
        name = objective[0] if objective else "regression"
        param = next((o.split(":", 1)[1] for o in objective[1:] if o.startswith("sigmoid:")), "1")
        self.num_class = int(header.get("num_class", "1"))
        if int(header.get("num_tree_per_iteration", "1")) != self.num_class:
            raise ValueError(f"{source}: expected one tree per class and iteration")
        self._sigmoid: float | None = None
        self._softmax = False
        if name in ("binary", "cross_entropy", "xentropy", "multiclassova", "multiova", "ova"):
            self._sigmoid = float(param)
        elif name in ("multiclass", "softmax"):
            self._softmax = True
        elif self.num_class != 1:
            raise ValueError(f"{source}: objective {name!r} with {self.num_class} classes is not supported")
        if "average_output" in header:
            raise ValueError(f"{source}: random-forest models are not supported")
        self._forest = _build(trees, source, self.num_class)

    @classmethod
    def load(cls, path: str | Path) -> TextModel:
        p = Path(path)
        return cls(p.read_text(encoding="utf-8"), str(p))

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        """The sum of the trees' leaf values for each row of ``x`` (rows x features).

        One value a row, or for a multiclass model one a row and class (rows x classes).
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] < self.num_features:
            raise ValueError(f"{self.source}: expected rows of {self.num_features} features, got {x.shape}")
        f = self._forest
        n = x.shape[0]
        if n == 0 or f.tree_start.size == 0:
            full = np.tile(f.constant, (n, 1))
            return full[:, 0] if self.num_class == 1 else full
        if f.plain:
            vals = x.take(f.feature, axis=1)
            goes_left = (vals <= f.threshold) | np.isnan(vals)  # NaN is read as 0, and 0 <= t wherever t >= 0
            if (f.threshold < 0).any():
                goes_left &= ~np.isnan(vals) | (f.threshold >= 0)
        else:
            goes_left = _goes_left(x[:, f.feature], f)
        kept = np.bitwise_and.reduceat(np.where(goes_left, f.keep_left, f.keep_right), f.tree_start, axis=1)
        leaf = np.log2(kept.astype(np.float64)).astype(np.int64)  # the one bit left (exact: a power of 2)
        values = f.leaf_value[f.leaf_base + leaf]
        if self.num_class == 1:
            return values.sum(axis=1) + f.constant[0]
        scores = np.tile(f.constant, (n, 1))
        for c in range(self.num_class):
            scores[:, c] += values[:, f.tree_class == c].sum(axis=1)
        return scores

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model's output, as ``Booster.predict`` gives it.

        The sigmoid of the raw score for binary (and, per class, one-vs-all) objectives, the
        softmax over the classes for ``multiclass``, else the raw score.
        """
        raw = self.raw_score(x)
        if self._softmax:
            raw = raw - raw.max(axis=1, keepdims=True)
            e = np.exp(raw)
            return e / e.sum(axis=1, keepdims=True)
        if self._sigmoid is None:
            return raw
        return 1.0 / (1.0 + np.exp(-self._sigmoid * raw))


def _goes_left(val: np.ndarray, f: _Forest) -> np.ndarray:
    """Whether each row's value (rows x splits) goes to the split's left child, as LightGBM decides it."""
    missing = (f.decision >> 2) & 3
    nan = np.isnan(val)
    val = np.where(nan & (missing != _MISSING_NAN), 0.0, val)
    is_missing = ((missing == _MISSING_ZERO) & (np.abs(val) <= _ZERO)) | ((missing == _MISSING_NAN) & nan)
    left = np.where(is_missing, (f.decision & _DEFAULT_LEFT) != 0, val <= f.threshold)
    for split in np.nonzero(f.decision & _CATEGORICAL)[0]:  # NaN and negatives go right
        members = f.cat_sets[f.cat_index[split]]
        col = val[:, split]
        left[:, split] = [not nan[r, split] and v >= 0 and int(v) in members for r, v in enumerate(col)]
    return left


def _parse(text: str, source: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current = header
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Tree="):
            current = {}
            trees.append(current)
        elif line == "end of trees":
            break
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key] = value
        elif line and current is header:  # a flag line such as ``average_output``
            header[line] = ""
    if not text.startswith("tree") or "version" not in header:
        raise ValueError(f"{source}: not a LightGBM text model")
    return header, trees


def _numbers(tree: dict[str, str], key: str, dtype: type, count: int) -> np.ndarray:
    arr: np.ndarray = np.array(tree.get(key, "").split(), dtype=dtype)
    if arr.size != count:
        raise ValueError(f"tree field {key!r} has {arr.size} values, expected {count}")
    return arr


def _build(trees: list[dict[str, str]], source: str, num_class: int) -> _Forest:
    """The forest of ``trees``, in the file's order: tree ``i`` scores class ``i % num_class``."""
    feature, threshold, decision, cat_index, keep_left, keep_right = [], [], [], [], [], []
    tree_start, tree_class, leaf_base, leaf_values = [], [], [], []
    cat_sets: list[frozenset[int]] = []
    constant = np.zeros(num_class, dtype=np.float64)
    n_splits, n_leaves_seen = 0, 0
    try:
        for number, tree in enumerate(trees):
            n_leaves = int(tree["num_leaves"])
            leaves = _numbers(tree, "leaf_value", np.float64, n_leaves)
            if n_leaves == 1:
                constant[number % num_class] += float(leaves[0])
                continue
            if n_leaves > _MAX_LEAVES:
                raise ValueError(f"a tree of {n_leaves} leaves (at most {_MAX_LEAVES} are supported)")
            n_inner = n_leaves - 1
            lc = _numbers(tree, "left_child", np.int64, n_inner)
            rc = _numbers(tree, "right_child", np.int64, n_inner)
            dec = _numbers(tree, "decision_type", np.int64, n_inner)
            thr = _numbers(tree, "threshold", np.float64, n_inner)
            under = _leaves_under(lc, rc)
            everything = (1 << n_leaves) - 1
            for i in range(n_inner):
                keep_left.append(
                    everything & ~under[int(rc[i])] if rc[i] >= 0 else everything & ~(1 << int(~rc[i]))
                )
                keep_right.append(
                    everything & ~under[int(lc[i])] if lc[i] >= 0 else everything & ~(1 << int(~lc[i]))
                )
                cat_index.append(-1)
                if dec[i] & _CATEGORICAL:
                    cat_index[-1] = len(cat_sets)
                    cat_sets.append(_categories(tree, int(thr[i])))
            feature.append(_numbers(tree, "split_feature", np.int64, n_inner))
            threshold.append(thr)
            decision.append(dec)
            tree_start.append(n_splits)
            tree_class.append(number % num_class)
            leaf_base.append(n_leaves_seen)
            leaf_values.append(leaves)
            n_splits += n_inner
            n_leaves_seen += n_leaves
    except (KeyError, ValueError, IndexError) as exc:
        raise ValueError(f"{source}: unreadable tree: {exc}") from exc

    def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return _Forest(
        feature=joined(feature, np.int64),
        threshold=joined(threshold, np.float64),
        decision=joined(decision, np.int64),
        cat_index=np.array(cat_index, dtype=np.int64),
        cat_sets=cat_sets,
        keep_left=np.array(keep_left, dtype=np.uint64),
        keep_right=np.array(keep_right, dtype=np.uint64),
        tree_start=np.array(tree_start, dtype=np.int64),
        tree_class=np.array(tree_class, dtype=np.int64),
        leaf_base=np.array(leaf_base, dtype=np.int64),
        leaf_value=joined(leaf_values, np.float64),
        constant=constant,
    )


def _leaves_under(left: np.ndarray, right: np.ndarray) -> dict[int, int]:
    """For each inner node of one tree, the bit mask of the leaves below it."""
    under: dict[int, int] = {}

    def mask(child: int) -> int:
        if child < 0:
            return 1 << ~child  # leaf ``~child``
        if child not in under:
            under[child] = mask(int(left[child])) | mask(int(right[child]))
        return under[child]

    mask(0)
    return under


def _categories(tree: dict[str, str], k: int) -> frozenset[int]:
    """The categories that go left at categorical split ``k`` (LightGBM's bitset of 32-bit words)."""
    bounds = [int(b) for b in tree["cat_boundaries"].split()]
    words = [int(w) for w in tree["cat_threshold"].split()]
    return frozenset(
        32 * (w - bounds[k]) + bit
        for w in range(bounds[k], bounds[k + 1])
        for bit in range(32)
        if (words[w] >> bit) & 1
    )
