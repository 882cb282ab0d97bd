"""Reports: JSON, Markdown and the self-contained HTML (charts + page crops), opened in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image

from evaluation.readers import GoldBox, read_gold
from evaluation.report import render_case, report_html, report_json, report_markdown, write_reports
from evaluation.score import ExtractionScore, score_extraction
from tests.helpers.browser import screenshot


def _make_pdf(path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 72), "ACME Supplies Ltd", fontsize=14)
    page.insert_text((72, 100), "Invoice number: F-2024-7", fontsize=11)
    page.insert_text((72, 120), "Date: 01/03/2024", fontsize=11)
    page.insert_text((400, 300), "Total 121.00", fontsize=11)
    doc.save(path)
    doc.close()


@pytest.fixture()
def scored(tmp_path: Path) -> ExtractionScore:
    pdf = tmp_path / "inv.pdf"
    _make_pdf(pdf)
    (tmp_path / "gold").mkdir()
    (tmp_path / "gold" / "inv.json").write_text(
        json.dumps(
            [
                {
                    "issuer": "ACME Supplies Ltd",
                    "invoice_number": "F-2024-7",
                    "date": "2024-03-01",
                    "amount": 121.0,
                    "lines": [{"name": "Bolts", "qty": 2, "price_subtotal": 10}],
                }
            ]
        ),
        encoding="utf-8",
    )
    rec = {
        "source": str(pdf),
        "status": "ok",
        "pages": 1,
        "data": {
            "invoice_number": "F-2024-1",
            "invoice_date": "2024-03-01",
            "vendor": {"name": "<script>alert(1)</script>"},
            "total": "121.00",
            "line_items": [{"description": "Bolts", "quantity": "2", "amount": "12"}],
        },
        "evidence": {
            "invoice_number": {"page": 1, "bbox": [150, 90, 210, 102], "text": "F-2024-1", "score": 1.0},
            "total": {"page": 1, "bbox": [430, 290, 470, 302], "text": "121.00", "score": 1.0},
        },
        "confidence": {"invoice_number": 0.95, "invoice_date": 0.9, "vendor.name": 0.4, "total": 0.99},
        "timings": {"ingest_s": 0.01, "engine_s": 0.2, "post_s": 0.005},
    }
    preds = {"inv": rec}
    return score_extraction(preds, read_gold(tmp_path / "gold", "invoice2data"))


def test_json_and_markdown(scored: ExtractionScore) -> None:
    js = report_json(scored, meta={"engine": "layout"})
    json.dumps(js)  # serialisable
    assert js["overall"]["n"] == 4
    assert js["overall"]["accuracy"] == pytest.approx(0.5)  # date and total right; number and name wrong
    assert js["line_items"]["tp"] == 2 and js["line_items"]["fp"] == 1 and js["line_items"]["fn"] == 1
    assert js["worst_cases"][0]["field"] == "invoice_number"  # confident and wrong comes first
    assert js["meta"] == {"engine": "layout"}
    md = report_markdown(scored)
    assert "| invoice_number | 1 | 1 | 0.000 |" in md
    assert "| total | 1 | 1 | 1.000 |" in md
    assert "Line items (1 documents): F1 **0.667**" in md
    assert "| engine_s |" in md


def test_page_crop_draws_boxes(scored: ExtractionScore) -> None:
    fr = next(f for f in scored.docs[0].fields if f.path == "invoice_number")
    png = render_case(fr, scored.docs[0].source)
    assert png is not None
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB")).astype(int)
    reds = int(((img[..., 0] > 200) & (img[..., 1] < 60) & (img[..., 2] < 60)).sum())
    assert reds > 50  # the predicted box is drawn in red
    fr.gold_box = GoldBox(page=1, bbox=(0.2, 0.1, 0.4, 0.13), relative=True)
    png2 = render_case(fr, scored.docs[0].source) or ""
    img2 = np.asarray(Image.open(io.BytesIO(base64.b64decode(png2))).convert("RGB")).astype(int)
    greens = int(((img2[..., 1] > 130) & (img2[..., 0] < 60) & (img2[..., 2] < 100)).sum())
    assert greens > 50
    assert render_case(fr, "/nonexistent.pdf") is None


def test_html_is_self_contained_and_escaped(scored: ExtractionScore, tmp_path: Path) -> None:
    page = report_html(scored)
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 4  # field accuracy, reliability, stage timings, at least one crop
    for b64 in images:
        Image.open(io.BytesIO(base64.b64decode(b64))).verify()
    assert not re.search(r'(src|href)="https?:', page)
    assert "<script>" not in page and "&lt;script&gt;" in page
    written = write_reports(scored, tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.md")
    assert [p.suffix for p in written] == [".json", ".md", ".html"]
    assert all(p.stat().st_size > 0 for p in written)


def test_html_renders_in_headless_chromium(scored: ExtractionScore, tmp_path: Path) -> None:
    html_path = tmp_path / "report.html"
    write_reports(scored, html_path=html_path)
    img = screenshot(html_path, tmp_path, (1200, 2000)).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100  # not blank: dark text and charts on a light page
    assert len(img.getcolors(maxcolors=1_000_000) or []) > 10
