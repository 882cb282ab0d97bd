"""The header band: a header row with the label lines stacked above and under it, merged into columns.

In: a page's lines and the header tests (``HeaderCache``). Out: ``HeaderBand``s, one per header
candidate that has numbers under it: the band's first and last line, and its columns (labels
joined over the stacked lines, "Positions-" + "betrag" de-hyphenated; kinds from the vocabulary).
A stacked word under no column of the main row opens a column of its own ("Prix" over
"unitaire" beside "Quantité").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from docvlm.datamodel import Word
from docvlm.engines.layout.tables.cells import Column, line_chunks
from docvlm.engines.layout.tables.header import HeaderCache, label_kind
from docvlm.engines.layout.tables.text import (
    MONEY_TEXT,
    has_digit,
    line_box,
    line_height,
    word_height,
    word_tokens,
)
from docvlm.engines.layout.tables.vocab import UNKNOWN
from docvlm.geometry import Line

_log = logging.getLogger(__name__)

_BAND_GAP = 0.5  # stacked label lines sit closer than half a line height
_MAX_BAND_LINES = 3  # on each side of the main row
_BODY_LOOKAHEAD = 8  # lines under the band that must hold a row of numbers


@dataclass
class HeaderBand:
    """A header candidate: lines ``first..last`` (inclusive), the main row ``main``, and its columns."""

    first: int
    last: int
    main: int
    columns: list[Column]
    strict: bool = False  # the main row passes the rules' own header test


def _join(label: str, part: str, below: bool) -> str:
    if below:
        return label[:-1] + part if label.endswith("-") and part[:1].islower() else f"{label} {part}"
    return part[:-1] + label if part.endswith("-") and label[:1].islower() else f"{part} {label}"


def merge_band_line(cols: list[Column], line: Line, below: bool, own_header: bool) -> list[Column] | None:
    """``cols`` with the words of a stacked label line joined in; None if ``line`` is no label text.

    ``own_header``: the line reads as a header row itself, so its words need not stand under a column.
    """
    words = line.words
    if len(words) > 12 or any(has_digit(w.text) for w in words):
        return None
    merged = [Column(c.kind, c.x0, c.x1, c.label) for c in cols]
    height = word_height(words)
    hits = 0
    fresh: list[list[Word]] = []  # words under no column, runs of neighbours closer than a word space
    for w in sorted(words, key=lambda w: w.x0):
        target = max(merged, key=lambda c: min(c.x1, w.x1) - max(c.x0, w.x0))
        if min(target.x1, w.x1) - max(target.x0, w.x0) > 0:
            hits += 1
            target.label = _join(target.label, w.text, below)
            target.x0, target.x1 = min(target.x0, w.x0), max(target.x1, w.x1)
        elif fresh and w.x0 - fresh[-1][-1].x1 < 0.6 * height:
            fresh[-1].append(w)
        else:
            fresh.append([w])
    for run in fresh:
        merged.append(Column(UNKNOWN, run[0].x0, run[-1].x1, " ".join(w.text for w in run)))
    merged.sort(key=lambda c: c.x0)
    if (
        hits == 0
        and not own_header
        and label_kind([t for w in words for t in word_tokens(w.text)]) == UNKNOWN
    ):
        return None  # nothing of it stands over or under a column, and it names none: another text
    for c in merged:
        kind = label_kind(word_tokens(re.sub(r"-\s+", "", c.label)))
        c.kind = kind if kind != UNKNOWN else c.kind
    return merged


def _stacked(lines: Sequence[Line], i: int, j: int, height: float) -> bool:
    """Whether lines ``i`` and ``j`` (i above j) are set tight, as the lines of one header label."""
    return line_box(lines[j])[1] - line_box(lines[i])[3] < _BAND_GAP * height


def band_at(lines: Sequence[Line], i: int, cols: list[Column], headers: HeaderCache) -> HeaderBand:
    """Grow the header row ``lines[i]`` by the label lines stacked tight above and under it."""
    height = line_height(lines[i])
    first = last = i
    for _ in range(_MAX_BAND_LINES):
        if first == 0 or not _stacked(lines, first - 1, first, height):
            break
        own = headers.candidate(lines[first - 1]) is not None
        merged = merge_band_line(cols, lines[first - 1], below=False, own_header=own)
        if merged is None:
            break
        cols, first = merged, first - 1
    for _ in range(_MAX_BAND_LINES):
        if last + 1 >= len(lines) or not _stacked(lines, last, last + 1, height):
            break
        own = headers.candidate(lines[last + 1]) is not None
        merged = merge_band_line(cols, lines[last + 1], below=True, own_header=own)
        if merged is None:
            break
        cols, last = merged, last + 1
    return HeaderBand(first=first, last=last, main=i, columns=cols)


def _numbers_follow(lines: Sequence[Line], after: int) -> bool:
    """Whether a row of numbers (two numeric cells, or one money cell) comes within a few lines under ``after``,
    or the band stands at the foot of its page (the body starts on the next one)."""
    if len(lines) - (after + 1) < 2:
        return True
    for line in lines[after + 1 : after + 1 + _BODY_LOOKAHEAD]:
        chunks = line_chunks(line)
        numeric = [c for c in chunks if c.numeric]
        if len(numeric) >= 2 or (len(chunks) >= 2 and any(MONEY_TEXT.search(c.text) for c in numeric)):
            return True
    return False


def find_bands(lines: Sequence[Line], headers: HeaderCache, start: int = 0) -> list[HeaderBand]:
    """Every header band on the page from line ``start``, top to bottom, that has numbers under it.

    Of header candidates stacked tight on each other, the one with the most column terms is the
    main row; the others are merged into it.
    """
    bands: list[HeaderBand] = []
    i = start
    while i < len(lines):
        if headers.candidate(lines[i]) is None or _labelled_text(lines[i], headers):
            i += 1
            continue
        # the run of candidates stacked on this one: take the strongest as the main row
        run = [i]
        while run[-1] + 1 < len(lines) and _stacked(lines, run[-1], run[-1] + 1, line_height(lines[i])):
            if headers.candidate(lines[run[-1] + 1]) is None:
                break
            run.append(run[-1] + 1)
        main = max(run, key=lambda k: (_known(headers.candidate(lines[k]) or []), -k))
        cols = headers.candidate(lines[main]) or []
        band = band_at(lines, main, cols, headers)
        band.strict = headers.columns(lines[main]) is not None
        if _numbers_follow(lines, band.last):
            bands.append(band)
            i = band.last + 1
        else:
            i = run[-1] + 1
    return bands


def _labelled_text(line: Line, headers: HeaderCache) -> bool:
    """A "Label: text" line ("Line Notes: First item line note", "Invoice Date: Due Date:") is no header row,
    unless the rules read it as one."""
    return any(w.text.endswith(":") for w in line.words) and headers.columns(line) is None


def _known(cols: Sequence[Column]) -> int:
    return sum(1 for c in cols if c.kind != UNKNOWN)
