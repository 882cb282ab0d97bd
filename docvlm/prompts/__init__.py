"""Prompts for the generative engines: pages + schema (or question) in, a ``Prompt`` out.

Prompts are OCR-grounded: they carry the page words in reading order with boxes normalised to
0-1000, plus a layout-preserving text rendering, within a word budget. When a document has more
words than the budget, the header and totals regions are kept first and the cut is marked
``[truncated]``. Templates are the ``*.txt`` files of this package (``string.Template`` syntax,
``$name``), so wording changes never touch code.

``bounded_json_schema`` turns a Pydantic schema into the JSON Schema used for constrained
generation: strings have a ``maxLength``, money and numbers are strings with a bounded regex
pattern, arrays have ``maxItems``, every object is closed and fully ``required`` (nullable leaves
instead of optional keys, as OpenAI's strict mode and xgrammar want), and there are no ``$ref``s.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import importlib.resources
import json
import logging
import re
import string
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import BaseModel

from docvlm.datamodel import Page
from docvlm.geometry import Line

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

#: pattern of a decimal amount or number as generated: optional minus, up to 12 integer digits, 4 decimals
NUMBER_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,4})?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
#: maxLength of a string field whose schema sets none
DEFAULT_MAX_LENGTH = 300
#: maxItems of an array field whose schema sets none (or a larger one)
DEFAULT_MAX_ITEMS = 100
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
    """The template ``docvlm/prompts/<name>.txt``."""
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
# Bounded JSON schema for generation


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (annotation, False)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return Union[tuple(args)], nullable  # noqa: UP007 - rebuilt at runtime from a tuple
    return annotation, False


def _constraint(metadata: Sequence[Any], name: str) -> Any:
    for m in metadata:
        value = getattr(m, name, None)
        if value is not None:
            return value
    return None


def _annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated[...]`` and return the base type and its metadata."""
    meta: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation, meta = args[0], [*meta, *args[1:]]
    return annotation, meta


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _type_schema(
    annotation: Any,
    metadata: list[Any],
    description: str | None,
    subtree: dict[str, Any] | None,
    stack: tuple[type, ...],
) -> dict[str, Any]:
    """The bounded schema of one annotation (without nullability)."""
    annotation, extra_meta = _annotated(annotation)
    metadata = [*metadata, *extra_meta]
    annotation, _ = _split_optional(annotation)
    annotation, more_meta = _annotated(annotation)
    metadata = [*metadata, *more_meta]
    origin = typing.get_origin(annotation)
    out: dict[str, Any]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        out = _object_schema(annotation, subtree, stack)
    elif origin in (list, Sequence, tuple, set, frozenset) or annotation in (list, tuple, set):
        args = typing.get_args(annotation)
        item = args[0] if args else str
        max_items = _constraint(metadata, "max_length")
        max_items = min(max_items, DEFAULT_MAX_ITEMS) if max_items else DEFAULT_MAX_ITEMS
        out = {"type": "array", "items": _type_schema(item, [], None, subtree, stack), "maxItems": max_items}
    elif origin is Literal:
        values = list(typing.get_args(annotation))
        out = {"enum": values}
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        out = {"enum": [m.value for m in annotation]}
    elif annotation is bool:
        out = {"type": "boolean"}
    elif annotation in (Decimal, float, int):
        # numbers as strings: a bounded pattern keeps the grammar finite and avoids binary floats
        out = {"type": "string", "pattern": NUMBER_PATTERN}
    elif annotation is dt.date:
        out = {"type": "string", "pattern": DATE_PATTERN}
    elif annotation is str and description and "ISO 4217" in description:
        out = {"type": "string", "pattern": CURRENCY_PATTERN}
    elif annotation is str:
        max_len = _constraint(metadata, "max_length") or DEFAULT_MAX_LENGTH
        out = {"type": "string", "maxLength": int(min(max_len, 2000))}
    else:
        # unions of several types and anything exotic: a bounded string is always generatable
        out = {"type": "string", "maxLength": DEFAULT_MAX_LENGTH}
    if description and "description" not in out:
        out["description"] = description
    return out


def _object_schema(
    model: type[BaseModel], subtree: dict[str, Any] | None, stack: tuple[type, ...]
) -> dict[str, Any]:
    if model in stack:
        raise ValueError(f"{model.__name__} refers to itself; a bounded schema cannot hold a cycle")
    props: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if subtree is not None and name not in subtree:
            continue
        child = subtree.get(name) if subtree is not None else None
        base, nullable = _split_optional(info.annotation)
        base, meta = _annotated(base)
        schema = _type_schema(base, [*info.metadata, *meta], info.description, child, (*stack, model))
        # only Optional fields may be null; every key is required (closed objects for strict mode)
        props[name] = _nullable(schema) if nullable else schema
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _field_tree(schema: type[BaseModel], fields: Sequence[str]) -> dict[str, Any]:
    """Dotted paths -> nested dict of wanted names; numeric parts (list indexes) are dropped.

    A path that names an object or an array keeps all of it (the value ``None`` in the tree).
    """
    tree: dict[str, Any] = {}
    for path in fields:
        parts = [p for p in path.split(".") if p and not p.isdigit()]
        if not parts:
            raise ValueError(f"empty field path {path!r}")
        node = tree
        model: Any = schema
        for i, part in enumerate(parts):
            if (
                not (isinstance(model, type) and issubclass(model, BaseModel))
                or part not in model.model_fields
            ):
                raise ValueError(f"{path!r} is not a field of {schema.__name__}")
            ann, _ = _split_optional(model.model_fields[part].annotation)
            ann, _ = _annotated(ann)
            if typing.get_origin(ann) is list:
                ann = typing.get_args(ann)[0]
            model = ann
            last = i == len(parts) - 1
            if last:
                node[part] = None  # the whole field
            else:
                existing = node.get(part, {})
                if existing is None:  # the whole field was already asked for
                    break
                node[part] = existing
                node = existing
    return tree


def bounded_json_schema(schema: type[BaseModel], fields: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON Schema that generation must follow for ``schema``.

    ``fields`` restricts it to a subset of dotted paths (``"total"``, ``"vendor.name"``,
    ``"line_items"``; list indexes are ignored). Raises ValueError for a path that is not a field.
    """
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ValueError(f"schema must be a Pydantic model class, got {schema!r}")
    # a None value in the tree means "all of this field"
    subtree = _field_tree(schema, fields) if fields is not None else None
    out = _object_schema(schema, subtree, ())
    out["title"] = schema.__name__
    return out


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


#: the reply schema of a QA prompt
QA_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 500}},
    "required": ["answer"],
    "additionalProperties": False,
    "title": "Answer",
}


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
    "DATE_PATTERN",
    "NUMBER_PATTERN",
    "QA_JSON_SCHEMA",
    "TRUNCATED_MARK",
    "Prompt",
    "bounded_json_schema",
    "build_extraction_prompt",
    "build_qa_prompt",
    "load_template",
    "reask_prompt",
    "render_pages",
]
