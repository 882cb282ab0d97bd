"""Document splitting: invoice boundaries inside one file, one record per invoice, and --split never."""

from __future__ import annotations

from pathlib import Path

import pytest

from docvlm.ingest import open_document
from docvlm.ocr import OcrOptions
from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.split import SplitOptions, find_parts, page_signals
from tests.helpers.pages import make_pdf

NO_OCR = OcrOptions(backend="none")
Lines = list[tuple[float, float, str]]


def _header(vendor: str, street: str, number: str, date: str, customer: str) -> Lines:
    return [
        (50, 60, vendor),
        (50, 74, street),
        (350, 60, "INVOICE"),
        (350, 120, f"Invoice number: {number}"),
        (350, 134, f"Invoice date: {date}"),
        (50, 120, "Bill to:"),
        (50, 134, customer),
        (50, 200, "Description"),
        (300, 200, "Qty"),
        (380, 200, "Unit price"),
        (480, 200, "Amount"),
    ]


def _items(rows: list[tuple[str, str, str, str]], y0: float = 220) -> Lines:
    out: Lines = []
    for i, (desc, qty, price, amount) in enumerate(rows):
        y = y0 + 16 * i
        out += [(50, y, desc), (300, y, qty), (380, y, price), (480, y, amount)]
    return out


def _totals(tax: str, total: str, y: float = 420) -> Lines:
    """VAT and total, and no subtotal (so the line-sum rule has only the total to go by)."""
    return [(380, y, "VAT"), (480, y, tax), (380, y + 16, "Total"), (480, y + 16, total)]


def two_page_invoice(number: str, counters: bool = True) -> list[Lines]:
    """A two-page invoice of one seller: items over both pages, the total on the second."""
    head = _header(
        "Nordlicht Werkzeuge GmbH", "Hafenstrasse 12, 20457 Hamburg", number, "05.03.2024", "Kunde AG"
    )
    p1 = head + _items([("Wrench set", "2", "50.00", "100.00"), ("Hammer", "1", "25.00", "25.00")])
    p2 = _items([("Pliers", "3", "10.00", "30.00")], y0=100) + _totals("10.00", "165.00", y=200)
    if counters:
        p1.append((260, 800, "Page 1 of 2"))
        p2.append((260, 800, "Page 2 of 2"))
    return [p1, p2]


def one_page_invoice(
    number: str, vendor: str = "Harbor Supply Co", street: str = "9 Dock Road, Leith"
) -> Lines:
    head = _header(vendor, street, number, "2024-04-01", "Blue Finch Ltd")
    return head + _items([("Rope 20 m", "4", "12.50", "50.00")]) + _totals("5.00", "55.00")


def _pages(path: Path) -> list:
    doc = open_document(path, ocr=NO_OCR)
    try:
        return list(doc.pages())
    finally:
        doc.close()


def _ranges(pages: list) -> list[tuple[int, int]]:
    return [(pages[p.start].number, pages[p.end - 1].number) for p in find_parts(pages)]


def test_page_signals_read_counter_number_header_and_totals(tmp_path: Path) -> None:
    pages = _pages(make_pdf(tmp_path / "a.pdf", two_page_invoice("RE-1")))
    first, second = (page_signals(p) for p in pages)
    assert first.counter == (1, 2) and second.counter == (2, 2)
    assert first.invoice_number == "RE-1" and second.invoice_number is None
    assert first.header and not first.totals
    assert second.totals and not second.header
    assert {"nordlicht", "werkzeuge", "hafenstrasse"} <= first.names


def test_boundaries_in_a_bundle_of_three_invoices(tmp_path: Path) -> None:
    bundle = [*two_page_invoice("RE-1"), one_page_invoice("B-77"), *two_page_invoice("RE-2")]
    pages = _pages(make_pdf(tmp_path / "bundle.pdf", bundle))
    assert _ranges(pages) == [(1, 2), (3, 3), (4, 5)]
    reasons = [p.reason for p in find_parts(pages)]
    assert reasons[0] == "first page" and all(reasons[1:])


def test_each_signal_alone_splits(tmp_path: Path) -> None:
    # no counters: the invoice number changes between two invoices of one seller
    same_seller = [*two_page_invoice("RE-1", counters=False), *two_page_invoice("RE-2", counters=False)]
    assert _ranges(_pages(make_pdf(tmp_path / "n.pdf", same_seller))) == [(1, 2), (3, 4)]
    # a duplicate copy (same seller, same number): a totals block followed by a new header
    copies = [one_page_invoice("B-77"), one_page_invoice("B-77")]
    pages = _pages(make_pdf(tmp_path / "c.pdf", copies))
    assert _ranges(pages) == [(1, 1), (2, 2)]
    assert "totals" in find_parts(pages)[1].reason


def test_continuation_pages_stay_together(tmp_path: Path) -> None:
    # page 2 repeats the letterhead and the number: one invoice; a blank page stays with it
    p1, p2 = two_page_invoice("RE-9", counters=False)
    head = _header(
        "Nordlicht Werkzeuge GmbH", "Hafenstrasse 12, 20457 Hamburg", "RE-9", "05.03.2024", "Kunde AG"
    )
    pages = _pages(make_pdf(tmp_path / "m.pdf", [p1, head + p2[4:], []]))
    assert _ranges(pages) == [(1, 3)]
    # a counter that goes on wins over a header on the next page
    q1, q2 = two_page_invoice("RE-9")
    other = _header("Another Name Entirely", "Elsewhere Lane 1", "RE-9", "05.03.2024", "Kunde AG")
    assert _ranges(_pages(make_pdf(tmp_path / "k.pdf", [q1, other + q2]))) == [(1, 2)]


@pytest.fixture()
def bundle_pdf(tmp_path: Path) -> Path:
    return make_pdf(
        tmp_path / "bundle.pdf",
        [*two_page_invoice("RE-1"), one_page_invoice("B-77"), *two_page_invoice("RE-2")],
    )


def test_pipeline_gives_one_record_per_invoice(bundle_pdf: Path) -> None:
    pipe = Pipeline(PipelineOptions(ocr=NO_OCR))
    records = [ex.to_record() for ex in pipe.run([bundle_pdf])]
    assert [r["source"] for r in records] == [str(bundle_pdf)] * 3
    assert [(r["part"], r["parts"], r["page_range"], r["pages"]) for r in records] == [
        (1, 3, [1, 2], 2),
        (2, 3, [3, 3], 1),
        (3, 3, [4, 5], 2),
    ]
    assert [r["data"]["invoice_number"] for r in records] == ["RE-1", "B-77", "RE-2"]
    assert [r["data"]["total"] for r in records] == ["165.00", "55.00", "165.00"]
    assert not any(w["code"] == "line_sum_mismatch" for r in records for w in r["warnings"])
    for r in records:  # every value's evidence is on a page of its own part
        first, last = r["page_range"]
        assert r["evidence"] and all(first <= e["page"] <= last for e in r["evidence"].values())
    assert len({r["sha256"] for r in records}) == 1
    assert pipe.extract(bundle_pdf).part == 1 and len(pipe.extract_all(bundle_pdf)) == 3


def test_split_never_keeps_one_record_and_the_line_sum_rule_catches_it(bundle_pdf: Path) -> None:
    pipe = Pipeline(PipelineOptions(ocr=NO_OCR, split=SplitOptions(mode="never")))
    (rec,) = [ex.to_record() for ex in pipe.run([bundle_pdf])]
    assert (rec["part"], rec["parts"], rec["page_range"], rec["pages"]) == (1, 1, [1, 5], 5)
    # the merged record has the items of all three invoices against one total, and no subtotal
    assert rec["data"]["subtotal"] is None
    codes = {w["code"]: w for w in rec["warnings"]}
    assert "line_sum_mismatch" in codes and "far more than the total" in codes["line_sum_mismatch"]["message"]


def test_single_page_files_get_a_page_range(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "one.pdf", [one_page_invoice("B-1")])
    rec = Pipeline(PipelineOptions(ocr=NO_OCR)).extract(pdf).to_record()
    assert (rec["part"], rec["parts"], rec["page_range"]) == (1, 1, [1, 1])
