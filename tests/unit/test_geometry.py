"""Line grouping: words into visual lines, and lines into segments."""

from __future__ import annotations

from docvlm.datamodel import Word
from docvlm.geometry import group_lines


def _row(texts: list[str], x: float, y0: float, y1: float, line: int = -1, slope: float = 0.0) -> list[Word]:
    out, cx = [], x
    for i, t in enumerate(texts):
        w = 12.0 * len(t)
        out.append(Word(t, (cx, y0 + i * slope, cx + w, y1 + i * slope), line=line))
        cx += w + 12
    return out


def test_a_detected_line_is_not_split_between_two_rows_of_smaller_type() -> None:
    # the layout of a scanned invoice: a larger, slightly sloped line to the right sits between
    # the label row and the first row of the block under it, overlapping both
    label = _row(["Bill", "to", "Address:"], 170, 669, 725, line=0)
    big = _row(["TOTAL", "AMOUNT", "DUE", "ON", "August", "3,", "2014"], 1260, 694, 756, line=1, slope=1.0)
    name = _row(["ATTN:", "iViveLabs", "Limited"], 178, 721, 783, line=2)
    lines = group_lines(label + big + name)
    holding = [ln for ln in lines if any(w in ln.words for w in big)]
    assert len(holding) == 1 and all(w in holding[0].words for w in big)
    assert [w.text for w in lines[-1].words] == ["ATTN:", "iViveLabs", "Limited"]


def test_words_without_line_ids_are_placed_one_by_one() -> None:
    # the same words without ids: each joins the row it overlaps most, so the big line is split
    label = _row(["Bill", "to", "Address:"], 170, 669, 725)
    big = _row(["TOTAL", "AMOUNT", "DUE", "ON", "August", "3,", "2014"], 1260, 694, 756, slope=8.0)
    name = _row(["ATTN:", "iViveLabs", "Limited"], 178, 721, 783)
    lines = group_lines(label + big + name)
    assert len([ln for ln in lines if any(w in ln.words for w in big)]) >= 2


def test_an_id_shared_by_words_on_different_rows_is_not_trusted() -> None:
    # a producer that numbers lines per block, not per page, gives two rows the same id
    top = _row(["Nordlicht", "GmbH"], 50, 49, 63, line=0)
    other = _row(["Invoice", "No:", "7"], 350, 109, 123, line=0)
    lines = group_lines(top + other)
    assert [ln.text for ln in lines] == ["Nordlicht GmbH", "Invoice No: 7"]
