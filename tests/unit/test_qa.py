"""Question answering: question -> field mapping in five languages, printed-span answers with
evidence from the engine given, key-value lookup by geometry, and unanswerable questions."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Evidence, Page, Word
from docvlm.engines.base import BaseEngine
from docvlm.engines.layout import LayoutEngine
from docvlm.engines.layout.answers import answer_question, printed_span
from docvlm.engines.layout.questions import map_question, question_subject
from schemas.docvqa import Answer

CHAR_W, LINE_H = 7.0, 12.0


def make_page(lines: Sequence[tuple[float, float, str]], number: int = 1) -> Page:
    """A page from (x, y, text) runs; each whitespace-separated token becomes a word."""
    words: list[Word] = []
    for x, y, text in lines:
        cx = x
        for tok in text.split():
            w = len(tok) * CHAR_W
            words.append(Word(text=tok, bbox=(cx, y, cx + w, y + LINE_H), page=number))
            cx += w + CHAR_W
    return Page(number=number, width=600, height=800, unit="px", words=words)


RECEIPT = [
    (150, 20, "KEDAI RUNCIT MAJU SDN BHD"),
    (140, 36, "NO 12, JALAN BESAR, 81100 JOHOR"),
    (20, 70, "Cashier: AMINAH"),
    (20, 86, "Date: 25/12/2018 10:15"),
    (20, 102, "Member ID 88213"),
    (20, 140, "MILO 2X 4.50"),
    (400, 140, "9.00"),
    (20, 180, "TOTAL"),
    (400, 180, "RM 9.00"),
    (20, 220, "Served by"),
    (20, 236, "ROSLAN"),
]


class CountingEngine(BaseEngine):
    """A test double: returns a fixed engine output and counts how often it ran."""

    name = "counting"

    def __init__(self, output: EngineOutput) -> None:
        self.output = output
        self.calls = 0

    def extract(self, pages: Sequence[Page], schema: type[BaseModel]) -> EngineOutput:
        self.calls += 1
        return self.output

    def answer(self, pages: Sequence[Page], question: str) -> Answer:  # pragma: no cover - unused
        raise NotImplementedError


def _receipt_output() -> EngineOutput:
    return EngineOutput(
        data={
            "total": "9.00",
            "invoice_date": "2018-12-25",
            "vendor": {"name": "KEDAI RUNCIT MAJU SDN BHD", "address": None},
        },
        evidence={
            "total": Evidence(page=1, bbox=(400, 180, 449, 192), text="RM 9.00", score=1.0),
            "invoice_date": Evidence(page=1, bbox=(62, 86, 132, 98), text="25/12/2018 10:15", score=1.0),
            "vendor.name": Evidence(
                page=1, bbox=(150, 20, 330, 32), text="KEDAI RUNCIT MAJU SDN BHD", score=0.9
            ),
        },
        confidence={"total": 0.9, "invoice_date": 0.8, "vendor.name": 0.7},
    )


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("What is the total?", "total"),
        ("How much was paid?", "total"),
        ("Wie hoch ist der Gesamtbetrag?", "total"),
        ("Quelle est la date?", "invoice_date"),
        ("Wat is het factuurnummer?", "invoice_number"),
        ("¿Cuál es el total?", "total"),
        ("Who is the vendor?", "vendor.name"),
        ("Who is the merchant?", "vendor.name"),
        ("Which company issued this receipt?", "vendor.name"),
        ("What is the address?", "vendor.address"),
        ("Where is the company located?", "vendor.address"),
        ("What is the merchant's address?", "vendor.address"),
        ("What is the due date?", "due_date"),
        ("Quelle est la date d'échéance ?", "due_date"),
        ("¿Cuál es el número de factura?", "invoice_number"),
        ("Wie hoch ist die MwSt?", "tax_total"),
        ("What is the totl amount?", "total"),  # fuzzy: a typo still maps
        ("When was this receipt issued?", "invoice_date"),
        ("How much did the customer pay?", "total"),
        ("How much tax was charged?", "tax_total"),
        ("What is the store's location?", "vendor.address"),
        ("When is the payment due?", "due_date"),
        ("Wann wurde die Rechnung vom Lieferanten ausgestellt?", "invoice_date"),
    ],
)
def test_map_question(question: str, field: str) -> None:
    m = map_question(question)
    assert m is not None and m.field == field


@pytest.mark.parametrize(
    "question",
    ["What is the captain's name?", "What is the flight number?", "Who is the driver?", "Describe it"],
)
def test_map_question_none(question: str) -> None:
    assert map_question(question) is None


def test_question_subject() -> None:
    assert question_subject("What is the captain's name?") == "captain name"
    assert question_subject("Wie hoch ist der Gesamtbetrag?") == "gesamtbetrag"


def test_printed_span() -> None:
    assert printed_span("invoice_date", "25/12/2018 10:15", "2018-12-25") == "25/12/2018"
    assert printed_span("invoice_date", "Date: 12/03/18", None) == "12/03/18"
    assert printed_span("total", "RM 9.00", "9.00") == "9.00"
    assert (
        printed_span("total", "TOTAL AMOUNT: $8.20", "8.20") == "$8.20"
    )  # a glued symbol is printed with it
    assert printed_span("total", "Total 1.234,50 EUR", "1234.50") == "1.234,50"
    assert printed_span("vendor.name", "  ACME   Ltd ") == "ACME Ltd"
    assert printed_span("vendor.tax_id", "TVA: FR12402917553", "fr12402917553") == "FR12402917553"
    assert printed_span("vendor.name", "ACME Ltd", "Other") == "ACME Ltd"


def test_field_answers_use_printed_evidence_of_the_engine_given() -> None:
    page = make_page(RECEIPT)
    pages = [page]
    engine = CountingEngine(_receipt_output())
    total = answer_question(pages, "What is the total?", engine=engine)
    assert total.answer == "9.00" and total.field == "total"
    assert total.page == 1 and total.bbox == [400, 180, 449, 192]
    assert 0 < total.confidence <= 1
    date = answer_question(pages, "Quelle est la date?", engine=engine)
    assert date.answer == "25/12/2018"  # as printed, not the ISO value
    name = answer_question(pages, "Who is the merchant?", engine=engine)
    assert name.answer == "KEDAI RUNCIT MAJU SDN BHD"
    assert engine.calls == 3  # no cache: each field question asks the engine it was given


def test_field_missing_from_engine_falls_back_to_label_lookup() -> None:
    engine = CountingEngine(EngineOutput(data={}))
    ans = answer_question([make_page(RECEIPT)], "What is the date?", engine=engine)
    assert ans.answer == "25/12/2018"
    assert ans.page == 1 and ans.bbox is not None and ans.bbox[0] >= 62


def test_key_value_lookup_right_and_below() -> None:
    engine = CountingEngine(EngineOutput(data={}))
    pages = [make_page(RECEIPT)]
    right = answer_question(pages, "Who is the cashier?", engine=engine)
    assert right.answer == "AMINAH" and right.field is None and right.bbox is not None
    member = answer_question(pages, "What is the member ID?", engine=engine)
    assert member.answer == "88213"
    below = answer_question(pages, "Who was it served by?", engine=engine)
    assert below.answer == "ROSLAN"
    assert below.bbox is not None and below.bbox[1] == 236


@pytest.mark.parametrize(
    "question",
    [
        "What is the captain's name?",
        "What is the flight number?",
        "Who is the driver?",
        "What is the IBAN?",
        "What is the due date?",
        "What is the customer's VAT number?",
        "Wat is het factuurnummer?",
        "",
    ],
)
def test_unanswerable_questions_return_empty(question: str) -> None:
    engine = CountingEngine(_receipt_output())
    ans = answer_question([make_page(RECEIPT)], question, engine=engine)
    assert ans.answer is None
    assert ans.bbox is None and ans.page is None


def test_value_without_evidence_not_on_page_is_not_answered() -> None:
    # an engine value that cannot be found on the page must not be answered (no guessing)
    out = EngineOutput(data={"invoice_number": "ZZ-999"})
    ans = answer_question([make_page(RECEIPT)], "What is the invoice number?", engine=CountingEngine(out))
    assert ans.answer is None


def test_empty_pages() -> None:
    engine = CountingEngine(_receipt_output())
    assert answer_question([make_page([])], "What is the total?", engine=engine).answer is None
    assert engine.calls == 0


def test_with_real_layout_engine() -> None:
    engine = LayoutEngine()
    pages = [make_page(RECEIPT)]
    assert engine.answer(pages, "What is the total?").answer == "9.00"
    assert engine.answer(pages, "What is the date?").answer == "25/12/2018"
    assert engine.answer(pages, "What is the captain's name?").answer is None


def test_address_evidence_that_is_only_a_date_is_rejected() -> None:
    out = EngineOutput(
        data={"vendor": {"address": "05 Mar 2018 18:24"}},
        evidence={"vendor.address": Evidence(page=1, bbox=(20, 86, 160, 98), text="05 Mar 2018 18:24")},
    )
    ans = answer_question([make_page(RECEIPT)], "What is the address?", engine=CountingEngine(out))
    assert ans.answer is None


def test_unlabelled_single_date_answers_the_date_question() -> None:
    page = make_page(
        [(20, 20, "SHOP A"), (20, 40, "ORD #50 -REG #19- 18/01/2018 10:27:03"), (20, 60, "TOTAL 5.00")]
    )
    ans = answer_question([page], "What is the date?", engine=CountingEngine(EngineOutput(data={})))
    assert ans.answer == "18/01/2018" and ans.bbox is not None and ans.bbox[1] == 40
    # with two different dates and no label, there is no way to tell: no answer
    two = make_page([(20, 20, "01/02/2018"), (20, 40, "05/03/2018")])
    assert (
        answer_question([two], "What is the date?", engine=CountingEngine(EngineOutput(data={}))).answer
        is None
    )


def test_date_cut_short_by_ocr_is_answered_as_printed() -> None:
    page = make_page([(20, 20, "SHOP A"), (20, 40, "RECEIPT CS0001 DATE: 20/03/201"), (20, 60, "TOTAL 5.00")])
    ans = answer_question([page], "What is the date?", engine=CountingEngine(EngineOutput(data={})))
    assert ans.answer == "20/03/201"
    assert 0 < ans.confidence < 0.5


BIKE_INVOICE = [
    (40, 40, "Bike Parts Ltd"),
    (40, 60, "Invoice No:  A-17"),
    (40, 100, "Description  Qty  Unit price  Amount"),
    (40, 115, "Brake pads  2  5.00  10.00"),
    (40, 130, "Chain oil  1  7.50  7.50"),
    (40, 160, "Total  17.50"),
    (40, 190, "Due date:  Upon receipt"),
    (40, 210, "Tip:  2.00"),
]


def test_a_line_item_question_is_never_answered_with_the_total() -> None:
    from tests.helpers.pages import make_page as make_pdf_like_page  # two spaces: a column gap

    pages = [make_pdf_like_page(BIKE_INVOICE)]
    engine = LayoutEngine()
    ans = engine.answer(pages, "How much did the brake cables cost?")
    assert ans.answer is None and ans.confidence < 0.1 and ans.field == "line_items"
    oil = engine.answer(pages, "What was the price of the chain oil each?")
    assert oil.answer == "7.50" and oil.field == "line_items.1.unit_price"
    # not a line item, not a schema field: the key-value reader answers it
    tip = engine.answer(pages, "How much was the tip?")
    assert tip.answer == "2.00" and tip.bbox is not None
    # a due date printed as words is no date: null, never ""
    due = engine.answer(pages, "What is the due date?")
    assert due.answer is None and due.model_dump()["answer"] is None


def test_pipeline_ask_reads_a_file_once(tmp_path, monkeypatch) -> None:
    from docvlm.pipeline import Pipeline
    from tests.helpers.pages import make_pdf

    pdf = make_pdf(tmp_path / "bike.pdf", [[(x, y, t) for x, y, t in BIKE_INVOICE]])
    pipe = Pipeline()
    calls: list[str] = []
    real = pipe.load_pages
    monkeypatch.setattr(pipe, "load_pages", lambda p: calls.append(str(p)) or real(p))
    assert pipe.ask(pdf, "What is the invoice number?").answer == "A-17"
    assert pipe.ask(pdf, "What is the total?").answer == "17.50"
    assert len(calls) == 1
    pdf.write_bytes(pdf.read_bytes() + b"\n%changed\n")  # another sha256: read again
    pipe.ask(pdf, "What is the total?")
    assert len(calls) == 2


def test_cli_ask_answers_several_questions_with_one_read(tmp_path) -> None:
    import json
    import subprocess
    import sys

    from tests.helpers.pages import make_pdf

    pdf = make_pdf(tmp_path / "bike.pdf", [[(x, y, t) for x, y, t in BIKE_INVOICE]])
    code = (
        "import sys\n"
        "from docvlm.pipeline import Pipeline\n"
        "calls = []\n"
        "real = Pipeline.load_pages\n"
        "Pipeline.load_pages = lambda self, p: calls.append(p) or real(self, p)\n"
        "from cli import app\n"
        "try:\n"
        "    app(['ask', sys.argv[1], 'What is the invoice number?', 'What is the total?', 'Who signed it?'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('reads', len(calls))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(pdf)], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    answers = [json.loads(line) for line in lines[:-1]]
    assert [a["answer"] for a in answers[:2]] == ["A-17", "17.50"]
    assert answers[2]["answer"] is None and answers[2]["confidence"] < 0.3  # nothing supports it
    assert lines[-1] == "reads 1"
