"""The scan-vs-text-layer check: renders, comparison, and one real run on a sample invoice."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from evaluation.scan_consistency import compare, degrade, main, render_tiff

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_every_page_is_rendered_into_one_tiff(tmp_path: Path) -> None:
    from tests.helpers.documents import make_text_pdf

    pdf = make_text_pdf(tmp_path / "two.pdf", [(50, 60, "Invoice 7")], pages=2)
    n = render_tiff(pdf, tmp_path / "two.tiff", 72)
    with Image.open(tmp_path / "two.tiff") as im:
        assert n == im.n_frames == 2
        assert im.size == (595, 842)


def test_compare_counts_fields_and_items() -> None:
    text = {
        "invoice_number": "7",
        "total": "10.00",
        "due_date": None,
        "line_items": [{"amount": "4.00"}, {"amount": "6.00"}],
    }
    scan = {"invoice_number": "7", "total": "16.00", "due_date": None, "line_items": [{"amount": "4.00"}]}
    diffs, agree, n, items_agree, items = compare(text, scan)
    assert (agree, n, items_agree, items) == (1, 2, 1, 2)  # an empty field on both sides does not count
    assert any(d.startswith("total:") for d in diffs) and any(d.startswith("item 1:") for d in diffs)


def test_a_sample_invoice_reads_the_same_from_its_scan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SAMPLES / "invoice_us_cedar_ridge.pdf"), "--dpi", "150"]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    # "... header fields 15/15 (100.0%), line items 4/4 (100.0%) agree; ..."
    header = summary.split("header fields ")[1].split(" ")[0]
    agree, n = (int(v) for v in header.split("/"))
    assert n >= 12 and agree >= n - 1


def test_degraded_render_is_tilted_grey_and_noisy_but_keeps_its_text_area() -> None:
    clean = Image.new("RGB", (400, 300), "white")
    out = degrade(clean, random.Random(3))
    assert out.mode == "RGB" and 400 <= out.width <= 420 and 300 <= out.height <= 320  # tilt grows the canvas
    import numpy as np

    a = np.asarray(out.convert("L"), dtype=np.float32)
    assert 200 < a.mean() < 250 and a.std() > 2  # grey paper with noise, not a clean white page
    assert degrade(clean, random.Random(3)).tobytes() == out.tobytes()  # the seed fixes it
