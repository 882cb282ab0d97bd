"""Review without labels: output records in, one self-contained HTML page out, to look them over.

Each record gets a card: its warnings first, then its fields from the least confident up, each
with value, confidence and the printed text it was read from, then its pages. Every page of the
record is rendered from the source file (PDF at ``dpi``, images at their own resolution scaled
down) and embedded as a base64 JPEG, with every field's evidence box drawn on it and numbered as
in the table beside it (blue; red when less confident than ``low``), and every line item as one
green box around its cells. Cards come in order of need: errors, then records with warnings,
then by their least confident field. All document text is HTML-escaped (it is hostile input).
"""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docvlm.errors import DocvlmError
from docvlm.paths import iter_leaves
from evaluation.readers import iter_records

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

REVIEW_DPI = 100
MAX_PAGE_SIDE = 1400  # images are scaled down to this, so a batch of scans stays a readable size
JPEG_QUALITY = 82
LOW_CONFIDENCE = 0.6
FIELD_COLOUR = (31, 119, 180)  # blue
LOW_COLOUR = (228, 26, 28)  # red
ITEM_COLOUR = (44, 160, 44)  # green
BOX_WIDTH = 3


@dataclass
class FieldRow:
    """One header field of a record, numbered as its box on the page."""

    number: int
    path: str
    value: Any
    confidence: float | None
    evidence: Mapping[str, Any] | None

    @property
    def low(self) -> bool:
        return self.confidence is not None and self.confidence < LOW_CONFIDENCE


def read_records(paths: str | Path | Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every record of the JSONL files, in file order (the parts of a split file stay apart)."""
    return list(iter_records(paths))


def field_rows(rec: Mapping[str, Any]) -> list[FieldRow]:
    """The record's non-null header fields, least confident first (unknown confidence last)."""
    conf = rec.get("confidence") or {}
    evidence = rec.get("evidence") or {}
    leaves = [(p, v) for p, v in iter_leaves(rec.get("data") or {}) if not p.startswith("line_items.")]
    leaves.sort(key=lambda pv: (conf.get(pv[0]) is None, conf.get(pv[0]) or 0.0, pv[0]))
    return [
        FieldRow(i, p, v, conf.get(p), evidence.get(p) if isinstance(evidence.get(p), Mapping) else None)
        for i, (p, v) in enumerate(leaves, start=1)
    ]


def item_boxes(rec: Mapping[str, Any]) -> dict[int, dict[int, list[float]]]:
    """For each line item, by page, the box around the evidence of its cells."""
    out: dict[int, dict[int, list[float]]] = {}
    for path, ev in (rec.get("evidence") or {}).items():
        parts = path.split(".")
        if (
            len(parts) < 3
            or parts[0] != "line_items"
            or not parts[1].isdigit()
            or not isinstance(ev, Mapping)
        ):
            continue
        box = _bbox(ev.get("bbox"))
        page = ev.get("page")
        if box is None or not isinstance(page, int):
            continue
        cur = out.setdefault(int(parts[1]), {}).get(page)
        out[int(parts[1])][page] = (
            box
            if cur is None
            else [min(cur[0], box[0]), min(cur[1], box[1]), max(cur[2], box[2]), max(cur[3], box[3])]
        )
    return out


def _bbox(v: Any) -> list[float] | None:
    if isinstance(v, (list, tuple)) and len(v) == 4 and all(isinstance(x, (int, float)) for x in v):
        return [float(x) for x in v]
    return None


def urgency(rec: Mapping[str, Any]) -> tuple[int, float, str, int]:
    """Sort key: errors first, then records with warnings, then the least confident field."""
    status = rec.get("status")
    rank = 0 if status == "error" else 1 if rec.get("warnings") or status == "partial" else 2
    conf = [float(c) for c in (rec.get("confidence") or {}).values() if isinstance(c, (int, float))]
    return rank, min(conf) if conf else 1.0, str(rec.get("source")), int(rec.get("part") or 1)


# ---------------------------------------------------------------------------------------------
# page images


def render_page(path: Path, page: int, dpi: int = REVIEW_DPI) -> tuple[Image.Image, float]:
    """Page ``page`` (1-based) of a PDF at ``dpi`` or of an image file, scaled to at most
    ``MAX_PAGE_SIDE``; returns the image and the factor from page units to its pixels."""
    from PIL import Image

    if path.suffix.lower() == ".pdf":
        import pymupdf

        with pymupdf.open(path) as doc:
            if not 1 <= page <= doc.page_count:
                raise DocvlmError(f"{path} has no page {page}")
            pix = doc[page - 1].get_pixmap(dpi=dpi, alpha=False)
            img = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
        scale = dpi / 72.0
    else:
        with Image.open(path) as im:
            if page > 1:
                im.seek(page - 1)
            img = im.convert("RGB")
        scale = 1.0
    shrink = min(1.0, MAX_PAGE_SIDE / max(img.size))
    if shrink < 1.0:
        img = img.resize((max(1, round(img.width * shrink)), max(1, round(img.height * shrink))))
    return img, scale * shrink


def draw_page(
    img: Image.Image,
    scale: float,
    page: int,
    rows: Sequence[FieldRow],
    items: Mapping[int, Mapping[int, list[float]]],
) -> int:
    """Draw the evidence boxes of ``page`` on ``img`` (in place); returns how many were drawn."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    drawn = 0

    def rect(box: Sequence[float], colour: tuple[int, int, int], label: str) -> None:
        nonlocal drawn
        x0, y0, x1, y1 = (v * scale for v in box)
        pad = BOX_WIDTH
        draw.rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad), outline=colour, width=BOX_WIDTH)
        tx, ty = max(0.0, x0 - pad), max(0.0, y0 - pad - 11)
        draw.rectangle((tx, ty, tx + 7 * len(label) + 4, ty + 11), fill=colour)
        draw.text((tx + 2, ty), label, fill=(255, 255, 255))
        drawn += 1

    for index, by_page in sorted(items.items()):
        if page in by_page:
            rect(by_page[page], ITEM_COLOUR, f"item {index}")
    for row in rows:
        ev = row.evidence or {}
        box = _bbox(ev.get("bbox"))
        if box is not None and ev.get("page") == page:
            rect(box, LOW_COLOUR if row.low else FIELD_COLOUR, str(row.number))
    return drawn


def _jpeg(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ---------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:20px;color:#222}
.card{border:1px solid #ccc;border-radius:6px;padding:10px 14px;margin:18px 0}
.card.error{border-color:#b00}.card.warn{border-color:#e08a00}
h2{font-size:17px;margin:4px 0}table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #ddd;padding:2px 6px;font-size:13px;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right}tr.low td{background:#fde8e8}.warnings li{color:#a04000}
.page{display:flex;gap:14px;align-items:flex-start;margin:10px 0}.page img{border:1px solid #bbb;max-width:70vw}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;vertical-align:middle}
code{white-space:pre-wrap;word-break:break-word}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _conf(c: float | None) -> str:
    return "n/a" if c is None else f"{c:.2f}"


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def record_card(rec: Mapping[str, Any], anchor: str, dpi: int = REVIEW_DPI) -> str:
    """One record as an HTML card: header, warnings, fields, line items, and its pages with boxes."""
    status = str(rec.get("status") or "")
    rows = field_rows(rec)
    items = item_boxes(rec)
    warnings = rec.get("warnings") or []
    kind = "error" if status == "error" else "warn" if warnings or status == "partial" else ""
    part = f" · part {_e(rec.get('part'))} of {_e(rec.get('parts'))}" if (rec.get("parts") or 1) > 1 else ""
    page_range = rec.get("page_range")
    first, last = page_range if page_range else (1, int(rec.get("pages") or 1))
    out = [
        f"<div class='card {kind}' id='{anchor}'><h2>{_e(rec.get('source'))}{part}</h2>",
        f"<p>status <b>{_e(status)}</b> · {_e(rec.get('document_type'))} · engine {_e(rec.get('engine'))}"
        f" · pages {_e(first)}–{_e(last)}</p>",
    ]
    if rec.get("error"):
        err = rec["error"] or {}
        out.append(
            f"<p class=warnings>error {_e(err.get('type'))}: <code>{_e(err.get('message'))}</code></p>"
        )
    if warnings:
        out.append("<ul class=warnings>")
        for w in warnings:
            where = f" ({_e(w.get('field'))})" if w.get("field") else ""
            out.append(f"<li><b>{_e(w.get('code'))}</b>{where}: {_e(w.get('message'))}</li>")
        out.append("</ul>")
    table = [
        "<table><tr><th>#</th><th>field</th><th>value</th><th>confidence</th><th>page</th><th>printed</th></tr>"
    ]
    for r in rows:
        ev = r.evidence or {}
        table.append(
            f"<tr class='{'low' if r.low else ''}'><td class=num>{r.number}</td><td>{_e(r.path)}</td>"
            f"<td><code>{_e(r.value)}</code></td><td class=num>{_conf(r.confidence)}</td>"
            f"<td class=num>{_e(ev.get('page'))}</td><td><code>{_e(ev.get('text'))}</code></td></tr>"
        )
    table.append("</table>")
    line_items = (rec.get("data") or {}).get("line_items") or []
    conf = rec.get("confidence") or {}
    if line_items:
        table.append(
            "<table><tr><th>item</th><th>description</th><th>qty</th><th>unit price</th><th>amount</th><th>min confidence</th></tr>"
        )
        for i, it in enumerate(line_items):
            it = it if isinstance(it, Mapping) else {}
            cs = [
                float(v)
                for k, v in conf.items()
                if k.startswith(f"line_items.{i}.") and isinstance(v, (int, float))
            ]
            table.append(
                f"<tr class='{'low' if cs and min(cs) < LOW_CONFIDENCE else ''}'><td class=num>{i}</td>"
                f"<td>{_e(it.get('description'))}</td><td class=num>{_e(it.get('quantity'))}</td>"
                f"<td class=num>{_e(it.get('unit_price'))}</td><td class=num>{_e(it.get('amount'))}</td>"
                f"<td class=num>{_conf(min(cs) if cs else None)}</td></tr>"
            )
        table.append("</table>")
    source = Path(str(rec.get("source") or ""))
    if status == "error" or not source.is_file():
        if status != "error":
            out.append(f"<p><em>source file not found: {_e(source)}</em></p>")
        out.extend(table)
    else:
        for page in range(int(first), int(last) + 1):
            try:
                img, scale = render_page(source, page, dpi)
            except (OSError, ValueError, RuntimeError, DocvlmError) as exc:
                _log.warning("cannot render %s page %d: %s", source, page, exc)
                out.append(f"<p><em>page {page}: cannot render ({_e(exc)})</em></p>")
                continue
            n = draw_page(img, scale, page, rows, items)
            out.append(
                f"<div class=page><div><p>page {page} · {n} boxes</p>"
                f"<img alt='page {page} of {_e(source.name)}' data-page='{page}' data-scale='{scale:.6f}' "
                f"src='data:image/jpeg;base64,{_jpeg(img)}'></div><div>{''.join(table) if page == first else ''}</div></div>"
            )
    out.append("</div>")
    return "\n".join(out)


def review_html(
    records: Sequence[Mapping[str, Any]], title: str = "docvlm review", dpi: int = REVIEW_DPI
) -> str:
    """The whole batch as one self-contained HTML page, records in order of need (see the module docstring)."""
    ordered = sorted(records, key=urgency)
    n_err = sum(r.get("status") == "error" for r in ordered)
    n_warn = sum(bool(r.get("warnings")) for r in ordered)
    head = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>",
        f"<p>{len(ordered)} records: {n_err} errors, {n_warn} with warnings. Errors and warnings come first, "
        f"then the records by their least confident field. Fields are listed least confident first.</p>",
        "<p class=key>boxes:<span style='background:"
        + _hex(FIELD_COLOUR)
        + "'></span>field (number as in its table)"
        "<span style='background:"
        + _hex(LOW_COLOUR)
        + f"'></span>field with confidence under {LOW_CONFIDENCE}"
        "<span style='background:" + _hex(ITEM_COLOUR) + "'></span>line item</p><ol>",
    ]
    for i, rec in enumerate(ordered):
        part = f" (part {_e(rec.get('part'))})" if (rec.get("parts") or 1) > 1 else ""
        head.append(f"<li><a href='#r{i}'>{_e(rec.get('source'))}{part}</a> · {_e(rec.get('status'))}</li>")
    head.append("</ol>")
    cards = [record_card(rec, f"r{i}", dpi) for i, rec in enumerate(ordered)]
    return "\n".join([*head, *cards, "</body></html>"])


def write_review(
    pred: str | Path | Iterable[str | Path],
    html_path: str | Path,
    title: str = "docvlm review",
    dpi: int = REVIEW_DPI,
) -> tuple[Path, int]:
    """Read the records of ``pred`` and write their review page; returns its path and the record count."""
    records = read_records(pred)
    p = Path(html_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(review_html(records, title, dpi), encoding="utf-8")
    return p, len(records)
