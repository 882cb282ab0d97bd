"""Line-item tables of the layout engine: synthetic word layouts plus the F1 bar on real invoices."""

from __future__ import annotations

from pathlib import Path

import pytest

from docvlm.datamodel import Page
from docvlm.engines.layout.tables import extract_line_items
from tests.helpers.pages import load_pages


@pytest.fixture(scope="module")
def invoice2data_dir(shared_data: Path) -> Path:
    return shared_data / "invoices" / "invoice2data"


def test_real_invoices_line_item_f1(invoice2data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Scored with the project's own metric (DocILE-style matching), as `docvlm eval` scores it."""
    from evaluation.metrics import LineItemScore, line_item_f1
    from evaluation.readers import read_invoice2data_label

    total = LineItemScore()
    report = []
    for label_path in sorted(invoice2data_dir.glob("*.json")):
        pdf = label_path.with_suffix(".pdf")
        gold = read_invoice2data_label(label_path).line_items
        if not gold or not pdf.exists():
            continue  # no line items labelled: nothing to score
        score = line_item_f1(extract_line_items(load_pages(pdf)).items, gold)
        total.merge(score)
        report.append(f"{label_path.stem}: F1={score.f1:.3f} (tp={score.tp} fp={score.fp} fn={score.fn})")
    report.append(f"overall: F1={total.f1:.3f} (tp={total.tp} fp={total.fp} fn={total.fn})")
    with capsys.disabled():
        print("\nline-item F1 on invoice2data\n  " + "\n  ".join(report))
    assert len(report) >= 5  # four labelled documents plus the overall line
    assert total.f1 >= 0.80


@pytest.mark.slow
def test_ocr_path_reads_the_same_items_as_the_text_layer(invoice2data_dir: Path) -> None:
    """The raster of a page, OCR'd, gives the same line items as its PDF text layer."""
    from PIL import Image

    from docvlm import ocr

    renders = [p for p in sorted(invoice2data_dir.glob("*.pdf")) if p.with_suffix(".png").exists()]
    if not renders:
        pytest.skip(f"no PDF in {invoice2data_dir} has a PNG render beside it")
    items_read = 0
    for pdf in renders:
        words, _, image = ocr.ocr_image(Image.open(pdf.with_suffix(".png")))
        page = Page(number=1, width=image.size[0], height=image.size[1], unit="px", words=words)
        from_ocr = extract_line_items([page]).items
        from_text = extract_line_items(load_pages(pdf)).items
        assert from_ocr == from_text, pdf.name
        items_read += len(from_text)
    assert items_read > 0  # the renders hold tables: the comparison is not of empty lists
