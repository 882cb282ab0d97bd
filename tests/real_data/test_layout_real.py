"""The layout engine on real labelled documents from ../shared/data, scored as the project scores fields.

The invoice2data PDFs (text layer) run by default and must reach the team's accuracy bar. The
OCR paths (invoice2data PNGs and the SROIE receipt scans, through ``docvlm.ingest`` and RapidOCR)
take minutes on a shared CPU, so they are marked ``slow`` and run only with DOCVLM_RUN_SLOW=1:

    DOCVLM_RUN_SLOW=1 pytest tests/real_data/test_layout_real.py -s

Each test prints a per-field accuracy table (use ``-s`` to see it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import evaluation.metrics as evaluation
import evaluation.readers as readers
from docvlm.datamodel import Page
from docvlm.engines import LayoutOptions, create_engine
from schemas.invoice import Invoice

slow = pytest.mark.slow


def pdf_pages(path: Path) -> list[Page]:
    """Pages of a born-digital PDF through the project's ingest (text layer, no OCR)."""
    from docvlm.ingest import open_document

    doc = open_document(path)
    try:
        return list(doc.pages())
    finally:
        doc.close()


def _get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def score_documents(docs: Iterable[tuple[str, list[Page], dict[str, Any]]]) -> dict[str, list[bool]]:
    """Run the engine on each document and compare every labelled field; prints a table."""
    engine = create_engine(LayoutOptions())
    per_field: dict[str, list[bool]] = defaultdict(list)
    rows: list[str] = []
    for name, pages, gold in docs:
        out = engine.extract(pages, Invoice)
        for path, want in gold.items():
            got = _get(out.data, path)
            # labelled empty (a SROIE total left blank): a predicted value is a false positive,
            # as `docvlm eval extract` counts it, so both report the same figures
            ok = got is None if want is None else evaluation.values_match(path, got, want)
            per_field[path].append(ok)
            if not ok:
                rows.append(f"  miss {name:28s} {path:16s} got={got!r} want={want!r}")
    print()
    print(f"  {'field':16s} {'right':>5s} {'of':>3s} {'acc':>6s}")
    for path, oks in per_field.items():
        print(f"  {path:16s} {sum(oks):5d} {len(oks):3d} {sum(oks) / len(oks):6.1%}")
    allv = [ok for oks in per_field.values() for ok in oks]
    print(f"  {'all':16s} {sum(allv):5d} {len(allv):3d} {sum(allv) / max(1, len(allv)):6.1%}")
    print("\n".join(rows))
    return per_field


def _accuracy(oks: Iterable[bool]) -> float:
    lst = list(oks)
    return sum(lst) / len(lst) if lst else 0.0


def test_invoice2data_pdfs_reach_90_percent(shared_data: Path) -> None:
    folder = shared_data / "invoices" / "invoice2data"
    docs = []
    for label in sorted(folder.glob("*.json")):
        pdf = label.with_suffix(".pdf")
        if pdf.exists():
            docs.append((pdf.name, pdf_pages(pdf), readers.read_invoice2data_label(label).fields))
    assert len(docs) == 7
    per_field = score_documents(docs)
    overall = _accuracy(ok for oks in per_field.values() for ok in oks)
    assert overall >= 0.90, f"header accuracy {overall:.1%} is under the 90% bar"
    # the arithmetic-checked amounts and the dates are the fields a user relies on most
    assert _accuracy(per_field["total"]) == 1.0
    assert _accuracy(per_field["invoice_date"]) == 1.0


# ---------------------------------------------------------------------------------------------
# OCR paths (slow)


def _ocr_pages(path: Path) -> list[Page]:
    from docvlm.ingest import open_document

    doc = open_document(path)
    try:
        return list(doc.pages())
    finally:
        doc.close()


@slow
def test_invoice2data_pngs_reach_80_percent(shared_data: Path) -> None:
    folder = shared_data / "invoices" / "invoice2data"
    docs = []
    for png in sorted(folder.glob("*.png")):
        label = png.with_suffix(".json")
        docs.append((png.name, _ocr_pages(png), readers.read_invoice2data_label(label).fields))
    assert len(docs) == 4
    per_field = score_documents(docs)
    overall = _accuracy(ok for oks in per_field.values() for ok in oks)
    assert overall >= 0.80, f"OCR header accuracy {overall:.1%} is under the 80% bar"


@pytest.fixture(scope="module")
def sroie_scores(shared_data: Path) -> dict[str, list[bool]]:
    folder = shared_data / "receipts" / "sroie"
    docs = []
    for key in sorted((folder / "key").glob("*.json")):
        img = folder / "img" / (key.stem + ".jpg")
        docs.append((img.name, _ocr_pages(img), readers.read_sroie_label(key).fields))
    assert len(docs) == 20
    return score_documents(docs)


@slow
def test_sroie_total_date_company(sroie_scores: dict[str, list[bool]]) -> None:
    assert _accuracy(sroie_scores["total"]) >= 0.90
    assert _accuracy(sroie_scores["invoice_date"]) >= 0.90
    assert _accuracy(sroie_scores["vendor.name"]) >= 0.70


@slow
@pytest.mark.xfail(
    strict=True,
    reason="bounded by the labels and the OCR: from the human transcripts the same rules reach 12/20 (8 keys "
    "differ from their own transcript), and RapidOCR's small recogniser misreads a character in 8 more "
    "('1.OT' for 'LOT', '.' for ','); see evaluation/sroie_transcripts.py",
)
def test_sroie_address_reaches_60_percent(sroie_scores: dict[str, list[bool]]) -> None:
    assert _accuracy(sroie_scores["vendor.address"]) >= 0.60


@slow
@pytest.mark.parametrize("angle", [90, 270])
def test_sideways_receipts_are_turned_upright_and_read(shared_data: Path, angle: int) -> None:
    # the recogniser turns tall line crops itself, so a sideways reading can look good; a page must
    # still be turned upright. A spread of the folder's receipts, chosen by position, not by name
    from PIL import Image

    from docvlm.ocr import OcrOptions, ocr_page

    for path in sorted((shared_data / "receipts/sroie/img").glob("*.jpg"))[::7][:3]:
        key = path.stem
        with Image.open(path) as im:
            upright = im.convert("RGB")
        res = ocr_page(upright.rotate(angle, expand=True), OcrOptions())
        assert (res.rotation + angle) % 360 == 0, f"{key} turned {angle}: rotation {res.rotation}"
        assert res.size == upright.size
        # the words are level again: most lines are wider than tall
        wide = sum(1 for w in res.words if w.bbox[2] - w.bbox[0] > w.bbox[3] - w.bbox[1])
        assert wide > 0.6 * len(res.words)
