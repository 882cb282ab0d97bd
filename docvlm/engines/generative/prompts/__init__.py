"""Prompts for the generative engines: pages + schema (or question) in, a ``Prompt`` out.

Prompts are OCR-grounded: they carry the page words in reading order with boxes normalised to
0-1000, plus a layout-preserving text rendering, within a word budget. When a document has more
words than the budget, the header and totals regions are kept first and the cut is marked
``[truncated]``. Templates are the ``*.txt`` files of this package (``string.Template`` syntax,
``$name``), so wording changes never touch code.

The JSON Schema a reply must follow comes from ``json_schema.bounded_json_schema``; the QA reply
is ``QAReply`` (one model for its schema and its validation).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import logging
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from docvlm.datamodel import Page
from docvlm.engines.generative.json_schema import bounded_json_schema
from docvlm.geometry import Line

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

#: characters across the layout rendering of a page
LAYOUT_COLUMNS = 110
TRUNCATED_MARK = "[truncated]"
#: share of the word budget reserved for the top of the first page (parties, numbers, dates)
HEADER_SHARE = 0.4
#: share reserved for the bottom of the last page (totals, payment details)
FOOTER_SHARE = 0.3
# lines with these words hold the totals; they are kept first when a page must be cut
_TOTALS_WORDS = re.compile(
    r"\b(total|totaal|totale|gesamt|summe|subtotal|sub-total|amount|montant|betrag|balance|due|"
    r"tax|vat|gst|tva|btw|mwst|iva|rounding|net|brutto|netto|pay|paid|cash|change)\b",
    re.IGNORECASE,
)


@dataclass
class Prompt:
    """A prompt ready for a chat model.

    ``user`` carries the page text; ``images`` the page images (or tiles) the engine sends along.
    ``word_count`` is the number of page words included and ``truncated`` whether some were cut.
    ``followups`` are (role, content) turns appended after ``user``: the re-ask dialogue.
    ``json_schema`` is the bounded schema the reply must follow (None for free-form prompts).
    """

    system: str
    user: str
    images: list[Image.Image]
    word_count: int
    truncated: bool
    followups: list[tuple[str, str]] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    schema_name: str = "answer"

    def messages(self) -> list[dict[str, str]]:
        """The dialogue as ``[{"role", "content"}]`` text messages; engines add the images to the first user turn."""
        msgs = [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]
        msgs.extend({"role": role, "content": content} for role, content in self.followups)
        return msgs


@functools.cache
def load_template(name: str) -> string.Template:
    """The template ``<name>.txt`` of this package."""
    resource = importlib.resources.files(__name__).joinpath(f"{name}.txt")
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no prompt template named {name!r}") from None
    return string.Template(text.strip())


def reask_prompt(prompt: Prompt, previous: str, error: str) -> Prompt:
    """``prompt`` with the rejected reply and the reason appended as a new dialogue turn (the re-ask)."""
    text = load_template("reask").substitute(
        previous=previous.strip()[:1500] or "(empty reply)", error=error[:1500]
    )
    return Prompt(
        system=prompt.system,
        user=prompt.user,
        images=prompt.images,
        word_count=prompt.word_count,
        truncated=prompt.truncated,
        followups=[*prompt.followups, ("assistant", previous.strip()[:4000]), ("user", text)],
        json_schema=prompt.json_schema,
        schema_name=prompt.schema_name,
    )


# ---------------------------------------------------------------------------------------------
# Page text: words with boxes and a layout rendering, within a word budget


def _norm_box(page: Page, bbox: tuple[float, float, float, float]) -> str:
    w = page.width or 1.0
    h = page.height or 1.0

    def clamp(v: float) -> int:
        return max(0, min(1000, round(v * 1000)))

    return f"[{clamp(bbox[0] / w)},{clamp(bbox[1] / h)},{clamp(bbox[2] / w)},{clamp(bbox[3] / h)}]"


@dataclass
class _PageLines:
    page: Page
    lines: list[Line]


def _select_lines(pages: list[_PageLines], max_words: int) -> tuple[list[set[int]], int, bool]:
    """Which lines of each page to keep: all if they fit, else header + totals regions first.

    Returns the kept line indexes per page, the number of words kept and whether any were cut.
    """
    counts = [[len(ln.words) for ln in p.lines] for p in pages]
    total = sum(sum(c) for c in counts)
    keep: list[set[int]] = [set() for _ in pages]
    if total <= max_words:
        for i, c in enumerate(counts):
            keep[i] = set(range(len(c)))
        return keep, total, False
    used = 0

    def take(pi: int, li: int, limit: int) -> bool:
        nonlocal used
        if li in keep[pi]:
            return True
        n = counts[pi][li]
        if used + n > limit:
            return False
        keep[pi].add(li)
        used += n
        return True

    # 1. the header: top lines of the first page
    header_limit = int(max_words * HEADER_SHARE)
    for li in range(len(counts[0])):
        if not take(0, li, header_limit):
            break
    # 2. the totals: lines naming a total anywhere, then the bottom lines of the last page
    footer_limit = used + int(max_words * FOOTER_SHARE)
    for pi, p in enumerate(pages):
        for li, line in enumerate(p.lines):
            if _TOTALS_WORDS.search(line.text) and len(line.words) <= 12:
                take(pi, li, footer_limit)
    last = len(pages) - 1
    for li in range(len(counts[last]) - 1, -1, -1):
        if not take(last, li, footer_limit):
            break
    # 3. the rest in reading order while the budget lasts (line items, more header)
    for pi in range(len(pages)):
        for li in range(len(counts[pi])):
            take(pi, li, max_words)
    return keep, used, True


def _layout_line(page: Page, line: Line) -> str:
    """One text line with its segments placed at their x position on a ``LAYOUT_COLUMNS`` grid."""
    out = ""
    width = page.width or 1.0
    for seg in line.segments or [line.words]:
        col = int(seg[0].x0 / width * LAYOUT_COLUMNS)
        text = " ".join(w.text for w in seg)
        pad = col - len(out) if col > len(out) else (1 if out else 0)
        out += " " * pad + text
    return out.rstrip()


def render_pages(pages: Sequence[Page], max_words: int) -> tuple[str, str, int, bool]:
    """The word list (text runs with 0-1000 boxes) and the layout rendering of ``pages``.

    Returns ``(words_text, layout_text, word_count, truncated)``. Lines come from
    ``geometry.group_lines`` in reading order; a run is one line segment (words split at wide gaps).
    """
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1, got {max_words}")
    plines = [_PageLines(p, p.lines) for p in pages]
    if not plines:
        return "", "", 0, False
    keep, count, truncated = _select_lines(plines, max_words)
    words_out: list[str] = []
    layout_out: list[str] = []
    multi = len(plines) > 1
    for pi, pl in enumerate(plines):
        if multi:
            words_out.append(f"--- page {pl.page.number} ---")
            layout_out.append(f"--- page {pl.page.number} ---")
        if not pl.lines:
            words_out.append("(no text on this page)")
            continue
        gap = False
        prev_y1: float | None = None
        for li, line in enumerate(pl.lines):
            if li not in keep[pi]:
                gap = True
                continue
            if gap:
                words_out.append(TRUNCATED_MARK)
                layout_out.append(TRUNCATED_MARK)
                gap = False
                prev_y1 = None
            for seg in line.segments or [line.words]:
                text = " ".join(w.text for w in seg)
                box = (
                    min(w.x0 for w in seg),
                    min(w.y0 for w in seg),
                    max(w.x1 for w in seg),
                    max(w.y1 for w in seg),
                )
                words_out.append(f"{text} {_norm_box(pl.page, box)}")
            b = line.bbox
            # a blank line where the page has vertical white space, so blocks stay apart
            if prev_y1 is not None and b[1] - prev_y1 > 1.2 * max(line.height, 1.0):
                layout_out.append("")
            layout_out.append(_layout_line(pl.page, line))
            prev_y1 = b[3]
        if gap:
            words_out.append(TRUNCATED_MARK)
            layout_out.append(TRUNCATED_MARK)
    return "\n".join(words_out), "\n".join(layout_out), count, truncated


# ---------------------------------------------------------------------------------------------
# Prompt builders

_SYSTEM_TEMPLATES = {"Invoice": "extraction_invoice_system", "Form": "extraction_form_system"}


def _schema_name(schema: type[BaseModel]) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", schema.__name__.lower())[:64]


def build_extraction_prompt(
    pages: Sequence[Page],
    schema: type[BaseModel],
    *,
    max_words: int = 600,
    images: list[Any] | None = None,
    fields: Sequence[str] | None = None,
) -> Prompt:
    """The extraction prompt for ``pages`` and ``schema`` (invoice, form, or any other model).

    ``images`` are passed through to the engine untouched; ``fields`` restricts the requested
    schema to those dotted paths (the hybrid engine asks only for what the layout engine missed).
    """
    bounded = bounded_json_schema(schema, fields)
    words, layout, count, truncated = render_pages(pages, max_words)
    template = _SYSTEM_TEMPLATES.get(schema.__name__, "extraction_generic_system")
    system = load_template(template).safe_substitute(schema_name=schema.__name__)
    fields_note = f" (only these fields: {', '.join(fields)})" if fields else ""
    user = load_template("extraction_user").substitute(
        schema_json=json.dumps(bounded, separators=(",", ":")),
        fields_note=fields_note,
        words=words or "(no text)",
        layout=layout or "(no text)",
    )
    if truncated:
        _log.debug("prompt cut to %d words (budget %d)", count, max_words)
    return Prompt(
        system=system,
        user=user,
        images=list(images or []),
        word_count=count,
        truncated=truncated,
        json_schema=bounded,
        schema_name=_schema_name(schema),
    )


class QAReply(BaseModel):
    """The reply to a QA prompt: the answer copied from the page, empty when the page does not hold it."""

    model_config = ConfigDict(extra="ignore", title="Answer")

    answer: str = Field(default="", max_length=500)


#: the reply schema of a QA prompt (derived from ``QAReply``, which also validates the reply)
QA_JSON_SCHEMA: dict[str, Any] = bounded_json_schema(QAReply)


def build_qa_prompt(
    pages: Sequence[Page], question: str, *, max_words: int = 600, images: list[Any] | None = None
) -> Prompt:
    """The question-answering prompt: page words + layout + the question; the reply is ``{"answer": ...}``."""
    if not question.strip():
        raise ValueError("the question is empty")
    words, layout, count, truncated = render_pages(pages, max_words)
    user = load_template("qa_user").substitute(
        words=words or "(no text)", layout=layout or "(no text)", question=" ".join(question.split())
    )
    return Prompt(
        system=load_template("qa_system").template,
        user=user,
        images=list(images or []),
        word_count=count,
        truncated=truncated,
        json_schema=dict(QA_JSON_SCHEMA),
        schema_name="answer",
    )


__all__ = [
    "QA_JSON_SCHEMA",
    "TRUNCATED_MARK",
    "Prompt",
    "QAReply",
    "build_extraction_prompt",
    "build_qa_prompt",
    "load_template",
    "reask_prompt",
    "render_pages",
]
