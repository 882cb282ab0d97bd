"""Review without labels: every evidence box drawn on its page, hostile text escaped, least sure first,
and the page as Chromium shows it has the boxes where the evidence is."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from scipy.signal import fftconvolve
from typer.testing import CliRunner

from cli import app
from docvlm.ocr import OcrOptions
from docvlm.pipeline import Pipeline, PipelineOptions
from evaluation.review import (
    FIELD_COLOUR,
    ITEM_COLOUR,
    LOW_COLOUR,
    field_rows,
    item_boxes,
    review_html,
    urgency,
    write_review,
)
from tests.helpers.browser import screenshot
from tests.helpers.documents import INVOICE_LINES
from tests.helpers.pages import make_pdf

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture()
def records(tmp_path: Path) -> list[dict[str, Any]]:
    """Records of two real runs of the layout engine, one made hostile and unsure, plus an error."""
    pdfs = [make_pdf(tmp_path / f"inv{i}.pdf", [INVOICE_LINES]) for i in range(2)]
    pipe = Pipeline(PipelineOptions(ocr=OcrOptions(backend="none")))
    recs = [pipe.extract(p).to_record() for p in pdfs]
    recs[1]["data"]["vendor"]["name"] = HOSTILE
    recs[1]["confidence"]["vendor.name"] = 0.2
    recs[1]["warnings"].append({"code": "ungrounded", "message": HOSTILE, "field": "vendor.name"})
    recs.append(
        {
            "source": str(tmp_path / "gone.pdf"),
            "status": "error",
            "data": None,
            "error": {"type": "IngestError", "message": HOSTILE},
        }
    )
    return recs


def _page_images(page: str) -> list[tuple[Image.Image, float]]:
    found = re.findall(r"data-scale='([0-9.]+)' src='data:image/jpeg;base64,([A-Za-z0-9+/=]+)'", page)
    return [(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"), float(s)) for s, b64 in found]


def _near(img: np.ndarray, colour: tuple[int, int, int], tol: int = 45) -> np.ndarray:
    return np.abs(img.astype(int) - np.array(colour)).max(axis=-1) <= tol


def _edge_hits(
    mask: np.ndarray, box: tuple[float, float, float, float], off: tuple[int, int] = (0, 0)
) -> int:
    """Box-coloured pixels on the top and bottom edges of ``box`` (pixels, with the drawing's padding)."""
    x0, y0, x1, y1 = (round(v) for v in box)
    x0, x1 = x0 + off[0], x1 + off[0]
    hits = 0
    for y in (y0 - 3 + off[1], y1 + 3 + off[1]):
        band = mask[max(0, y - 2) : y + 3, max(0, x0) : x1]
        hits += int(band.any(axis=0).sum())
    return hits


def test_fields_and_items_are_ordered_and_boxed(records: list[dict[str, Any]]) -> None:
    rec = records[0]
    rows = field_rows(rec)
    confs = [r.confidence for r in rows if r.confidence is not None]
    assert confs == sorted(confs) and len(rows) >= 6
    assert {"invoice_number", "total", "vendor.name"} <= {r.path for r in rows}
    items = item_boxes(rec)
    assert set(items) == set(range(len(rec["data"]["line_items"]))) and all(1 in b for b in items.values())
    assert [r.get("status") for r in sorted(records, key=urgency)] == ["error", "ok", "ok"]
    assert sorted(records, key=urgency)[1]["data"]["vendor"]["name"] == HOSTILE  # the one with a warning


def test_page_images_show_every_box_at_its_evidence(records: list[dict[str, Any]]) -> None:
    page = review_html(records[:1])
    ((img, scale),) = _page_images(page)
    arr = np.asarray(img)
    rows = [r for r in field_rows(records[0]) if r.evidence]
    assert rows
    for r in rows:
        colour = LOW_COLOUR if r.low else FIELD_COLOUR
        box = tuple(v * scale for v in r.evidence["bbox"])
        assert _edge_hits(_near(arr, colour), box) >= 0.8 * 2 * (box[2] - box[0]), r.path  # type: ignore[arg-type]
    for by_page in item_boxes(records[0]).values():
        box = tuple(v * scale for v in by_page[1])
        assert _edge_hits(_near(arr, ITEM_COLOUR), box) >= 0.8 * 2 * (box[2] - box[0])  # type: ignore[arg-type]


def test_document_text_is_escaped(records: list[dict[str, Any]]) -> None:
    page = review_html(records)
    assert "<script>" not in page and "onerror=alert(1)>" not in page
    assert page.count("&lt;script&gt;") >= 3  # the value, the warning and the error message
    assert not re.search(r"(src|href)=['\"]https?:", page)


def test_review_command(records: list[dict[str, Any]], tmp_path: Path) -> None:
    jsonl = tmp_path / "out.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "review.html"
    res = CliRunner().invoke(app, ["review", str(jsonl), "--html", str(out)])
    assert res.exit_code == 0, res.output
    assert out.is_file() and len(_page_images(out.read_text(encoding="utf-8"))) == 2
    res = CliRunner().invoke(app, ["review", str(tmp_path / "missing.jsonl"), "--html", str(out)])
    assert res.exit_code == 2


def test_chromium_shows_the_boxes_on_the_page(records: list[dict[str, Any]], tmp_path: Path) -> None:
    jsonl = tmp_path / "one.jsonl"
    jsonl.write_text(json.dumps(records[0]) + "\n", encoding="utf-8")
    html_path, _ = write_review(jsonl, tmp_path / "review.html")
    ((page_img, scale),) = _page_images(html_path.read_text(encoding="utf-8"))
    shot = np.asarray(screenshot(html_path, tmp_path, (1400, 1600)))
    # where Chromium put the page image: the shift that lays its blue pixels best onto the screenshot's
    blue_img, blue_shot = _near(np.asarray(page_img), FIELD_COLOUR), _near(shot, FIELD_COLOUR)
    assert blue_img.sum() > 200 and blue_shot.sum() > 200
    corr = fftconvolve(blue_shot.astype(float), blue_img[::-1, ::-1].astype(float), mode="valid")
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    off = (int(dx), int(dy))
    assert corr[dy, dx] >= 0.8 * blue_img.sum()  # nearly every blue pixel of the page is on screen there
    assert off[1] > 50  # below the card's heading
    for r in field_rows(records[0]):
        if r.evidence and not r.low:
            box = tuple(v * scale for v in r.evidence["bbox"])
            assert _edge_hits(blue_shot, box, off) >= 0.8 * 2 * (box[2] - box[0]), r.path  # type: ignore[arg-type]
    items = item_boxes(records[0])
    green_shot = _near(shot, ITEM_COLOUR)
    for by_page in items.values():
        box = tuple(v * scale for v in by_page[1])
        assert _edge_hits(green_shot, box, off) >= 0.8 * 2 * (box[2] - box[0])  # type: ignore[arg-type]
