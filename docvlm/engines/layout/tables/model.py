"""The trained table model: a column classifier and a row segmenter, LightGBM text files with a meta.json.

The files are read and evaluated here with numpy: reading needs no lightgbm (only training does).

In: a model folder (the package's ``docvlm/engines/layout/model/`` by default) holding
``table_columns.txt``, ``table_rows.txt`` and ``table_meta.json``. Out: ``TableModel`` with
``columns(features)`` and ``rows(features)`` giving class probabilities. Loaded lazily, once per
folder; a folder without table files gives None (the rules read the tables alone); a model built
on another feature set raises ``ModelMismatch`` naming both sets.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from docvlm.engines.layout.tables.features import COLUMN_CLASSES, COLUMN_FEATURES, FEATURE_SET, ROW_CLASSES
from docvlm.engines.layout.tables.line_features import ROW_FEATURES
from docvlm.errors import EngineError

_log = logging.getLogger(__name__)

PACKAGE_MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
COLUMNS_FILE = "table_columns.txt"
ROWS_FILE = "table_rows.txt"
META_FILE = "table_meta.json"
MODEL_NAME = "docvlm-layout-tables"

_lock = threading.Lock()
_loaded: dict[Path, TableModel | None] = {}


class ModelMismatch(EngineError):
    """A table model was built for another feature set (or is incomplete); retrain it with this version."""


class Forest:
    """A LightGBM multiclass model read from its text file and evaluated with numpy (no lightgbm needed).

    All trees are walked at once, one level per step: a few numpy operations per tree level for a
    whole batch, where a tree-by-tree walk in Python would cost milliseconds a page.
    """

    def __init__(self, text: str, source: str = "model") -> None:
        header, _, body = text.partition("\nTree=")
        meta = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
        try:
            self.num_class = int(meta.get("num_class", "1"))
            self.num_feature = int(meta["max_feature_idx"]) + 1
        except (KeyError, ValueError) as e:
            raise ModelMismatch(f"{source} is not a LightGBM text model") from e
        parsed = [_parse_tree(block, source) for block in ("Tree=" + body).split("\nTree=") if block.strip()]
        trees = [t for t in parsed if t is not None]
        if not trees or len(trees) % self.num_class:
            raise ModelMismatch(
                f"{source} holds {len(trees)} trees, not a multiple of {self.num_class} classes"
            )
        import numpy as np

        n_nodes = max(1, max(len(t["split_feature"]) for t in trees))
        n_leaves = max(len(t["leaf_value"]) for t in trees)
        shape = (len(trees), n_nodes)
        self._feature = np.zeros(shape, dtype=np.int64)
        self._threshold = np.zeros(shape, dtype=np.float64)
        self._left = np.full(shape, -1, dtype=np.int64)
        self._right = np.full(shape, -1, dtype=np.int64)
        self._default_left = np.zeros(shape, dtype=bool)
        self._missing = np.zeros(shape, dtype=np.int64)  # 0 none, 1 zero, 2 nan
        self._leaf = np.zeros((len(trees), n_leaves), dtype=np.float64)
        self._root = np.zeros(len(trees), dtype=np.int64)
        for i, t in enumerate(trees):
            k = len(t["split_feature"])
            self._leaf[i, : len(t["leaf_value"])] = t["leaf_value"]
            if k == 0:
                self._root[i] = -1  # a single leaf (~0)
                continue
            self._feature[i, :k] = t["split_feature"]
            self._threshold[i, :k] = t["threshold"]
            self._left[i, :k] = t["left_child"]
            self._right[i, :k] = t["right_child"]
            dt = np.asarray(t["decision_type"], dtype=np.int64)
            if np.any(dt & 1):
                raise ModelMismatch(f"{source} uses categorical splits, which table features never need")
            self._default_left[i, :k] = (dt & 2) > 0
            self._missing[i, :k] = (dt >> 2) & 3
        self._depth = n_nodes

    def predict(self, features: list[list[float]]) -> Any:
        """Class probabilities, one row per feature row (softmax over the summed leaf values)."""
        import numpy as np

        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.num_feature:
            raise ModelMismatch(f"the model expects {self.num_feature} features, got rows of {x.shape[-1]}")
        n = x.shape[0]
        n_trees, width = self._feature.shape
        # flat node ids (tree * width + node) and the flat offset of each sample's row in x
        base = np.tile(np.arange(n_trees) * width, n)
        row_offset = np.repeat(np.arange(n) * self.num_feature, n_trees)
        cur = np.tile(self._root, n)
        feature, threshold = self._feature.ravel(), self._threshold.ravel()
        left, right = self._left.ravel(), self._right.ravel()
        plain = not self._missing.any() and not np.isnan(x).any()
        flat_x = x.ravel()
        for _ in range(self._depth):
            active = np.flatnonzero(cur >= 0)
            if active.size == 0:
                break
            node = base[active] + cur[active]
            value = flat_x[row_offset[active] + feature[node]]
            if plain:
                go_left = value <= threshold[node]
            else:
                go_left = self._go_left(value, node, threshold[node])
            cur[active] = np.where(go_left, left[node], right[node])
        leaves = self._leaf.ravel()[np.tile(np.arange(n_trees) * self._leaf.shape[1], n) + ~cur]
        scores = leaves.reshape(n, -1, self.num_class).sum(axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def _go_left(self, value: Any, node: Any, threshold: Any) -> Any:
        """The split decision with LightGBM's missing-value rules (zero / NaN go the default way)."""
        import numpy as np

        missing = self._missing.ravel()[node]
        nan = np.isnan(value)
        value = np.where(nan & (missing != 2), 0.0, value)
        use_default = (nan & (missing == 2)) | ((missing == 1) & (np.abs(value) <= 1e-35))
        return np.where(use_default, self._default_left.ravel()[node], value <= threshold)


def _parse_tree(block: str, source: str) -> dict[str, list[float]] | None:
    fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
    if "leaf_value" not in fields:
        return None
    try:
        out = {"leaf_value": [float(v) for v in fields["leaf_value"].split()]}
        if int(fields.get("num_leaves", "1")) > 1:
            out["split_feature"] = [int(v) for v in fields["split_feature"].split()]
            out["threshold"] = [float(v) for v in fields["threshold"].split()]
            out["decision_type"] = [int(v) for v in fields["decision_type"].split()]
            out["left_child"] = [int(v) for v in fields["left_child"].split()]
            out["right_child"] = [int(v) for v in fields["right_child"].split()]
        else:
            out.update(split_feature=[], threshold=[], decision_type=[], left_child=[], right_child=[])
    except (KeyError, ValueError) as e:
        raise ModelMismatch(f"{source}: a tree cannot be read ({e})") from e
    return out


class TableModel:
    """The two forests and their meta data."""

    def __init__(self, folder: Path, columns: Any, rows: Any, meta: dict[str, Any]) -> None:
        self.folder = folder
        self._columns = columns
        self._rows = rows
        self.meta = meta

    def columns(self, features: list[list[float]]) -> list[dict[str, float]]:
        """Class probabilities (``COLUMN_CLASSES``) for each column feature row."""
        return _predict(self._columns, features, COLUMN_CLASSES)

    def rows(self, features: list[list[float]]) -> list[dict[str, float]]:
        """Class probabilities (``ROW_CLASSES``) for each row feature row."""
        return _predict(self._rows, features, ROW_CLASSES)


def _predict(model: Any, features: list[list[float]], classes: tuple[str, ...]) -> list[dict[str, float]]:
    """``model``: a ``Forest`` or a LightGBM booster (the trainer scores its folds with the booster it holds)."""
    if not features:
        return []
    if isinstance(model, Forest):
        probs = model.predict(features)
    else:
        import numpy as np

        probs = model.predict(np.asarray(features, dtype=np.float64), num_threads=1)
    return [dict(zip(classes, (float(p) for p in row), strict=True)) for row in probs]


def check_meta(meta: dict[str, Any], folder: Path) -> None:
    """Raise ``ModelMismatch`` unless ``meta`` describes a table model of this feature set."""
    if meta.get("name") != MODEL_NAME:
        raise ModelMismatch(f"{folder / META_FILE} is not a docvlm table model (name {meta.get('name')!r})")
    if meta.get("feature_set") != FEATURE_SET:
        raise ModelMismatch(
            f"the table model in {folder} was trained on feature set {meta.get('feature_set')!r}; this docvlm "
            f"reads {FEATURE_SET!r}. Retrain it (python -m docvlm.training.tables) or use a matching docvlm."
        )
    if list(meta.get("column_features", [])) != list(COLUMN_FEATURES) or list(
        meta.get("row_features", [])
    ) != list(ROW_FEATURES):
        raise ModelMismatch(f"the table model in {folder} lists other feature names than {FEATURE_SET!r}")
    if (
        tuple(meta.get("column_classes", ())) != COLUMN_CLASSES
        or tuple(meta.get("row_classes", ())) != ROW_CLASSES
    ):
        raise ModelMismatch(f"the table model in {folder} predicts other classes than this docvlm reads")


def load_model(folder: str | Path | None = None) -> TableModel | None:
    """The table model of ``folder`` (default: the package's), loaded once; None when it holds none."""
    path = Path(folder).resolve() if folder is not None else PACKAGE_MODEL_DIR
    with _lock:
        if path in _loaded:
            return _loaded[path]
        model = _read(path)
        _loaded[path] = model
        return model


def _read(path: Path) -> TableModel | None:
    meta_path = path / META_FILE
    if not meta_path.is_file():
        _log.debug("no table model in %s; tables by the rules alone", path)
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelMismatch(f"cannot read {meta_path}: {e}") from e
    check_meta(meta, path)
    for name in (COLUMNS_FILE, ROWS_FILE):
        if not (path / name).is_file():
            raise ModelMismatch(f"the table model in {path} has no {name}")
    columns = Forest((path / COLUMNS_FILE).read_text(encoding="utf-8"), str(path / COLUMNS_FILE))
    rows = Forest((path / ROWS_FILE).read_text(encoding="utf-8"), str(path / ROWS_FILE))
    if columns.num_feature != len(COLUMN_FEATURES) or rows.num_feature != len(ROW_FEATURES):
        raise ModelMismatch(f"the forests in {path} expect another number of features than {FEATURE_SET!r}")
    if columns.num_class != len(COLUMN_CLASSES) or rows.num_class != len(ROW_CLASSES):
        raise ModelMismatch(f"the forests in {path} predict another number of classes than this docvlm reads")
    _log.debug("table model loaded from %s (%s)", path, meta.get("feature_set"))
    return TableModel(path, columns, rows, meta)


def clear_cache() -> None:
    """Forget loaded models (a trainer that rewrites a folder, tests)."""
    with _lock:
        _loaded.clear()
