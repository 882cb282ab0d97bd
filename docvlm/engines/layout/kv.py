"""The generic key-value reader: label-value pairs of a page found by geometry.

In: the pages of one document (their words grouped into lines and segments). Out: ``KeyValue``
pairs in reading order, each with the label and value words (so every value has a box), how the
pair was found and a score in [0, 1]. Four layouts are read:

- ``colon``: a label that ends with a colon, and its value right of it on the line, or, when the
  line ends there, the value below it (``Date:`` over ``2024-03-01``);
- ``left``: a short label segment followed by a value segment on the same line (table-less forms
  that use a wide gap instead of a colon);
- ``above``: a row of short labels over a row of values aligned under them;
- ``checkbox``: a ticked or empty box and its caption (value ``yes`` / ``no``); a label whose
  value is a group of boxes takes the caption of the ticked one;
- ``blank``: a label before an underscored blank; the words written on the blank are the value,
  an empty blank gives the value None.

Nothing here knows a document type: the mapping onto schema fields is ``layout.kvmap``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from docvlm.datamodel import BBox, Page, Word
from docvlm.engines.layout import lexicon as lx
from docvlm.geometry import Line, h_overlap, union

_log = logging.getLogger(__name__)

#: a label is at most this many words
MAX_LABEL_WORDS = 6
#: scores of the layouts (how sure the geometry alone makes a pair)
SCORES = {"colon": 0.9, "checkbox": 0.9, "blank": 0.85, "above": 0.65, "left": 0.6}
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")


@dataclass
class KeyValue:
    """One label and its value as printed; ``value`` is None for an empty field."""

    label: str
    value: str | None
    page: int
    label_words: list[Word]
    value_words: list[Word]
    how: str
    score: float
    checked: bool | None = None  # for checkboxes
    options: list[str] = field(default_factory=list)  # the captions of a box group

    @property
    def value_box(self) -> BBox | None:
        return union(w.bbox for w in self.value_words) if self.value_words else None

    @property
    def label_box(self) -> BBox:
        return union(w.bbox for w in self.label_words)

    @property
    def confidence(self) -> float:
        """The layout's score times the words' recognition confidence."""
        words = self.value_words or self.label_words
        return round(self.score * sum(w.conf for w in words) / len(words), 4)


def _box_state(text: str) -> bool | None:
    """True for a ticked box glyph, False for an empty one, None for other text."""
    t = text.strip()
    if t in lx.CHECKED_BOXES:
        return True
    if t in lx.EMPTY_BOXES:
        return False
    return None


def _is_blank(text: str) -> bool:
    return bool(lx.BLANK.match(text.strip()))


def _clean_label(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words).strip().rstrip(":：").strip(" .-–#")


def _label_like(words: Sequence[Word]) -> bool:
    """Short, mostly letters, no sentence: a label rather than a value."""
    if not words or len(words) > MAX_LABEL_WORDS:
        return False
    text = " ".join(w.text for w in words)
    letters = len(_LETTER.findall(text))
    digits = len(_DIGIT.findall(text))
    if letters < 2 or digits > 0 or (text.rstrip().endswith((".", "!", "?")) and not text.endswith("No.")):
        return False
    return _box_state(words[0].text) is None and not any(_is_blank(w.text) for w in words)


def _words_of(text_words: Sequence[Word]) -> str | None:
    text = " ".join(w.text for w in text_words).strip().lstrip(":").strip()
    return text or None


class _PageReader:
    """The pairs of one page; each word is used by one pair at most."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.lines: list[Line] = [ln for ln in page.lines if ln.words]
        self.used: set[int] = set()
        self.pairs: list[KeyValue] = []

    def _free(self, words: Sequence[Word]) -> bool:
        return not any(id(w) in self.used for w in words)

    def _add(self, label: Sequence[Word], value: Sequence[Word], how: str, **kw: object) -> None:
        self.used.update(id(w) for w in (*label, *value))
        text = kw.pop("value_text", None) if "value_text" in kw else _words_of(value)
        self.pairs.append(
            KeyValue(
                label=_clean_label(label),
                value=text,  # type: ignore[arg-type]
                page=self.page.number,
                label_words=list(label),
                value_words=list(value),
                how=how,
                score=SCORES[how],
                **kw,  # type: ignore[arg-type]
            )
        )

    def read(self) -> list[KeyValue]:
        for li, line in enumerate(self.lines):
            self._colons(li, line)
            self._checkboxes(line)
            self._blanks(line)
        for li, line in enumerate(self.lines):
            self._above(li, line)
            self._left(line)
        self.pairs.sort(key=lambda kv: (kv.label_box[1], kv.label_box[0]))
        return self.pairs

    # ---- the layouts ---------------------------------------------------------------------

    def _checkboxes(self, line: Line) -> None:
        """A box glyph and its caption (the words up to the next box or wide gap)."""
        words = line.words
        i = 0
        while i < len(words):
            state = _box_state(words[i].text)
            if state is None or not self._free([words[i]]):
                i += 1
                continue
            j = i + 1
            while j < len(words) and _box_state(words[j].text) is None and not words[j].text.endswith(":"):
                if words[j].x0 - words[j - 1].x1 > 2.5 * max(words[j].height, 1.0):
                    break
                j += 1
            caption = words[i + 1 : j]
            if caption and _LETTER.search(" ".join(w.text for w in caption)):
                self._add(caption, [words[i]], "checkbox", value_text="yes" if state else "no", checked=state)
            i = max(j, i + 1)

    def _colons(self, li: int, line: Line) -> None:
        for seg in line.segments or [line.words]:
            for k, w in enumerate(seg):
                if not (w.text.endswith((":", "：")) or w.text in (":", "：")):
                    continue
                label = seg[: k + 1]
                if not self._free(label) or not _label_like([x for x in label if x.text not in (":", "：")]):
                    continue
                value = [x for x in seg[k + 1 :] if self._free([x])]
                rest = [x for x in line.words if x.x0 >= w.x1 - 0.5 and x is not w and self._free([x])]
                if any(_box_state(x.text) is not None for x in rest[:1] or value[:1]):
                    value = (
                        rest  # a box group runs on past the segment: "Shipping: [x] Express   [ ] Standard"
                    )
                if not value:  # the value is the next segment on the line, or the line below
                    value = self._next_segment(line, seg) or self._below(li, label)
                if value and any(_box_state(x.text) is not None for x in value):
                    self._box_group(label, value)
                elif value and all(_is_blank(x.text) for x in value):
                    self._add(label, [], "blank", value_text=None)
                    self.used.update(id(x) for x in value)
                else:
                    self._add(label, value, "colon")
                break  # one label per segment; a second colon starts a new segment's work

    def _box_group(self, label: Sequence[Word], value: Sequence[Word]) -> None:
        """``Shipping: [x] Express [ ] Standard``: the value is the ticked caption."""
        options: list[tuple[bool, list[Word], Word]] = []
        for w in value:
            state = _box_state(w.text)
            if state is not None:
                options.append((state, [], w))
            elif options:
                options[-1][1].append(w)
        ticked = [o for o in options if o[0] and o[1]]
        captions = [_clean_label(o[1]) for o in options if o[1]]
        self.used.update(id(w) for w in value)
        if len(ticked) == 1:
            self._add(label, ticked[0][1], "checkbox", checked=True, options=captions)
        else:  # none or several ticked: no single value
            self._add(label, [], "checkbox", value_text=None, checked=False, options=captions)

    def _blanks(self, line: Line) -> None:
        """``Name ________`` with or without words written on the blank."""
        for k, w in enumerate(line.words):
            if not _is_blank(w.text) or not self._free([w]):
                continue
            label: list[Word] = []
            for x in reversed(line.words[:k]):
                if not self._free([x]) or _is_blank(x.text) or len(label) >= MAX_LABEL_WORDS:
                    break
                label.insert(0, x)
            if not label or not _label_like(label):
                continue
            # words written over the blank: on this line within its span, or just above it
            on = [
                x
                for x in self.page.words
                if x is not w
                and self._free([x])
                and x not in label
                and h_overlap(x.bbox, w.bbox) > 0.5
                and x.y1 >= w.y0 - 1.5 * w.height
                and x.y0 <= w.y1
                and not _is_blank(x.text)
            ]
            self.used.add(id(w))
            self._add(label, sorted(on, key=lambda x: x.x0), "blank")

    def _next_segment(self, line: Line, seg: Sequence[Word]) -> list[Word]:
        segs = line.segments or [line.words]
        at = next((i for i, s in enumerate(segs) if s is seg), -1)
        if 0 <= at < len(segs) - 1:
            nxt = segs[at + 1]
            if self._free(nxt) and not _colon_label(nxt):
                return list(nxt)
        return []

    def _below(self, li: int, label: Sequence[Word]) -> list[Word]:
        """The run of words on the next line that starts under the label."""
        lb = union(w.bbox for w in label)
        h = max(1.0, lb[3] - lb[1])
        for below in self.lines[li + 1 : li + 2]:
            if below.bbox[1] - lb[3] > 2.0 * h:
                return []
            for seg in below.segments or [below.words]:
                sb = union(w.bbox for w in seg)
                if sb[2] >= lb[0] and sb[0] <= lb[2] + h and self._free(seg) and not _colon_label(seg):
                    return list(seg)
        return []

    def _above(self, li: int, line: Line) -> None:
        """A row of label segments over a row of value segments, each value under its label."""
        segs = line.segments or [line.words]
        if (
            len(segs) < 2
            or li + 1 >= len(self.lines)
            or not all(self._free(s) and _label_like(s) for s in segs)
        ):
            return
        below = self.lines[li + 1]
        h = max(1.0, line.height)
        if below.bbox[1] - line.bbox[3] > 2.0 * h:
            return
        bsegs = [s for s in (below.segments or [below.words]) if self._free(s)]
        if not bsegs or all(_label_like(s) for s in bsegs):
            return
        for seg in segs:
            sb = union(w.bbox for w in seg)
            under = [
                s
                for s in bsegs
                if h_overlap(union(w.bbox for w in s), sb) > 0 or h_overlap(sb, union(w.bbox for w in s)) > 0
            ]
            if len(under) == 1 and self._free(under[0]):
                self._add(seg, under[0], "above")

    def _left(self, line: Line) -> None:
        """``Label    value`` on one line, the two separated by a wide gap."""
        segs = [s for s in (line.segments or [line.words]) if self._free(s)]
        if len(line.segments or []) != 2 or len(segs) != 2:
            return
        label, value = segs
        if _label_like(label) and not _label_like(value):
            self._add(label, value, "left")


def _colon_label(seg: Sequence[Word]) -> bool:
    return any(w.text.endswith((":", "：")) for w in seg[:MAX_LABEL_WORDS])


def read_pairs(pages: Sequence[Page]) -> list[KeyValue]:
    """Every label-value pair of the pages, page by page in reading order."""
    pairs: list[KeyValue] = []
    for page in pages:
        if page.words:
            pairs.extend(_PageReader(page).read())
    _log.debug("kv: %d pairs on %d pages", len(pairs), len(pages))
    return pairs


__all__ = ["KeyValue", "read_pairs"]
