"""Seller profiles: learnt from a user's labels by ``docvlm train``, applied to that seller's next documents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from docvlm.engines import LayoutOptions
from docvlm.engines.layout import LayoutEngine
from docvlm.engines.layout.sellers import (
    PROFILES_FILE,
    Anchor,
    SellerProfiles,
    load_profiles,
    match_score,
    norm_label,
    norm_value,
)
from docvlm.training.data import TrainingDoc
from docvlm.training.header import HeaderTrainer
from docvlm.training.sellers import SellerTrainer, confidences, decided_fields, seller_key
from docvlm.training.tables import TableTrainer
from docvlm.training.train import train_model
from evaluation.adaptation import plan_splits
from schemas.invoice import Invoice
from tests.helpers.pages import make_page

TAX_ID = "GB 123 4567 89"


def _invoice(i: int, brand_seller: bool) -> tuple[list, dict]:
    """An invoice whose letterhead prints a holding's legal name; the seller of ``brand_seller``
    documents is labelled by the shop name printed alone in its footer, as its user names it."""
    number = f"R{3000 + 17 * i}"
    sub, tax = 40 + 11 * i, 8 + i
    legal = "Northwind Holdings Limited" if brand_seller else f"Seller {chr(65 + i % 20)}{i} Trading Ltd"
    lines = [
        (40, 40, legal, 16),
        (40, 62, f"{3 + i} Mill Lane, York YO{i % 9 + 1} 2AB"),
        (40, 76, f"VAT No: {TAX_ID}" if brand_seller else f"VAT No: GB {900000000 + 7919 * i}"),
        (360, 110, f"Invoice No:  {number}"),
        (360, 125, f"Date:  {1 + i % 27:02d}/05/2024"),
        (40, 220, "Description  Amount"),
        (40, 235, f"Service  {sub}.00"),
        (350, 600, f"Subtotal  {sub}.00"),
        (350, 615, f"VAT  {tax}.00"),
        (350, 630, f"Total  {sub + tax}.00"),
        (40, 780, "Thank you for your order"),
        (40, 800, "Kettle Corner" if brand_seller else "www.example.org"),
    ]
    gold = {
        "invoice_number": number,
        "invoice_date": f"2024-05-{1 + i % 27:02d}",
        "vendor": {
            "name": "Kettle Corner" if brand_seller else legal,
            "tax_id": TAX_ID.replace(" ", "") if brand_seller else f"GB{900000000 + 7919 * i}",
        },
        "subtotal": f"{sub}.00",
        "tax_total": f"{tax}.00",
        "total": f"{sub + tax}.00",
    }
    return [make_page(lines)], gold


def _doc(i: int, brand_seller: bool) -> TrainingDoc:
    pages, gold = _invoice(i, brand_seller)
    group = "brand" if brand_seller else f"other{i}"
    return TrainingDoc(source=f"doc{i}.pdf", group=group, pages=pages, gold=gold, dataset="synthetic")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A base model that never saw the brand seller, and the same continued on two of its documents."""
    base = tmp_path_factory.mktemp("base")
    train_model(
        [_doc(i, False) for i in range(16)],
        base,
        None,
        0,
        trainers=[TableTrainer(folds=2), HeaderTrainer(25, 3)],
    )
    adapted = tmp_path_factory.mktemp("adapted")
    shots = [_doc(100, True), _doc(101, True)]
    train_model(
        shots, adapted, base, 0, trainers=[TableTrainer(folds=2), HeaderTrainer(25, 3), SellerTrainer()]
    )
    return base, adapted


def test_a_profile_learnt_from_two_labelled_documents_names_the_seller_as_its_user_does(
    folders: tuple[Path, Path],
) -> None:
    base, adapted = folders
    pages, gold = _invoice(102, True)  # the seller's next document: new number, date and amounts
    before = LayoutEngine(LayoutOptions(model=str(base))).extract(pages, Invoice)
    after = LayoutEngine(LayoutOptions(model=str(adapted))).extract(pages, Invoice)
    assert before.data["vendor"]["name"] != gold["vendor"]["name"]  # the letterhead's legal name
    assert after.data["vendor"]["name"] == gold["vendor"]["name"]
    assert after.evidence["vendor.name"].bbox[1] == pytest.approx(800)  # grounded on the footer line
    assert 0.0 < after.confidence["vendor.name"] <= 1.0
    # the fields the profile does not decide are the base model's
    for f in ("invoice_number", "invoice_date", "total"):
        assert after.data[f] == gold[f] == before.data[f]


def test_another_sellers_document_is_untouched_by_the_profile(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    _, adapted = folders
    bare = tmp_path / "bare"
    shutil.copytree(adapted, bare)
    (bare / PROFILES_FILE).unlink()  # the same continued model, without its profiles
    pages, _ = _invoice(7, False)
    without = LayoutEngine(LayoutOptions(model=str(bare))).extract(pages, Invoice)
    with_profiles = LayoutEngine(LayoutOptions(model=str(adapted))).extract(pages, Invoice)
    assert with_profiles.data == without.data and with_profiles.confidence == without.confidence


def test_the_profiles_file_holds_the_seller_its_measured_fields_and_no_pickle(
    folders: tuple[Path, Path],
) -> None:
    _, adapted = folders
    data = json.loads((adapted / PROFILES_FILE).read_text())
    (seller,) = data["sellers"]
    assert seller["tax_id"] == TAX_ID.replace(" ", "") and seller["documents"] == 2
    assert "vendor.name" in seller["fields"] and "vendor.name" in data["fields"]
    # each of the two documents was read with a profile of the other: the name was measured
    assert data["measured"]["vendor.name"][:2] == [2, 2]
    meta = json.loads((adapted / "meta.json").read_text())
    assert meta["components"]["sellers"]["sellers"] == 1
    profiles = load_profiles(adapted)
    assert profiles is not None and profiles.sellers[0].name == "KETTLE CORNER"


def test_a_profiles_file_of_another_version_is_not_used(tmp_path: Path) -> None:
    (tmp_path / PROFILES_FILE).write_text(json.dumps({"version": 99, "sellers": []}))
    assert load_profiles(tmp_path) is None
    assert load_profiles(None) is None


def test_anchors_match_by_value_label_and_place() -> None:
    here = Anchor("invoice no", 1, 0.7, 0.2, 1.2)
    assert match_score(Anchor("invoice no", 1, 0.7, 0.2, 1.2), here) >= 4.5  # label and place
    assert 2.0 <= match_score(Anchor("invoice no", 1, 0.1, 0.9, 0.5), here) < 4.0  # the label alone
    assert match_score(Anchor("order no", 2, 0.7, 0.2, 1.2), here) == 0.0  # another page, another label
    # a receipt's total keeps its place from the bottom when the receipt is longer
    assert match_score(Anchor("", 1, 0.6, 2.5, 0.1), Anchor("", 1, 0.6, 1.5, 0.1)) >= 2.0
    assert (
        match_score(Anchor("^", 1, 0.1, 0.1, 1.3, "KETTLE"), Anchor("^", 1, 0.9, 0.9, 0.5, "KETTLE")) >= 3.0
    )
    assert norm_label("Invoice No.: 2024/") == "invoice no"
    assert norm_value("Müller-Söhne  GmbH,") == "MÜLLER SÖHNE GMBH"  # letters of any script are kept


def test_profiles_decide_only_where_they_were_not_measured_worse_than_the_rules() -> None:
    counts = {
        "vendor.name": (9, 10, 7),
        "vendor.address": (5, 10, 8),
        "total": (9, 9, 6),
        "invoice_date": (9, 9, 9),
    }
    fields = decided_fields(counts)
    assert "vendor.name" in fields and "vendor.tax_id" in fields  # won, and not measured
    assert "vendor.address" not in fields  # its value matches lost to the rules
    assert "total" in fields and "invoice_date" not in fields  # won by 3; a tie decides nothing
    conf, pooled = confidences(counts)
    assert 0.0 < conf["vendor.address"] < conf["vendor.name"] < 1.0
    assert SellerProfiles(confidence=conf, default_confidence=pooled).to_dict()["version"] == 1


def test_the_seller_is_known_by_the_labelled_ids_or_name() -> None:
    assert seller_key({"vendor": {"tax_id": "gb 12-34", "name": "A b"}}) == ("GB1234", "", "A B")
    assert seller_key({"total": "1.00"}) is None


def test_adaptation_scores_only_documents_that_neither_model_trained_on() -> None:
    docs = [_doc(i, False) for i in range(4)] + [_doc(100 + i, True) for i in range(3)]
    (split,) = plan_splits(docs, shots=1, halves=1)
    assert [d.source for d in split.shots] == ["doc100.pdf"]
    assert [d.source for d in split.test] == ["doc101.pdf", "doc102.pdf"]
    assert all(d.group != "brand" for d in split.base)  # the base never met the seller


def test_train_then_extract_through_the_cli_adapts_to_the_labelled_seller(tmp_path: Path) -> None:
    """The user's path: label two PDFs of a seller, `docvlm train` (continuing the package's model),
    then `docvlm extract --model` on the seller's next PDF."""
    from typer.testing import CliRunner

    from cli import app
    from tests.helpers.pages import make_pdf

    docs, labels, model = tmp_path / "docs", tmp_path / "labels", tmp_path / "model"
    docs.mkdir()
    labels.mkdir()

    def write(i: int, folder: Path) -> dict:
        pages, gold = _invoice(i, True)
        lines = [(w.bbox[0], w.bbox[3], w.text) for w in pages[0].words]
        make_pdf(folder / f"inv{i}.pdf", [lines])
        return gold

    for i in (200, 201):
        (labels / f"inv{i}.json").write_text(json.dumps(write(i, docs)))
    res = CliRunner().invoke(
        app,
        ["train", str(docs), "--gold", str(labels), "--labels", "docvlm", "-o", str(model), "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    assert "seller profiles: 1 sellers" in res.output and "vendor.name 2/2" in res.output
    new = tmp_path / "new"
    new.mkdir()
    gold = write(202, new)
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(
        app, ["extract", str(new), "-o", str(out), "--model", str(model), "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert rec["data"]["vendor"]["name"] == gold["vendor"]["name"]
    assert rec["data"]["invoice_number"] == gold["invoice_number"]
    # the package's model alone reads the letterhead instead
    res = CliRunner().invoke(app, ["extract", str(new), "-o", str(out), "--workers", "1"])
    assert res.exit_code == 0, res.output
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert rec["data"]["vendor"]["name"] != gold["vendor"]["name"]


def test_continued_training_keeps_the_earlier_sellers_and_their_measurements(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    _, adapted = folders
    again = tmp_path / "again"
    train_model([_doc(8, False)], again, adapted, 0, trainers=[SellerTrainer()])
    before = load_profiles(adapted)
    after = load_profiles(again)
    assert before is not None and after is not None
    assert {s.tax_id for s in after.sellers} == {s.tax_id for s in before.sellers} | {"GB900063352"}
    # one new document of a new seller measures nothing: the earlier counts carry over unchanged
    assert after.measured == before.measured and after.measured["vendor.name"][:2] == (2, 2)
