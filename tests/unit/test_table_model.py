"""The trained table model: training on generated tables, reading with it, its files and their checks."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest

from docvlm.engines.layout.gbdt import TextModel
from docvlm.engines.layout.tables import TableResult, extract_line_items
from docvlm.engines.layout.tables.document import table_lines
from docvlm.engines.layout.tables.features import COLUMN_FEATURES, FEATURE_SET
from docvlm.engines.layout.tables.header import HeaderCache
from docvlm.engines.layout.tables.learned import assign_kinds, column_inputs, read_with_model, regions
from docvlm.engines.layout.tables.line_features import ROW_FEATURES
from docvlm.engines.layout.tables.model import (
    COLUMNS_FILE,
    META_FILE,
    ROWS_FILE,
    ModelMismatch,
    clear_cache,
    load_model,
)
from docvlm.engines.layout.tables.values import emit
from docvlm.training.data import TrainingDoc
from docvlm.training.table_labels import gold_items
from docvlm.training.tables import fit
from evaluation.metrics import line_item_f1
from tests.helpers.tables import generated_table


def _docs(seed: int, n: int) -> list[TrainingDoc]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pages, items = generated_table(rng)
        out.append(TrainingDoc(f"gen-{seed}-{i}", f"group-{i % 3}", pages, {"line_items": items}))
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("table_model")
    scores = fit(_docs(1, 12), out, init_dir=None, seed=0)
    return out, scores


def test_fit_writes_a_model_folder_with_meta_and_cross_validated_scores(trained: tuple[Path, dict]) -> None:
    folder, scores = trained
    assert (folder / COLUMNS_FILE).is_file() and (folder / ROWS_FILE).is_file()
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    assert meta["feature_set"] == FEATURE_SET
    assert meta["column_features"] == list(COLUMN_FEATURES) and meta["row_features"] == list(ROW_FEATURES)
    assert meta["trained_on"]["documents"] == 12 and len(meta["trained_on"]["groups"]) == 3
    assert set(scores["groups"]) == {"group-0", "group-1", "group-2"}
    assert scores["line_items"]["f1"] == meta["scores"]["cross_validated"]["f1"]
    assert scores["line_items"]["f1"] > 0.9  # each group held out once, on layouts like the others
    assert "fit" in scores


def test_the_trained_model_reads_new_documents(trained: tuple[Path, dict]) -> None:
    folder, _ = trained
    model = load_model(folder)
    assert model is not None
    for pages, items in (generated_table(random.Random(s)) for s in (101, 102, 103)):
        # the model's own reading (its column classes, its row segmentation), not the rules' fallback
        learned = read_with_model(pages, [table_lines(p) for p in pages], model, HeaderCache(), frozenset())
        own = TableResult()
        emit(learned.items, learned.kinds, own)
        assert line_item_f1(own.items, items).f1 == 1.0, (own.items, items)
        result = extract_line_items(pages, model=model)
        assert result.items == own.items
        assert all(0 < c <= 1.0 for c in result.confidence.values())


def test_column_classifier_names_the_columns_of_a_new_table(trained: tuple[Path, dict]) -> None:
    model = load_model(trained[0])
    assert model is not None
    pages, _ = generated_table(random.Random(7))
    region = next(r for r in regions(pages, [table_lines(p) for p in pages], HeaderCache()) if r.band)
    named, _ = assign_kinds(region.band.columns, model.columns(column_inputs(region)))
    assert [c.kind for c in named] == ["description", "quantity", "unit_price", "amount"]


def test_training_is_deterministic(tmp_path: Path) -> None:
    docs = _docs(2, 6)
    fit(docs, tmp_path / "a", seed=3)
    fit(docs, tmp_path / "b", seed=3)
    for name in (COLUMNS_FILE, ROWS_FILE):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_numpy_forest_equals_lightgbm(trained: tuple[Path, dict]) -> None:
    import lightgbm as lgb
    import numpy as np

    folder, _ = trained
    for name, width in ((COLUMNS_FILE, len(COLUMN_FEATURES)), (ROWS_FILE, len(ROW_FEATURES))):
        x = np.random.default_rng(0).normal(scale=3.0, size=(40, width))
        x[:, :6] = np.round(np.abs(x[:, :6]))
        ours = TextModel((folder / name).read_text()).predict(x)
        theirs = lgb.Booster(model_file=str(folder / name)).predict(x)
        assert np.abs(ours - theirs).max() < 1e-12


def test_a_model_of_another_feature_set_fails_to_load_with_a_clear_message(
    trained: tuple[Path, dict], tmp_path: Path
) -> None:
    folder, _ = trained
    old = tmp_path / "old"
    old.mkdir()
    for name in (COLUMNS_FILE, ROWS_FILE):
        (old / name).write_text((folder / name).read_text())
    meta = json.loads((folder / META_FILE).read_text())
    meta["feature_set"] = "tables-v0"
    (old / META_FILE).write_text(json.dumps(meta))
    clear_cache()
    with pytest.raises(ModelMismatch, match=r"tables-v0.*Retrain"):
        load_model(old)


def test_without_a_model_the_rules_read_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import docvlm.engines.layout.tables.model as model_module

    pages, items = generated_table(random.Random(11))
    assert load_model(tmp_path) is None  # an empty folder holds no table model
    monkeypatch.setattr(model_module, "PACKAGE_MODEL_DIR", tmp_path)  # and the package ships none
    clear_cache()
    try:
        result = extract_line_items(pages, model_dir=tmp_path)
    finally:
        clear_cache()
    assert line_item_f1(result.items, items).f1 == 1.0


def test_gold_items_keeps_only_labelled_line_item_fields() -> None:
    assert gold_items({"line_items": [{"description": "x", "amount": "1.00", "sku": "y"}]}) == [
        {"description": "x", "amount": "1.00"}
    ]
    assert gold_items({"total": "1.00"}) is None


def _labelled_docs(seed: int, n: int) -> list[TrainingDoc]:
    """Generated tables labelled with their items and their total (the header chooser trains on it)."""
    out = []
    for d in _docs(seed, n):
        total = sum(Decimal(it["amount"]) for it in d.gold["line_items"])
        out.append(TrainingDoc(d.source, d.group, d.pages, {**d.gold, "total": f"{total:.2f}"}, "generated"))
    return out


def test_one_train_command_builds_the_table_and_the_header_model(tmp_path: Path) -> None:
    from docvlm.engines import LayoutOptions
    from docvlm.engines.layout import LayoutEngine
    from docvlm.training import components
    from docvlm.training.train import train_model
    from schemas.invoice import Invoice

    meta = train_model(_labelled_docs(4, 12), tmp_path, None, seed=0, trainers=components(folds=3))
    # the tables first: the header reads them; then the seller profiles, from the header's candidates
    assert list(meta["components"]) == ["tables", "header", "sellers"]
    tables = meta["components"]["tables"]
    assert tables["feature_set"] == FEATURE_SET and tables["documents"] == 12
    assert tables["scores"]["cross_validated"]["f1"] > 0.9
    assert "folds by group" in tables["scores"]["cross_validation"]
    assert json.loads((tmp_path / "meta.json").read_text())["components"]["tables"] == tables
    assert (tmp_path / COLUMNS_FILE).read_text().startswith("tree")  # LightGBM text, not a pickle
    assert meta["components"]["header"]["scores"]["fields"]["total"]["n"] == 12
    clear_cache()
    pages, items = generated_table(random.Random(205))
    out = LayoutEngine(LayoutOptions(model=str(tmp_path))).extract(pages, Invoice)
    assert line_item_f1(out.data["line_items"], items).f1 == 1.0
    assert load_model(tmp_path) is not None  # the folder's table model read them


def test_crossval_scores_line_items_per_group_held_out_beside_the_header() -> None:
    from docvlm.training.crossval import crossval, gold_docs
    from evaluation.crossval_report import crossval_markdown

    docs = _labelled_docs(5, 9)
    result = crossval(docs, seed=0)
    assert result.tables is not None
    assert set(result.tables["groups"]) == {"group-0", "group-1", "group-2"}
    assert result.tables["rules"]["groups"].keys() == result.tables["groups"].keys()
    text, scores = crossval_markdown(docs, gold_docs(docs), result)
    assert "line items, each group held out" in text
    assert scores["generated"]["fields"]["total"]["n"] == 9
    assert scores["generated"]["line_items"]["held_out"]["tp"] == result.tables["sets"]["generated"]["tp"]
