"""Reports of an ``ExtractionScore``: JSON for machines, Markdown for pull requests, and one
self-contained HTML file for people.

The HTML inlines every image as a base64 PNG (matplotlib, Agg backend): the per-field accuracy
bar chart, the confidence reliability diagram, the time spent per stage (from record
``timings``) and the worst cases as page crops, with the predicted box (record evidence) in red
and the gold box (where the labels have one) in green. All document text is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docvlm.errors import DocvlmError, MissingDependency
from evaluation.readers import GoldBox
from evaluation.review import render_page
from evaluation.score import ExtractionScore, FieldResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_log = logging.getLogger(__name__)

# printed under every accuracy figure: what it counts
ACCURACY_NOTE = (
    "Accuracy is over the fields present in the gold or the prediction: a field null on both sides is "
    "left out, not counted as right (n counts every labelled field, present those with a value somewhere)."
)
CROP_DPI = 110
CROP_MARGIN_PX = 60
MAX_THUMB_SIDE = 700


# ---------------------------------------------------------------------------------------------
# JSON and Markdown


def report_json(
    score: ExtractionScore, meta: dict[str, Any] | None = None, n_worst: int = 20
) -> dict[str, Any]:
    """The full score as a JSON-ready dict, plus the worst cases and optional run metadata."""
    out = score.to_dict()
    out["worst_cases"] = [f.to_dict() for f in score.worst_cases(n_worst)]
    if meta:
        out["meta"] = meta
    return out


def _md_escape(v: Any) -> str:
    s = "" if v is None else str(v)
    return " ".join(s.split()).replace("|", "\\|")[:80]


def report_markdown(score: ExtractionScore, title: str = "docvlm evaluation", n_worst: int = 10) -> str:
    """A Markdown summary: overall, per-field table, line items, calibration, speed, worst cases."""
    o = score.overall
    lines = [
        f"## {title}",
        "",
        f"{len(score.docs)} documents, {o.n} labelled fields ({o.present} present in the gold or the "
        f"prediction): accuracy **{o.accuracy:.3f}**, precision {o.precision:.3f}, recall {o.recall:.3f}, "
        f"F1 {o.f1:.3f}" + (f", ANLS (names/addresses) {o.anls:.3f}" if o.anls is not None else ""),
        "",
        ACCURACY_NOTE,
        "",
        "| field | n | present | accuracy | precision | recall | ANLS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, st in score.per_field.items():
        anls = f"{st.anls:.3f}" if st.anls is not None else ""
        lines.append(
            f"| {name} | {st.n} | {st.present} | {st.accuracy:.3f} | {st.precision:.3f} | {st.recall:.3f} | {anls} |"
        )
    if score.line_item_docs:
        li = score.line_items
        lines += [
            "",
            f"Line items ({score.line_item_docs} documents): F1 **{li.f1:.3f}**, precision {li.precision:.3f}, "
            f"recall {li.recall:.3f} (tp {li.tp}, fp {li.fp}, fn {li.fn})",
        ]
    n_conf = sum(b.count for b in score.reliability)
    lines += ["", f"Calibration: ECE {score.ece:.3f} over {n_conf} predicted fields with a confidence."]
    if score.timings:
        lines += ["", "| stage | total s | mean s/doc |", "|---|---:|---:|"]
        lines += [f"| {k} | {v['total_s']:.3f} | {v['mean_s']:.3f} |" for k, v in score.timings.items()]
    worst = score.worst_cases(n_worst)
    if worst:
        lines += ["", "Worst cases:", "", "| document | field | outcome | gold | predicted | confidence |"]
        lines.append("|---|---|---|---|---|---:|")
        for f in worst:
            c = f"{f.confidence:.2f}" if f.confidence is not None else ""
            lines.append(
                f"| {_md_escape(f.key)} | {f.path} | {f.outcome.value} | {_md_escape(f.gold)} | "
                f"{_md_escape(f.predicted)} | {c} |"
            )
    if score.missing_predictions:
        lines += ["", "No prediction for: " + ", ".join(score.missing_predictions)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Charts


def _png(fig: Figure) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def require_charts() -> None:
    """Raise ``MissingDependency`` (naming the ``eval`` extra) when matplotlib is not installed."""
    _pyplot()


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependency("matplotlib", "eval") from exc

    matplotlib.use("Agg")  # no display in CI or on servers
    import matplotlib.pyplot as plt

    return plt


def chart_field_accuracy(score: ExtractionScore) -> str:
    """Horizontal bar chart of accuracy per field, as base64 PNG."""
    plt = _pyplot()
    names = list(score.per_field)
    acc = [score.per_field[n].accuracy for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(3, len(names)) + 1))
    bars = ax.barh(names, acc, color="#4c72b0")
    for bar, n in zip(bars, names, strict=True):
        ax.text(
            bar.get_width() + 0.01,
            bar.get_y() + bar.get_height() / 2,
            f"n={score.per_field[n].n}",
            va="center",
        )
    ax.set_xlim(0, 1.15)
    ax.invert_yaxis()
    ax.set_xlabel("accuracy")
    ax.set_title("Per-field accuracy")
    return _png(fig)


def chart_reliability(score: ExtractionScore) -> str:
    """Reliability diagram: accuracy per confidence bin against the diagonal, as base64 PNG."""
    plt = _pyplot()
    bins = score.reliability
    fig, ax = plt.subplots(figsize=(5, 5))
    width = bins[0].hi - bins[0].lo if bins else 0.1
    used = [b for b in bins if b.count]
    ax.bar(
        [b.lo for b in used],
        [b.accuracy for b in used],
        width=width,
        align="edge",
        color="#55a868",
        edgecolor="black",
        label="accuracy",
    )
    ax.plot(
        [b.confidence for b in used], [b.accuracy for b in used], "o", color="black", label="mean confidence"
    )
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    for b in used:
        ax.text(b.lo + width / 2, min(b.accuracy + 0.02, 1.02), str(b.count), ha="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (ECE {score.ece:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def chart_timings(score: ExtractionScore) -> str | None:
    """Bar chart of mean seconds per document per stage, as base64 PNG; ``None`` without timings."""
    if not score.timings:
        return None
    plt = _pyplot()
    stages = list(score.timings)
    means = [score.timings[s]["mean_s"] for s in stages]
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(3, len(stages)) + 1))
    ax.barh(stages, means, color="#c44e52")
    ax.invert_yaxis()
    ax.set_xlabel("mean seconds per document")
    ax.set_title("Speed per stage")
    return _png(fig)


# ---------------------------------------------------------------------------------------------
# Page crops


def _box_px(bbox: Any, sx: float, sy: float) -> tuple[float, float, float, float] | None:
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        return None
    x0, y0, x1, y1 = (float(v) for v in bbox)
    return (x0 * sx, y0 * sy, x1 * sx, y1 * sy)


def render_case(fr: FieldResult, document: str | Path | None) -> str | None:
    """A crop of the page around the predicted and gold boxes, boxes drawn, as base64 PNG.

    Returns ``None`` when the document cannot be found or rendered. Without any box the page is
    shown whole, scaled down.
    """
    from PIL import ImageDraw

    if document is None or not Path(document).is_file():
        return None
    ev = fr.evidence or {}
    gold: GoldBox | None = fr.gold_box
    page = int(ev.get("page") or (gold.page if gold else 1))
    try:
        img, sx = render_page(Path(document), page, CROP_DPI)
        sy = sx
    except (OSError, ValueError, RuntimeError, DocvlmError) as exc:
        _log.warning("cannot render %s page %d: %s", document, page, exc)
        return None
    boxes: list[tuple[tuple[float, float, float, float], str]] = []
    pred_box = _box_px(ev.get("bbox"), sx, sy) if ev else None
    if pred_box:
        boxes.append((pred_box, "#e41a1c"))
    if gold is not None and gold.page == page:
        gx, gy = (img.width, img.height) if gold.relative else (sx, sy)
        gb = _box_px(gold.bbox, gx, gy)
        if gb:
            boxes.append((gb, "#1a9e3f"))
    draw = ImageDraw.Draw(img)
    for b, color in boxes:
        draw.rectangle(b, outline=color, width=3)
    if boxes:
        x0 = max(0, min(b[0] for b, _ in boxes) - CROP_MARGIN_PX * 3)
        y0 = max(0, min(b[1] for b, _ in boxes) - CROP_MARGIN_PX)
        x1 = min(img.width, max(b[2] for b, _ in boxes) + CROP_MARGIN_PX * 3)
        y1 = min(img.height, max(b[3] for b, _ in boxes) + CROP_MARGIN_PX)
        img = img.crop((int(x0), int(y0), int(x1), int(y1)))
    img.thumbnail((MAX_THUMB_SIDE, MAX_THUMB_SIDE))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ---------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1150px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:14px}
th{background:#f0f0f0}td.num{text-align:right}.case{border:1px solid #ddd;padding:8px;margin:10px 0}
.wrong{color:#b00}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px}
img{max-width:100%}
"""


def _img(b64: str | None, alt: str) -> str:
    if b64 is None:
        return f"<p><em>{html.escape(alt)}: not available</em></p>"
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _cell(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def report_html(score: ExtractionScore, title: str = "docvlm evaluation", n_worst: int = 8) -> str:
    """The whole report as one self-contained HTML page (no external resources)."""
    o = score.overall
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p>{len(score.docs)} documents, {o.n} labelled fields ({o.present} present in the gold or the "
        f"prediction): accuracy <b>{o.accuracy:.3f}</b>, precision {o.precision:.3f}, recall {o.recall:.3f}, "
        f"F1 {o.f1:.3f}" + (f", ANLS (names/addresses) {o.anls:.3f}" if o.anls is not None else "") + "</p>",
        f"<p>{html.escape(ACCURACY_NOTE)}</p>",
        "<h2>Per-field accuracy</h2>",
        _img(chart_field_accuracy(score) if score.per_field else None, "per-field accuracy"),
        "<table><tr><th>field</th><th>n</th><th>present</th><th>accuracy</th><th>precision</th><th>recall</th>"
        "<th>ANLS</th></tr>",
    ]
    for name, st in score.per_field.items():
        anls = f"{st.anls:.3f}" if st.anls is not None else ""
        parts.append(
            f"<tr><td>{_cell(name)}</td><td class=num>{st.n}</td><td class=num>{st.present}</td>"
            f"<td class=num>{st.accuracy:.3f}</td>"
            f"<td class=num>{st.precision:.3f}</td><td class=num>{st.recall:.3f}</td><td class=num>{anls}</td></tr>"
        )
    parts.append("</table>")
    if score.line_item_docs:
        li = score.line_items
        parts.append(
            f"<h2>Line items</h2><p>{score.line_item_docs} documents: F1 <b>{li.f1:.3f}</b>, precision "
            f"{li.precision:.3f}, recall {li.recall:.3f} (tp {li.tp}, fp {li.fp}, fn {li.fn})</p>"
        )
    parts += ["<h2>Confidence calibration</h2>", _img(chart_reliability(score), "reliability diagram")]
    parts.append("<h2>Speed per stage</h2>")
    parts.append(_img(chart_timings(score), "stage timings"))
    if score.timings:
        parts.append("<table><tr><th>stage</th><th>total s</th><th>mean s/doc</th><th>n</th></tr>")
        for k, v in score.timings.items():
            parts.append(
                f"<tr><td>{_cell(k)}</td><td class=num>{v['total_s']:.3f}</td>"
                f"<td class=num>{v['mean_s']:.3f}</td><td class=num>{int(v['n'])}</td></tr>"
            )
        parts.append("</table>")
    worst = score.worst_cases(n_worst)
    parts.append("<h2>Worst cases</h2>")
    parts.append(
        "<p class=legend><span style='background:#e41a1c'></span>predicted box"
        "<span style='background:#1a9e3f'></span>gold box (where the labels have one)</p>"
    )
    docs = {d.key: d for d in score.docs}
    if not worst:
        parts.append("<p>No mistakes.</p>")
    for fr in worst:
        d = docs[fr.key]
        conf = f"{fr.confidence:.2f}" if fr.confidence is not None else "n/a"
        parts.append(
            f"<div class=case><b>{_cell(fr.key)}</b> · {_cell(fr.path)} · <span class=wrong>{fr.outcome.value}</span>"
            f" · confidence {conf}<br>gold: <code>{_cell(fr.gold)}</code> · predicted: "
            f"<code>{_cell(fr.predicted)}</code><br>"
        )
        doc_path = _find_document(d.source, d.document)
        parts.append(_img(render_case(fr, doc_path), "page crop"))
        parts.append("</div>")
    if score.missing_predictions:
        parts.append("<p>No prediction for: " + html.escape(", ".join(score.missing_predictions)) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _find_document(source: str | None, document: str | None) -> Path | None:
    for cand in (source, document):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def write_reports(
    score: ExtractionScore,
    html_path: str | Path | None = None,
    json_path: str | Path | None = None,
    markdown_path: str | Path | None = None,
    title: str = "docvlm evaluation",
    meta: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the requested report files; returns the paths written."""
    written: list[Path] = []
    for path, render in (
        (json_path, lambda: json.dumps(report_json(score, meta), indent=2, ensure_ascii=False)),
        (markdown_path, lambda: report_markdown(score, title)),
        (html_path, lambda: report_html(score, title)),
    ):
        if path is None:
            continue
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(render(), encoding="utf-8")
        written.append(p)
    return written
