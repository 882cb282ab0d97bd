"""The header row: which line names the columns, and what each column label says.

In: text lines of a page. Out: for a header line, its ``Column`` list (kind from the vocabulary,
x-extent of the label); for a page, where the table body starts. The vocabulary is looked up
through ``PHRASE_INDEX`` (first token -> terms), so a line is read in one pass over its tokens,
and ``HeaderCache`` answers each line once per document however often the rules ask.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence

from docvlm.datamodel import Word
from docvlm.engines.layout.tables.cells import Column, Layout
from docvlm.engines.layout.tables.text import (
    has_digit,
    is_amount_word,
    line_box,
    line_height,
    number_word,
    word_height,
    word_tokens,
)
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    DESCRIPTION,
    LABEL_UNIT_TOKENS,
    MODIFIERS,
    OTHER,
    PHRASE_INDEX,
    PRODUCT_CODE,
    QUANTITY,
    STRONG_DESCRIPTION,
    TAX_RATE,
    UNIT,
    UNIT_PRICE,
    UNKNOWN,
    compound_kind,
)
from docvlm.geometry import Line

_log = logging.getLogger(__name__)

PRICED = frozenset({QUANTITY, UNIT_PRICE, AMOUNT})


def _match_at(toks: Sequence[str], k: int) -> tuple[int, str] | None:
    """The longest vocabulary term starting at token ``k``: (its length, its kind); a compound word counts as one."""
    for phrase, kind in PHRASE_INDEX.get(toks[k], ()):
        n = len(phrase)
        if tuple(toks[k : k + n]) == phrase:
            return n, kind
    compound = compound_kind(toks[k])
    return (1, compound) if compound is not None else None


def label_kind(toks: Sequence[str]) -> str:
    """Kind of a whole column label ("unit price" -> unit_price); the longest matching term wins."""
    best, best_len = UNKNOWN, 0
    for i in range(len(toks)):
        m = _match_at(toks, i)
        if m is not None and m[0] > best_len:
            best, best_len = m[1], m[0]
    return best


def header_labels(words: Sequence[Word], height: float) -> list[Column]:
    """Split the words of a candidate header line into column labels by the term lexicon."""
    ws = sorted(words, key=lambda w: w.x0)
    flat: list[tuple[str, int]] = [(tok, i) for i, w in enumerate(ws) for tok in word_tokens(w.text)]
    toks = [t for t, _ in flat]
    labels: list[tuple[list[int], str]] = []  # (word indices, kind)
    k = 0
    glue_next = False
    while k < len(flat):
        tok, wi = flat[k]
        if labels and (wi in labels[-1][0] or glue_next):
            # the rest of a word already in the label, or the word after a modifier
            if wi not in labels[-1][0]:
                labels[-1][0].append(wi)
            glue_next = tok in MODIFIERS
            k += 1
            continue
        match = _match_at(toks, k)
        if match is not None:
            n, kind = match
            labels.append((sorted({i for _, i in flat[k : k + n]}), kind))
            glue_next = False
            k += n
            continue
        gap = ws[wi].x0 - ws[labels[-1][0][-1]].x1 if labels else float("inf")
        # "Prijs incl. BTW", "Amount (EUR)": modifiers and currency words stay with the label before them
        if labels and (
            (gap < 1.5 * height and (tok in MODIFIERS or tok in LABEL_UNIT_TOKENS))
            or (gap < 0.6 * height and labels[-1][1] == UNKNOWN)
        ):
            labels[-1][0].append(wi)
            glue_next = tok in MODIFIERS
        else:
            labels.append(([wi], UNKNOWN))
            glue_next = False
        k += 1
    # words without any token ("€", "(", "-") join the label to their left
    covered = {i for idx, _ in labels for i in idx}
    for i in range(len(ws)):
        if i not in covered and labels:
            target = max(
                (lab for lab in labels if lab[0][0] < i), key=lambda lab: lab[0][0], default=labels[0]
            )
            target[0].append(i)
    cols = []
    for idx, kind in labels:
        lw = [ws[i] for i in sorted(set(idx))]
        text = " ".join(w.text for w in lw)
        cols.append(Column(kind=kind, x0=min(w.x0 for w in lw), x1=max(w.x1 for w in lw), label=text))
    return sorted(cols, key=lambda c: c.x0)


def _may_be_header(words: Sequence[Word]) -> bool:
    """Cheap test before reading the labels: a header has 2-20 words, no amounts, and two column terms."""
    if len(words) < 2 or len(words) > 20:
        return False
    # two column labels at least: two words that start a term (or are compounds of one)
    starts = 0
    for w in words:
        if any(tok in PHRASE_INDEX or compound_kind(tok) for tok in word_tokens(w.text)):
            starts += 1
            if starts >= 2:
                break
    if starts < 2:
        return False
    return not any(is_amount_word(w.text) for w in words)  # headers carry no amounts


def is_header_line(line: Line) -> list[Column] | None:
    """Columns of ``line`` when it reads as a line-item table header, else None."""
    cols = candidate_columns(line)
    if cols is None:
        return None
    kinds = {c.kind for c in cols}
    priced = kinds & PRICED
    if DESCRIPTION not in kinds and len(priced) >= 2 and cols[0].kind == UNKNOWN and len(cols) >= 3:
        # "Leistung | Menge | Preis | Betrag" with a description word the lexicon lacks: the first column
        cols[0].kind = DESCRIPTION
        kinds.add(DESCRIPTION)
    if DESCRIPTION not in kinds or not priced:
        return None
    known = sum(len(c.label.split()) for c in cols if c.kind != UNKNOWN)
    if known < 0.6 * len(line.words):
        return None
    return resolve_columns(cols)


# the widest gap between a header's labels, in word heights, at least: a table's columns, not prose.
# A text layer's word box is 1.15-1.4 times the type size, and an HTML table padded 4-8 px sets its
# labels 1-1.5 words' heights apart; prose words sit a fifth of a height apart
_HEADER_GAP = 1.0


def candidate_columns(line: Line) -> list[Column] | None:
    """The labels of ``line`` when it may be a header row: two column terms or more, spread over the width.

    Looser than ``is_header_line`` (no description column needed, more unknown words allowed): the
    candidates a trained column classifier chooses among.
    """
    words = line.words
    if not _may_be_header(words):
        return None
    height = word_height(words)
    cols = header_labels(words, height)
    known = [c for c in cols if c.kind != UNKNOWN]
    if len(known) < 2 or sum(len(c.label.split()) for c in known) < 0.5 * len(words):
        return None
    # a header spreads over the page: at least one column gap, not prose ("product price list")
    gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(cols)]
    if not gaps or max(gaps) < _HEADER_GAP * height:
        return None
    return cols


class HeaderCache:
    """The header tests answered once per line of a document (the rules ask again for the same lines)."""

    def __init__(self) -> None:
        self._strict: dict[int, tuple[Line, list[Column] | None]] = {}
        self._loose: dict[int, tuple[Line, list[Column] | None]] = {}

    def columns(self, line: Line) -> list[Column] | None:
        """``is_header_line(line)``."""
        return _cached(self._strict, line, is_header_line)

    def candidate(self, line: Line) -> list[Column] | None:
        """``candidate_columns(line)``."""
        return _cached(self._loose, line, candidate_columns)


def _cached(
    memo: dict[int, tuple[Line, list[Column] | None]], line: Line, test: Callable[[Line], list[Column] | None]
) -> list[Column] | None:
    hit = memo.get(id(line))
    if hit is None or hit[0] is not line:
        hit = (line, test(line))
        memo[id(line)] = hit
    cols = hit[1]
    # callers may relabel columns: each gets its own copies
    return None if cols is None else [Column(c.kind, c.x0, c.x1, c.label) for c in cols]


def merge_header_line(cols: list[Column], line: Line, below: bool) -> list[Column] | None:
    """Merge a second header line ("Unit" over "Price") into ``cols``; None if it is no header text.

    ``below`` says whether ``line`` is printed under the header line (its words go after the label).
    """
    if any(has_digit(w.text) for w in line.words):
        return None
    toks = [t for w in line.words for t in word_tokens(w.text)]
    if not toks or label_kind(toks) == UNKNOWN:
        return None
    merged = [Column(c.kind, c.x0, c.x1, c.label) for c in cols]
    for w in sorted(line.words, key=lambda w: w.x0):
        target = max(merged, key=lambda c: min(c.x1, w.x1) - max(c.x0, w.x0))
        if min(target.x1, w.x1) - max(target.x0, w.x0) <= 0:
            return None  # a word under no column: not the same header
        target.label = f"{target.label} {w.text}" if below else f"{w.text} {target.label}"
        target.x0, target.x1 = min(target.x0, w.x0), max(target.x1, w.x1)
    for c in merged:
        kind = label_kind(word_tokens(c.label))
        if kind != UNKNOWN:
            c.kind = kind
    return resolve_columns(merged)


def resolve_columns(cols: list[Column], body: Sequence[Line] = ()) -> list[Column]:
    """Settle ambiguous labels: one description, one amount (the rightmost money column).

    ``body`` are the lines under the header, used to tell which of two text columns holds the
    description.
    """
    cols = [Column(c.kind, c.x0, c.x1, c.label) for c in cols]
    descs = [c for c in cols if c.kind == DESCRIPTION]
    if len(descs) > 1:
        strong = [c for c in descs if set(word_tokens(c.label)) & STRONG_DESCRIPTION]
        if strong:
            for c in descs:
                if c is not strong[0]:
                    c.kind = PRODUCT_CODE  # "Item | Description": the other one is the item number
        elif body:
            # "Product | Title": the column with the most text under it holds the description
            layout = Layout(cols)
            chars = {id(c): 0 for c in descs}
            for line in body:
                for w in line.words:
                    col = layout.zone_of(w.x0 + 0.5)
                    if id(col) in chars and not number_word(w):
                        chars[id(col)] += len(w.text)
            keep = max(descs, key=lambda c: chars[id(c)])
            for c in descs:
                if c is not keep:
                    c.kind = OTHER
    amounts = [c for c in cols if c.kind == AMOUNT]
    if not amounts:
        prices = [c for c in cols if c.kind == UNIT_PRICE]
        if len(prices) > 1:
            prices[-1].kind = AMOUNT  # "Price per piece | Price incl. VAT": the last one is the line total
    elif len(amounts) > 1:
        for c in amounts[:-1]:
            c.kind = OTHER
    for kind in (QUANTITY, UNIT_PRICE, TAX_RATE, UNIT, PRODUCT_CODE):
        same = [c for c in cols if c.kind == kind]
        for c in same[1:]:
            c.kind = OTHER
    return cols


def find_start(
    lines: Sequence[Line], pos: int, carry: Layout | None, headers: HeaderCache
) -> tuple[int, Layout | None, str, bool, int]:
    """Where the table body starts on this page: after a header, or at the top with carried columns.

    Returns (first body line, columns, mode, whether the first row must be a strong item, header line index;
    -1 when there is no header on the page).
    """
    for i in range(pos, len(lines)):
        cols = headers.columns(lines[i])
        if cols is None:
            continue
        start = i + 1
        # a header may run over two lines ("Unit" over "Price")
        if start < len(lines):
            nxt = lines[start]
            if line_box(nxt)[1] - line_box(lines[i])[3] < 0.5 * line_height(lines[i]):
                merged = merge_header_line(cols, nxt, below=True)
                if merged is not None:
                    cols, start = merged, start + 1
        if i > 0:
            above = lines[i - 1]
            if line_box(lines[i])[1] - line_box(above)[3] < 0.5 * line_height(lines[i]):
                merged = merge_header_line(cols, above, below=False)
                if merged is not None:
                    cols = merged
        if sum(1 for c in cols if c.kind == DESCRIPTION) > 1:
            cols = resolve_columns(cols, lines[start : start + 8])
        return start, Layout(cols), "header", False, i
    if carry is not None and pos == 0:
        return 0, carry, "continued", True, -1
    return len(lines), None, "header", False, -1
