"""Training the layout chooser on a few synthetic documents: it predicts, it is deterministic, it
refuses a model of another feature set; candidates, features and calibration on their own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from docvlm.engines import LayoutOptions
from docvlm.engines.layout import LayoutEngine
from docvlm.engines.layout.candidates.header import extract_header
from docvlm.engines.layout.candidates.pool import build_pool
from docvlm.engines.layout.features import feature_names, kind_matrix, label_vector
from docvlm.engines.layout.ranker import ModelError, load_model
from docvlm.engines.layout.text import page_lines
from docvlm.training.calibration import fit_isotonic
from docvlm.training.data import TrainingDoc
from docvlm.training.header import HeaderTrainer
from docvlm.training.train import train_model
from schemas.invoice import Invoice
from tests.helpers.pages import make_page

_SELLERS = [
    "Birch Tools",
    "Copper Kettle",
    "Dune Analytics",
    "Elm Street Print",
    "Fjord Marine",
    "Gale Energy",
]
_LABELS = [("Invoice No:", "Date:"), ("Document number", "Issued"), ("Ref.", "Invoice date")]


def _doc(i: int) -> tuple[list, dict]:
    """An invoice whose number label varies, with a decoy order number and a decoy date."""
    seller = _SELLERS[i % len(_SELLERS)]
    num_label, date_label = _LABELS[i % len(_LABELS)]
    number = f"{chr(65 + i % 26)}{2024 + i}-{100 + 7 * i}"
    sub, tax = 100 + 13 * i, 21 + i
    lines = [
        (40, 40, f"{seller} Ltd", 18),
        (40, 70, f"{10 + i} Harbour Road, Leeds LS{i % 9 + 1} 4AB"),
        (360, 110, f"{num_label}  {number}"),
        (360, 125, f"{date_label}  {1 + i % 27:02d}/03/2024"),
        (360, 140, f"Order No:  PO-{900 + i}"),
        (360, 155, f"Delivery  {2 + i % 26:02d}/04/2024"),
        (40, 220, "Description  Amount"),
        (40, 235, f"Consulting  {sub}.00"),
        (350, 600, f"Subtotal  {sub}.00"),
        (350, 615, f"VAT  {tax}.00"),
        (350, 630, f"Total  {sub + tax}.00"),
    ]
    gold = {
        "invoice_number": number,
        "invoice_date": f"2024-03-{1 + i % 27:02d}",
        "vendor": {"name": f"{seller} Ltd"},
        "subtotal": f"{sub}.00",
        "tax_total": f"{tax}.00",
        "total": f"{sub + tax}.00",
    }
    return [make_page(lines)], gold


def _docs(n: int) -> list[TrainingDoc]:
    out = []
    for i in range(n):
        pages, gold = _doc(i)
        out.append(
            TrainingDoc(source=f"doc{i}.pdf", group=f"g{i % 6}", pages=pages, gold=gold, dataset="synthetic")
        )
    return out


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    train_model(_docs(18), out, None, seed=0, trainers=[HeaderTrainer(rounds=25, folds=3)])
    return out


def test_trained_model_predicts_on_an_unseen_document(model_dir: Path) -> None:
    meta = json.loads((model_dir / "meta.json").read_text())
    header = meta["components"]["header"]
    assert header["feature_set"]["version"] >= 1
    assert {"invoice_number", "total", "invoice_date"} <= set(header["fields"])
    assert header["scores"]["fields"]["invoice_number"]["n"] == 18
    for spec in header["fields"].values():
        assert (model_dir / spec["file"]).read_text().startswith("tree")  # LightGBM text, not a pickle
    pages, gold = _doc(40)  # a number and date not seen in training
    out = LayoutEngine(LayoutOptions(model=str(model_dir))).extract(pages, Invoice)
    assert out.data["invoice_number"] == gold["invoice_number"]
    assert out.data["invoice_date"] == gold["invoice_date"]
    assert out.data["total"] == gold["total"]
    assert 0.0 <= out.confidence["total"] <= 1.0


def test_training_is_deterministic(model_dir: Path, tmp_path: Path) -> None:
    train_model(_docs(18), tmp_path, None, seed=0, trainers=[HeaderTrainer(rounds=25, folds=3)])
    for f in sorted(p.name for p in model_dir.glob("header_*.txt")):
        assert (tmp_path / f).read_text() == (model_dir / f).read_text()


def test_continued_training_adds_trees(model_dir: Path, tmp_path: Path) -> None:
    meta = train_model(_docs(12), tmp_path, model_dir, seed=0, trainers=[HeaderTrainer(rounds=5, folds=2)])
    before = json.loads((model_dir / "meta.json").read_text())["components"]["header"]["fields"]
    after = meta["components"]["header"]["fields"]
    assert after["total"]["trees"] == before["total"]["trees"] + 5


def test_model_of_another_feature_set_refuses_to_load(model_dir: Path, tmp_path: Path) -> None:
    meta = json.loads((model_dir / "meta.json").read_text())
    meta["components"]["header"]["feature_set"]["version"] = 0
    for spec in meta["components"]["header"]["fields"].values():
        (tmp_path / spec["file"]).write_text((model_dir / spec["file"]).read_text())
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="feature set"):
        load_model(str(tmp_path))
    with pytest.raises(ModelError, match="not a docvlm model folder"):
        load_model(str(tmp_path / "nothing"))


def test_pool_holds_the_labelled_values_and_features_have_the_named_width() -> None:
    pages, gold = _doc(3)
    pls = [page_lines(p) for p in pages]
    rules = extract_header(pls)
    pool = build_pool(pls, rules, is_receipt=False)
    assert gold["invoice_number"] in {p.value for p in pool.by_kind["id"]}
    assert gold["total"] in {p.value for p in pool.by_kind["amount"]}
    assert "2024-04-05" in {p.value for p in pool.by_kind["date"]}  # the decoy is a candidate too
    for kind in pool.by_kind:
        x = kind_matrix(pool, kind, None, None)
        assert x.shape == (len(pool.by_kind[kind]), len(feature_names(kind)))
        assert np.isfinite(x).all()


def test_label_vector_knows_classes_and_hashes_unknown_labels() -> None:
    names = feature_names("id")
    start = names.index("left_cls_invoice_number") - names.index("left_present")
    known = label_vector("Invoice No:")
    assert known[start - 2] == 1.0  # invoice_number class (the vector has no present/dist slots)
    unseen = label_vector("Belegnr.")
    assert sum(unseen[-16:]) > 0  # an unknown label still has character n-grams


def test_isotonic_calibration_is_monotone_and_shrunk() -> None:
    cal = fit_isotonic([0.1, 0.2, 0.3, 0.8, 0.9, 0.95], [0, 0, 1, 1, 1, 1])
    assert cal["y"] == sorted(cal["y"])
    assert cal["y"][0] > 0.0 and cal["y"][-1] < 1.0
    assert fit_isotonic([], []) == {"x": [], "y": []}


def test_isotonic_calibration_pools_equal_scores() -> None:
    # a rule's fixed confidence: 0.75 for every value it finds, right 3 times in 4
    cal = fit_isotonic([0.75] * 40 + [0.5] * 10, [1.0] * 30 + [0.0] * 10 + [0.0] * 8 + [1.0] * 2)
    got = dict(zip(cal["x"], cal["y"], strict=True))
    assert abs(got[0.75] - 0.75) < 0.02
    assert 0.2 < got[0.5] < 0.3  # 2 of 10, shrunk toward the overall rate


def test_calibration_by_document_type_leans_on_the_pooled_map_when_sparse() -> None:
    from docvlm.training.calibration import fit_by_type

    # receipts: a raw 0.9 is right 9 times in 10; the few invoices: right 1 time in 4
    rows = [("receipt", 0.9, float(i % 10 != 0)) for i in range(300)]
    rows += [("invoice", 0.9, float(i % 4 == 0)) for i in range(8)]
    maps = fit_by_type(rows)
    at = {k: dict(zip(m["x"], m["y"], strict=True))[0.9] for k, m in maps.items()}
    assert abs(at["receipt"] - 0.9) < 0.03
    assert at["invoice"] < at["all"] - 0.1  # its own rate pulls it down ...
    assert at["invoice"] > 0.4  # ... but 8 rows do not outweigh the pooled map


def test_trained_model_keeps_a_calibration_per_document_type(model_dir: Path) -> None:
    from docvlm.engines.layout.ranker import load_model

    header = json.loads((model_dir / "meta.json").read_text())["components"]["header"]
    spec = header["fields"]["invoice_number"]  # the rules miss some numbers: the model is used there
    assert spec["use_on"] == ["invoice"] and set(spec["calibration_by_type"]) == {"invoice"}
    cal = spec["calibration_by_type"]["invoice"]
    assert cal["y"] == sorted(cal["y"]) and 0.0 < cal["y"][0] <= cal["y"][-1] <= 1.0
    assert load_model(str(model_dir)).type_calibration[("invoice", "invoice_number")].y == cal["y"]


def test_crossval_holds_out_whole_groups_and_reports_per_dataset() -> None:
    from docvlm.training.crossval import crossval, fold_plan, gold_docs
    from evaluation.crossval_report import crossval_markdown

    docs = _docs(14)
    plan = fold_plan(docs)
    for g in {d.group for d in docs}:
        assert len({plan[d.source] for d in docs if d.group == g}) == 1
    result = crossval(docs, rounds=15)
    assert set(result.records) == {d.source for d in docs}
    confs = [c for r in result.records.values() for c in r["confidence"].values()]
    assert confs and all(0.0 <= c <= 1.0 for c in confs)
    text, scores = crossval_markdown(docs, gold_docs(docs), result)
    assert "| invoice_number | 14 |" in text
    assert scores["synthetic"]["groups"] == 6
    assert scores["synthetic"]["fields"]["total"]["held_out"] >= 0.5  # the labelled totals add up


def test_identifier_and_name_features_see_dates_labels_and_blocks() -> None:
    page = make_page(
        [
            (40, 40, "Kundennummer:  4711"),
            (40, 100, "Kunden AG Mitte"),
            (40, 112, "Hauptstrasse 1"),
            (40, 124, "10115 Berlin"),
            (360, 160, "Beleg  28.06.2014"),
            (360, 175, "Nr.  RE-2014/9"),
        ]
    )
    pls = [page_lines(page)]
    res = extract_header(pls, None, {}, None)
    pool = build_pool(pls, res, False, {})
    ids = {p.value: i for i, p in enumerate(pool.by_kind["id"])}
    x = kind_matrix(pool, "id", {}, None)
    col = {n: j for j, n in enumerate(feature_names("id"))}
    assert x[ids["28.06.2014"], col["date_like"]] == 1.0
    assert x[ids["RE-2014/9"], col["date_like"]] == 0.0
    names = {p.value: i for i, p in enumerate(pool.by_kind["name"])}
    xn = kind_matrix(pool, "name", {}, None)
    cn = {n: j for j, n in enumerate(feature_names("name"))}
    block = xn[names["Kunden AG Mitte"]]
    assert block[cn["block_below"]] == 2.0 and block[cn["address_below"]] == 1.0
    label = xn[names["Kundennummer"]]
    assert label[cn["colon_after"]] == 1.0 and label[cn["value_right"]] == 1.0
    assert block[cn["value_right"]] == 0.0


def test_rule_confidences_map_to_their_observed_accuracy() -> None:
    from docvlm.training.calibration import fit_rule_maps, rule_outcomes

    gold = {"invoice_number": "A1", "vendor": {"name": "Birch Tools Ltd"}}
    assert rule_outcomes(
        {"invoice_number": "A1", "vendor.name": "Invoice"}, {"invoice_number": 0.9}, gold
    ) == [
        ("invoice_number", 0.9, 1.0),
        ("vendor.name", 0.5, 0.0),
    ]
    rows = [("invoice", "customer.name", 0.7, float(i % 5 == 0)) for i in range(20)]
    rows += [("invoice", "total", 0.9, 1.0)] * 3  # too few to recalibrate
    maps = fit_rule_maps(rows)
    assert set(maps["invoice"]) == {"customer.name"}
    assert maps["invoice"]["customer.name"]["y"][0] < 0.35  # 0.7 said, 20% right


def _generated(docs: list[TrainingDoc]) -> list[TrainingDoc]:
    for d in docs:
        d.synthetic = True
        d.source = f"gen-{d.source}"
        d.group = f"gen/{d.group}"
        d.dataset = "generated"
    return docs


def test_generated_documents_train_but_never_score_or_calibrate(tmp_path: Path) -> None:
    real, generated = _docs(12), _generated(_docs(18)[12:])
    meta = train_model(real + generated, tmp_path, None, seed=0, trainers=[HeaderTrainer(rounds=10, folds=3)])
    assert meta["training_data"]["synthetic"] == 6 and meta["training_data"]["documents"] == 18
    header = meta["components"]["header"]
    assert header["scores"]["fields"]["invoice_number"]["n"] == 12  # scored on the real ones only
    # the boosters learn from all 18: the same trees as when the 6 are ordinary documents
    plain = train_model(
        _docs(18), tmp_path / "plain", None, seed=0, trainers=[HeaderTrainer(rounds=10, folds=3)]
    )
    assert plain["components"]["header"]["scores"]["fields"]["invoice_number"]["n"] == 18
    assert (tmp_path / "header_total.txt").read_text() == (
        tmp_path / "plain" / "header_total.txt"
    ).read_text()


def test_crossval_keeps_generated_documents_in_every_fold_and_scores_none() -> None:
    from docvlm.training.crossval import crossval

    real, generated = _docs(12), _generated(_docs(18)[12:])
    result = crossval(real + generated, rounds=10)
    assert set(result.records) == {d.source for d in real}
