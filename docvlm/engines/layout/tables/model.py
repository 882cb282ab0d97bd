"""The trained table model: a column classifier and a row segmenter, LightGBM text files with a meta.json.

The files are read and evaluated with numpy by ``gbdt.TextModel`` (the header ranker's reader):
extracting needs no lightgbm (only training does).

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

from docvlm.engines.layout.gbdt import TextModel
from docvlm.engines.layout.tables.features import (
    COLUMN_CLASSES,
    COLUMN_FEATURES,
    FEATURE_SET,
    ROW_CLASSES,
    ROW_FEATURES,
)
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
    """``model``: a ``TextModel`` or a LightGBM booster (the trainer scores its folds with the booster it holds)."""
    if not features:
        return []
    import numpy as np

    x = np.asarray(features, dtype=np.float64)
    if isinstance(model, TextModel):
        if x.shape[1] != model.num_features:
            raise ModelMismatch(
                f"{model.source} expects {model.num_features} features, got rows of {x.shape[1]}"
            )
        probs = model.predict(x)
    else:
        probs = model.predict(x, num_threads=1)
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
    try:
        columns = TextModel.load(path / COLUMNS_FILE)
        rows = TextModel.load(path / ROWS_FILE)
    except (OSError, ValueError) as e:
        raise ModelMismatch(f"cannot read the table model in {path}: {e}") from e
    if columns.num_features != len(COLUMN_FEATURES) or rows.num_features != len(ROW_FEATURES):
        raise ModelMismatch(f"the forests in {path} expect another number of features than {FEATURE_SET!r}")
    if columns.num_class != len(COLUMN_CLASSES) or rows.num_class != len(ROW_CLASSES):
        raise ModelMismatch(f"the forests in {path} predict another number of classes than this docvlm reads")
    _log.debug("table model loaded from %s (%s)", path, meta.get("feature_set"))
    return TableModel(path, columns, rows, meta)


def clear_cache() -> None:
    """Forget loaded models (a trainer that rewrites a folder, tests)."""
    with _lock:
        _loaded.clear()
