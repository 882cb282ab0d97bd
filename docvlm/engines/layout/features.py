"""Features of candidate values: what the chooser sees of each ``Proposal`` of the candidate pool.

In: a ``Pool`` (one document's proposals by kind). Out: per kind a float32 matrix, one row per
proposal, columns named by ``feature_names(kind)``. The set is versioned (``FEATURE_SET``): a model
trained on another version refuses to load.

A row holds the label words around the value (left on its line and above it): their lexicon class
strengths for every field, their language, and hashed character 3-grams of the label text (so a
synonym the lexicon lacks can still be learned); the value's position on the page and in its line;
its typography (height against the page's median); its shape; how often it repeats; whether it
sits inside the line-item table; the rules' own choice; and kind-specific signals (amount sums,
date order, name and address tests). Labels are classified once per distinct text (cached).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
import zlib
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from docvlm import parsers
from docvlm.datamodel import BBox
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.amounts import classify_amount_label
from docvlm.engines.layout.candidates.base import _in_regions
from docvlm.engines.layout.candidates.parties import _sentence_like
from docvlm.engines.layout.candidates.pool import KINDS, Pool, Proposal
from docvlm.engines.layout.text import PageLines, TextLine

_log = logging.getLogger(__name__)

_NON_ALNUM_RUN = re.compile(r"[^a-z0-9]+")
_ID_SEPARATORS = re.compile(r"[\s.\-/]")
_DECIMALS_AT_END = re.compile(r"[.,]\d{1,2}\D*$")
_CURRENCY_MARK = re.compile(r"[$€£₹¥]|RM|Rs|[A-Z]{3}")
_ID_PUNCT = re.compile(r"[-/_.]")
_COUNTRY_DIGIT = re.compile(r"[A-Z]{2}\d")
_NON_ALNUM = re.compile(r"[^a-z0-9]")

_MAIL_OR_WEB_HOST = re.compile(r"@([\w-]+)\.|www\.([\w-]+)\.", re.IGNORECASE)

FEATURE_SET = "layout-header"
FEATURE_VERSION = 2

LABEL_CLASSES: tuple[str, ...] = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "purchase_order",
    "subtotal",
    "tax_total",
    "total",
    "amount_due",
    "vendor",
    "customer",
    "tax_id",
    "iban",
    "email",
    "phone",
)
N_BUCKETS = 16
_LABEL_PARTS = (
    "present",
    "dist",
    *(f"cls_{c}" for c in LABEL_CLASSES),
    "lang",
    *(f"ng{i}" for i in range(N_BUCKETS)),
)
_GENERIC = (
    "page",
    "last_page",
    "rel_x0",
    "rel_x1",
    "rel_y",
    "line_rank",
    "height_ratio",
    "seg_index",
    "n_segs",
    "n_lines",
    "len",
    "digit_frac",
    "letter_frac",
    "upper_frac",
    "n_words",
    "repeats",
    "in_table",
    "from_rule",
    "is_receipt",
    "n_pages",
    "n_kind",
    "line_len",
    "value_share",
    "y_rank",
)
_SPECIFIC: dict[str, tuple[str, ...]] = {
    "amount": (
        "log_value",
        "is_max",
        "value_rank",
        "equals_line_sum",
        "sum_of_two",
        "part_of_sum",
        "has_decimals",
        "has_currency",
        "negative",
        "share_of_max",
        "same_value_below",
    ),
    "date": ("date_rank", "is_earliest", "is_latest", "n_dates", "days_from_first", "n_same_line"),
    "id": (
        "has_letters",
        "has_sep",
        "all_digits",
        "n_digits",
        "title_on_line",
        "is_year",
        "date_like",
        "has_colon",
        "taxid_like",
    ),
    "taxid": ("country_prefix", "compact_len", "n_digits"),
    "name": (
        "company_suffix",
        "sentence",
        "is_upper",
        "address_like",
        "has_digit",
        "in_customer_block",
        "domain_match",
        "title_line",
        "self_label",
        "colon_after",
        "block_below",
        "address_below",
        "value_right",
    ),
    "address": (
        "postcode",
        "street_words",
        "phone_words",
        "has_date",
        "first_is_company",
        "start_line",
        "n_commas",
        "registration",
    ),
}
_PUNCT = re.compile(r"^[\W_]*$")
_YEAR = re.compile(r"(?:19|20)\d\d")


def feature_names(kind: str) -> list[str]:
    """Column names of the matrix of ``kind``: generic, rule votes, both label contexts, specific."""
    rules = [f"rule_{f}" for f in KINDS[kind]] + [f"rule_at_{f}" for f in KINDS[kind]]
    labels = [f"left_{p}" for p in _LABEL_PARTS] + [f"above_{p}" for p in _LABEL_PARTS]
    return [*_GENERIC, *rules, *labels, *_SPECIFIC[kind]]


def _fold(text: str) -> str:
    t = unicodedata.normalize("NFKD", text.casefold())
    t = "".join(c for c in t if not unicodedata.combining(c))
    return " ".join(_NON_ALNUM_RUN.sub(" ", t).split())


def _header_alternation() -> tuple[re.Pattern[str], list[tuple[int, float]]]:
    """Every identifier/date label of the lexicon as one alternation: group k -> (class, strength)."""
    parts: list[str] = []
    meta: list[tuple[int, float]] = []
    for ci, f in enumerate(LABEL_CLASSES[:4]):
        for frag, strength in lx.HEADER_LABELS[f]:
            parts.append(f"(?:{frag})")
            meta.append((ci, strength))
    alt = "|".join(f"(?P<g{k}>{p})" for k, p in enumerate(parts))
    return re.compile(rf"(?<![\w])(?:{alt})(?![\w])", re.IGNORECASE), meta


_HEADER_ALT, _HEADER_META = _header_alternation()
_PARTY_ALT = re.compile(
    "|".join(
        f"(?P<{name}>{pat.pattern})"
        for name, pat in (
            ("vendor", lx.VENDOR_LABEL_RE),
            ("customer", lx.CUSTOMER_LABEL_RE),
            ("tax_id", lx.TAX_ID_LABEL_RE),
            ("iban", lx.IBAN_LABEL_RE),
            ("email", lx.EMAIL_LABEL_RE),
            ("phone", lx.PHONE_LABEL_RE),
        )
    ),
    re.IGNORECASE,
)
_CLASS_INDEX = {c: i for i, c in enumerate(LABEL_CLASSES)}


@functools.lru_cache(maxsize=16384)
def label_vector(text: str) -> tuple[float, ...]:
    """Class strengths for every label class, the language index and hashed 3-gram counts of a label."""
    cls = [0.0] * len(LABEL_CLASSES)
    if text:
        for m in _HEADER_ALT.finditer(text):
            k = int(m.lastgroup[1:]) if m.lastgroup else -1
            if k >= 0:
                ci, strength = _HEADER_META[k]
                cls[ci] = max(cls[ci], strength)
        for f, strength in classify_amount_label(text):
            cls[_CLASS_INDEX[f]] = max(cls[_CLASS_INDEX[f]], strength)
        for m in _PARTY_ALT.finditer(text):
            if m.lastgroup:
                cls[_CLASS_INDEX[m.lastgroup]] = 1.0
    lang = next((i + 1 for i, (_, pat) in enumerate(lx.LABEL_LANGUAGES) if pat.search(text)), 0)
    buckets = [0.0] * N_BUCKETS
    folded = _fold(text)
    for word in folded.split():
        w = f" {word} "
        for i in range(len(w) - 2):
            buckets[zlib.crc32(w[i : i + 3].encode()) % N_BUCKETS] += 1.0
    return (*cls, float(lang), *buckets)


_EMPTY_LABEL = (0.0, 0.0, *label_vector(""))


def _left_label(tl: TextLine, start: int) -> tuple[float, ...]:
    """The words left of the value on its line: its own segment's, else the previous segment's."""
    si = tl.seg_at(start)
    a0 = tl.segments[si][0]
    text = tl.text[a0:start]
    dist = 0.0
    if _PUNCT.match(text) and si > 0:
        p0, p1 = tl.segments[si - 1]
        text = tl.text[p0:p1]
        gap = tl.seg_box(si)[0] - tl.seg_box(si - 1)[2]
        dist = max(0.0, gap) / max(tl.height, 1e-6)
    text = text[-48:].strip()
    if not text or _PUNCT.match(text):
        return _EMPTY_LABEL
    return (1.0, dist, *label_vector(text))


def _above_label(pl: PageLines, tl: TextLine, box: BBox) -> tuple[float, ...]:
    """The segment of the line above that overlaps the value's column, within three line heights."""
    for prev in reversed(pl.lines[max(0, tl.index - 2) : tl.index]):
        gap = tl.bbox[1] - prev.bbox[3]
        if gap > 3 * max(tl.height, prev.height):
            break
        for k, (a0, b0) in enumerate(prev.segments):
            sb = prev.seg_box(k)
            if sb[0] <= box[2] + tl.height and sb[2] >= box[0] - tl.height:
                text = prev.text[a0:b0][-48:].strip()
                if text and not _PUNCT.match(text):
                    return (1.0, max(0.0, gap) / max(pl.median_height, 1e-6), *label_vector(text))
    return _EMPTY_LABEL


def norm_value(kind: str, value: str) -> str:
    """A value in the form two spellings of it share (for repeats and rule votes)."""
    if kind in ("id", "taxid"):
        return _ID_SEPARATORS.sub("", value).casefold()
    return " ".join(value.casefold().split()).strip(" ,.;:")


@functools.lru_cache(maxsize=16384)
def _shape(value: str) -> tuple[float, float, float, float]:
    n = max(1, len(value))
    digits = sum(c.isdigit() for c in value)
    letters = [c for c in value if c.isalpha()]
    upper = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
    return digits / n, len(letters) / n, upper, float(len(value.split()))


def kind_matrix(
    pool: Pool, kind: str, table_boxes: dict[int, BBox] | None, line_sum: Decimal | None
) -> np.ndarray:
    """The feature matrix of one kind's proposals (rows in pool order)."""
    props = pool.by_kind.get(kind, [])
    width = len(feature_names(kind))
    if not props:
        return np.zeros((0, width), dtype=np.float32)
    pls = pool.pls
    by_page = {pl.page.number: (i, pl) for i, pl in enumerate(pls)}
    norms = [norm_value(kind, p.value) for p in props]
    counts: dict[str, int] = {}
    for n in norms:
        counts[n] = counts.get(n, 0) + 1
    ys = sorted({(p.line.page, p.evidence.bbox[1]) for p in props})
    y_rank = {y: i / max(1, len(ys) - 1) for i, y in enumerate(ys)}
    rule_vals = {f: norm_value(kind, pool.rules.values[f]) for f in KINDS[kind] if f in pool.rules.values}
    rule_conf = {f: pool.rules.confidence.get(f, 0.5) for f in rule_vals}
    rule_ev = {f: pool.rules.evidence[f] for f in rule_vals}
    specific = _specific_rows(pool, kind, props, line_sum)
    left_at: dict[tuple[int, int, int], tuple[float, ...]] = {}
    above_at: dict[tuple[int, int, float, float], tuple[float, ...]] = {}
    rows: list[list[float]] = []
    for p, nv, spec in zip(props, norms, specific, strict=True):
        tl = p.line
        pidx, pl = by_page[tl.page]
        tb = pl.text_box
        span_x = max(1.0, tb[2] - tb[0])
        span_y = max(1.0, tb[3] - tb[1])
        box = p.evidence.bbox
        si = tl.seg_at(p.start)
        digit_frac, letter_frac, upper_frac, n_words = _shape(p.value)
        tbox = (table_boxes or {}).get(tl.page)
        in_table = tbox is not None and _in_regions(tl.page, box, [(tl.page, tbox)])
        row = [
            float(pidx),
            float(pidx == len(pls) - 1),
            (box[0] - tb[0]) / span_x,
            (box[2] - tb[0]) / span_x,
            ((box[1] + box[3]) / 2 - tb[1]) / span_y,
            tl.index / max(1, len(pl.lines)),
            (box[3] - box[1]) / max(p.n_lines, 1) / max(pl.median_height, 1e-6),
            float(si),
            float(len(tl.segments)),
            float(p.n_lines),
            float(len(p.value)),
            digit_frac,
            letter_frac,
            upper_frac,
            n_words,
            float(counts[nv]),
            float(in_table),
            float(p.source == "rule"),
            float(pool.is_receipt),
            float(len(pls)),
            float(len(props)),
            float(len(tl.text)),
            len(p.value) / max(1, len(tl.text)),
            y_rank[(tl.page, box[1])],
        ]
        for f in KINDS[kind]:
            row.append(rule_conf[f] if rule_vals.get(f) == nv else 0.0)
        for f in KINDS[kind]:
            ev = rule_ev.get(f)
            row.append(
                float(
                    ev is not None
                    and ev.page == tl.page
                    and abs(ev.bbox[0] - box[0]) < 2 * tl.height
                    and abs(ev.bbox[1] - box[1]) < tl.height
                )
            )
        # values on one line share their label context: computed once per line and position
        lk = (tl.page, tl.index, p.start)
        if lk not in left_at:
            left_at[lk] = _left_label(tl, p.start)
        ak = (tl.page, tl.index, box[0], box[2])
        if ak not in above_at:
            above_at[ak] = _above_label(pl, tl, box)
        row.extend(left_at[lk])
        row.extend(above_at[ak])
        row.extend(spec)
        rows.append(row)
    return np.asarray(rows, dtype=np.float32)


def _specific_rows(
    pool: Pool, kind: str, props: Sequence[Proposal], line_sum: Decimal | None
) -> list[list[float]]:
    if kind == "amount":
        return _amount_rows(props, line_sum)
    if kind == "date":
        return _date_rows(props)
    if kind == "id":
        return [_id_row(p) for p in props]
    if kind == "taxid":
        return [_taxid_row(p) for p in props]
    if kind == "name":
        return _name_rows(pool, props)
    return [_address_row(p) for p in props]


def _amount_rows(props: Sequence[Proposal], line_sum: Decimal | None) -> list[list[float]]:
    vals = [Decimal(p.value) for p in props]
    distinct = sorted(set(vals), reverse=True)
    rank = {v: i / max(1, len(distinct) - 1) for i, v in enumerate(distinct)}
    top = distinct[0] if distinct else Decimal(0)
    dset = set(distinct)
    cent = Decimal("0.01")
    small = distinct[:40]  # pairwise sums over the largest distinct amounts only
    sums = {a + b for i, a in enumerate(small) for b in small[i + 1 :] if a > 0 and b > 0}
    last_at: dict[str, tuple[int, int]] = {}
    for q in props:
        at = (q.line.page, q.line.index)
        last_at[q.value] = max(last_at.get(q.value, at), at)
    positive = [o for o in small if o > 0]
    part_of: dict[Decimal, bool] = {}
    rows: list[list[float]] = []
    for p, v in zip(props, vals, strict=True):
        raw = p.evidence.text
        if v not in part_of:
            part_of[v] = v > 0 and any(v + o in dset for o in positive if o != v)
        part = part_of[v]
        below = last_at[p.value] > (p.line.page, p.line.index)
        rows.append(
            [
                math.log10(float(abs(v)) + 1.0),
                float(v == top),
                rank[v],
                float(line_sum is not None and abs(line_sum - v) <= cent),
                float(v in sums),
                float(part),
                float(bool(_DECIMALS_AT_END.search(raw))),
                float(bool(_CURRENCY_MARK.search(raw))),
                float(v < 0),
                float(v / top) if top > 0 else 0.0,
                float(below),
            ]
        )
    return rows


def _date_rows(props: Sequence[Proposal]) -> list[list[float]]:
    vals = [p.value for p in props]
    distinct = sorted(set(vals))
    rank = {v: i / max(1, len(distinct) - 1) for i, v in enumerate(distinct)}
    first = parsers.parse_date(distinct[0]) if distinct else None
    per_line: dict[tuple[int, int], int] = {}
    for p in props:
        k = (p.line.page, p.line.index)
        per_line[k] = per_line.get(k, 0) + 1
    rows: list[list[float]] = []
    for p in props:
        d = parsers.parse_date(p.value)
        days = float((d - first).days) if d is not None and first is not None else 0.0
        rows.append(
            [
                rank[p.value],
                float(p.value == distinct[0]),
                float(p.value == distinct[-1]),
                float(len(distinct)),
                min(days, 400.0),
                float(per_line[(p.line.page, p.line.index)]),
            ]
        )
    return rows


def _id_row(p: Proposal) -> list[float]:
    v = p.value
    compact = _ID_SEPARATORS.sub("", v)
    return [
        float(any(c.isalpha() for c in v)),
        float(bool(_ID_PUNCT.search(v))),
        float(v.isdigit()),
        float(sum(c.isdigit() for c in v)),
        float(bool(lx.TITLE_NUMBER.search(p.line.text[: p.start]))),
        float(bool(_YEAR.fullmatch(v))),
        _date_cover(v),
        float(":" in v),
        float(bool(_TAX_ID_SHAPE.fullmatch(compact))),
    ]


_TAX_ID_SHAPE = re.compile(r"[A-Z]{2}[0-9A-Z]{8,13}")


@functools.lru_cache(maxsize=4096)
def _date_cover(value: str) -> float:
    """The share of an identifier's characters that read as a date (a date is not a document number)."""
    if not any(ch.isdigit() for ch in value) or len(value) < 6:
        return 0.0
    found = parsers.find_dates(value)
    return min(1.0, sum(len(raw) for _, raw in found) / len(value)) if found else 0.0


def _taxid_row(p: Proposal) -> list[float]:
    compact = _ID_SEPARATORS.sub("", p.value)
    return [
        float(bool(_COUNTRY_DIGIT.match(compact))),
        float(len(compact)),
        float(sum(c.isdigit() for c in compact)),
    ]


def _domains(pool: Pool) -> set[str]:
    out: set[str] = set()
    for pl in pool.pls:
        for tl in pl.lines:
            for m in _MAIL_OR_WEB_HOST.finditer(tl.text):
                out.add(_NON_ALNUM.sub("", (m.group(1) or m.group(2)).lower()))
    return out


def _below(pl: PageLines, tl: TextLine, box: BBox) -> tuple[float, float]:
    """How many lines are stacked under a value in its column (a party block: name, then address
    lines), and whether the first of them reads as an address line."""
    n = 0
    addr = 0.0
    prev = tl
    for nxt in pl.lines[tl.index + 1 : tl.index + 5]:
        if nxt.bbox[1] - prev.bbox[3] > 1.0 * max(prev.height, nxt.height):
            break
        aligned = False
        for k in range(len(nxt.segments)):
            sb = nxt.seg_box(k)
            if abs(sb[0] - box[0]) <= 2 * tl.height and sb[0] < box[2]:
                aligned = True
                if n == 0:
                    a, b = nxt.segments[k]
                    t = nxt.text[a:b]
                    addr = float(
                        bool(
                            lx.ADDRESS_WORDS.search(t)
                            or lx.POSTCODE.search(t)
                            or lx.STREET_COMPOUND.search(t)
                        )
                    )
                break
        if not aligned:
            break
        n += 1
        prev = nxt
    return float(n), addr


def _name_rows(pool: Pool, props: Sequence[Proposal]) -> list[list[float]]:
    domains = _domains(pool)
    regions = pool.rules.customer_regions
    by_page = {pl.page.number: pl for pl in pool.pls}
    n_cls = len(LABEL_CLASSES)
    rows: list[list[float]] = []
    below: dict[tuple[int, int, int], tuple[float, float]] = {}
    for p in props:
        v = p.value
        key = _NON_ALNUM.sub("", v.lower())
        letters = [c for c in v if c.isalpha()]
        at = (p.line.page, p.line.index, p.line.seg_at(p.start))
        if at not in below:
            below[at] = _below(by_page[p.line.page], p.line, p.evidence.bbox)
        rows.append(
            [
                float(bool(lx.COMPANY_SUFFIX.search(v))),
                float(_sentence_like(v)),
                float(bool(letters) and all(c.isupper() for c in letters)),
                float(bool(lx.ADDRESS_WORDS.search(v) or lx.POSTCODE.search(v))),
                float(any(c.isdigit() for c in v)),
                float(_in_regions(p.line.page, p.evidence.bbox, regions)),
                float(bool(key) and any(d and (key.startswith(d) or d.startswith(key)) for d in domains)),
                float(len(v) < len(p.line.text.strip()) - 2),
                max(label_vector(v)[:n_cls]),
                float(p.line.text[p.end : p.end + 2].lstrip().startswith(":")),
                *below[at],
                float(
                    any(
                        any(ch.isdigit() for ch in p.line.text[a:b]) for a, b in p.line.segments if a >= p.end
                    )
                ),
            ]
        )
    return rows


def _address_row(p: Proposal) -> list[float]:
    v = p.value
    return [
        float(bool(lx.POSTCODE.search(v) or lx.US_STATE_ZIP.search(v))),
        float(len(lx.ADDRESS_WORDS.findall(v))),
        float(bool(lx.PHONE_LABEL_RE.search(v))),
        float(bool(parsers.find_dates(v))),
        float(bool(lx.COMPANY_SUFFIX.search(p.line.text))),
        float(p.line.index),
        float(v.count(",")),
        float(bool(lx.REGISTRATION_LINE.search(p.line.text) or lx.RECEIPT_NOT_ADDRESS.search(v))),
    ]
