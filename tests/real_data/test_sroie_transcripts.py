"""The receipt rules on the SROIE human transcripts: the layout engine with perfect-as-labelled reading.

These runs take no OCR, so they check the rules alone: which lines are the merchant, its address,
the date and the total. The bars are what the rules reach today; the keys that disagree with their
own transcripts are listed by ``python evaluation/sroie_transcripts.py``.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from evaluation.readers import read_gold
from evaluation.score import score_extraction
from evaluation.sroie_transcripts import main, transcript_page, transcript_records


def test_transcript_page_keeps_every_line_as_words_inside_its_box(shared_data: Path) -> None:
    root = shared_data / "receipts/sroie"
    page = transcript_page(root / "box/000.csv", root / "img/000.jpg")
    with (root / "box/000.csv").open(encoding="utf-8", errors="replace", newline="") as fh:
        rows = [r for r in csv.reader(fh) if len(r) >= 9]
    assert page.unit == "px" and page.width > 0 and page.height > 0
    for i, row in enumerate(rows):
        line = [w for w in page.words if w.line == i]
        assert " ".join(w.text for w in line) == " ".join(",".join(row[8:]).split())
        xs, ys = [float(v) for v in row[0:8:2]], [float(v) for v in row[1:8:2]]
        for w in line:
            assert min(xs) - 0.5 <= w.bbox[0] < w.bbox[2] <= max(xs) + 0.5
            assert min(ys) - 0.5 <= w.bbox[1] < w.bbox[3] <= max(ys) + 0.5
        # words follow each other from left to right
        assert all(a.bbox[2] <= b.bbox[0] + 0.5 for a, b in itertools.pairwise(line))


def test_receipt_rules_on_the_transcripts(shared_data: Path) -> None:
    root = shared_data / "receipts/sroie"
    score = score_extraction(transcript_records(root), read_gold(root / "key", "sroie"))
    acc = {f: s.accuracy for f, s in score.per_field.items()}
    assert score.per_field["vendor.address"].n == 20
    # 8 of the 20 address keys differ from the transcript of the same receipt (typos kept in one
    # or the other, a comma or space more or less), so 12/20 is every address the transcript allows
    assert acc["vendor.address"] >= 0.6
    assert acc["invoice_date"] >= 0.95
    assert acc["total"] >= 0.9
    assert acc["vendor.name"] >= 0.85


def test_report_lists_the_address_misses(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(shared_data)]) == 0
    out = capsys.readouterr().out
    table = {line.split()[0]: line.split()[1:] for line in out.split("\n\n")[0].splitlines()[1:]}
    assert table["vendor.address"] == ["60%", "12/20"]
    # every miss prints the key and the transcript answer, marked wrong
    keys = [line for line in out.splitlines() if "  key:" in line]
    answers = [line for line in out.splitlines() if "transcripts:" in line]
    assert len(keys) == len(answers) == 8
    assert all(line.endswith("[--]") for line in answers)
