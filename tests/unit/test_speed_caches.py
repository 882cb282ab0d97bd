"""The born-digital speed work keeps every answer: caches, joined searches and early decisions.

Each shortcut is compared with the slow way it replaces (``TextLine.box`` recomputed, the receipt
lexicon searched line by line, the full receipt signal, the engine's own schema check), and the
CLI's parent process is checked not to load the layout engine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from docvlm.engines import LayoutOptions, schema_problem
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.parties import _HOST, _domains
from docvlm.engines.layout.receipts import joined_lines, receipt_signal
from docvlm.engines.layout.support import schema_problem as layout_schema_problem
from docvlm.engines.layout.text import page_lines
from schemas.docvqa import Answer
from schemas.forms import Form
from schemas.invoice import Invoice
from tests.helpers.pages import make_page

ROOT = Path(__file__).resolve().parents[2]


def test_text_line_boxes_are_those_computed_afresh() -> None:
    page = make_page([(40, 40, "Total due  1,234.50 EUR"), (40, 60, "Invoice No: 2024-17")])
    for tl in page_lines(page).lines:
        spans = [(a, b) for a in range(len(tl.text)) for b in range(a + 1, len(tl.text) + 1)]
        for a, b in spans:
            assert tl.box(a, b) == tl._span_box(a, b)
        assert len(tl._boxes) == len(spans)  # one entry a span: (start, end) is the key, not start alone
        assert tl.box(0, 3) != tl.box(0, len(tl.text))


# lines that put the start of a match at the end of one line and its rest on the next
TEMPTING = [
    "GST summary",
    "GST",
    "thank",
    "you",
    "Time 12:",
    "30",
    "card ****",
    "1234",
    "bill",
    "to Acme",
    "Total",
    "qty 3",
    "summary of charges",
    "vat 20%",
    "Cash  change",
    "Date 05/03/2024 14:32",
    "",
    "VISA ************1234 AUTH CODE: 0A1B",
]


def test_the_joined_lines_match_as_the_lines_one_by_one() -> None:
    patterns = [lx.RECEIPT_CUES, lx.INVOICE_ONLY, lx.CUSTOMER_BLOCK, *lx.RECEIPT_CONTENT.values()]
    # every pair of neighbours, and the whole list, in both orders
    groups = [TEMPTING[i : i + 2] for i in range(len(TEMPTING) - 1)] + [TEMPTING, TEMPTING[::-1]]
    for lines in groups:
        text = joined_lines(lines)
        for rx in patterns:
            assert len(rx.findall(text)) == sum(len(rx.findall(t)) for t in lines), (rx.pattern[:40], lines)
            assert bool(rx.search(text)) == any(rx.search(t) for t in lines), (rx.pattern[:40], lines)


SLIP = [
    (40, 40, "CORNER CAFE"),
    (40, 80, "Date: 05/03/2024   14:32"),
    (40, 100, "Flat white          3.20"),
    (40, 140, "TOTAL               5.30"),
    (40, 156, "VISA ************1234"),
    (40, 196, "Thank you, come again"),
]
INVOICE = [
    (40, 40, "Widget Works Ltd"),
    (40, 80, "Invoice No: 2024-17   Date: 05/03/2024   Due date: 04/04/2024"),
    (40, 100, "Bill to: Acme Corp, 1 Main St"),
    (40, 140, "Widgets   10   5.00   50.00"),
    (40, 170, "Total 50.00   Payment terms: 30 days   IBAN DE89 3704 0044 0532 0130 00"),
    (40, 190, "Thank you for your business   Cash discount 2%"),
]
# small print across a till-roll PDF (a strip, no till column) with one invoice word and four till kinds
STRIP = [
    (10, 20 + 8 * i, t, 5.0)
    for i, t in enumerate(
        [
            "CORNER CAFE   Cashier: Ann   Counter 2   Table 4   Due date 1/2",
            "Date 05/03/2024 14:32   Flat white 3.20   Croissant 2.10   Total 5.30",
            "VISA ************1234   AUTH CODE 0A1B   Terminal ID 4455   Batch 12",
            "Thank you, come again   Cash 10.00   Change 4.70   Visit us again soon",
        ]
    )
]
# a till roll (a narrow column) that prints invoice words: never decided early
TILL = [
    (20, 20 + 14 * i, t)
    for i, t in enumerate(["SHOP", "Bill to: Ann", "Due date 1/2", "Cash 5.00", "Change 0.50"])
]


def test_the_early_decision_is_the_full_signals() -> None:
    strip = receipt_signal([page_lines(make_page(STRIP, width=227))])
    assert strip.is_receipt and strip.invoice_cues == 1 and strip.narrow  # one invoice word, yet a receipt
    for lines, width in ((SLIP, 595), (INVOICE, 595), (TILL, 227), (STRIP, 227)):
        pls = [page_lines(make_page(lines, width=width))]
        full, quick = receipt_signal(pls), receipt_signal(pls, decision_only=True)
        assert full.complete
        assert quick.is_receipt == full.is_receipt
        assert quick.aspect == full.aspect and quick.invoice_cues == full.invoice_cues
    pls = [page_lines(make_page(INVOICE))]
    quick = receipt_signal(pls, decision_only=True)
    assert not quick.complete and quick.cues == 0  # the invoice words decided it: receipt words unread
    assert receipt_signal(pls).cues > 0
    assert receipt_signal([page_lines(make_page(TILL, width=227))], decision_only=True).complete


def test_the_early_decision_agrees_on_mixed_pages() -> None:
    import random

    rng = random.Random(7)
    pool = [t for _, _, t in SLIP + INVOICE] + ["Due date: 04/04/2024", "Ship to: Ann", "IBAN DE89 3704"]
    decided = 0
    for _ in range(150):
        texts = rng.sample(pool, rng.randint(1, 8))
        width = rng.choice([227, 400, 595])
        step = rng.choice([12, 40, 90])  # tall strips and short slips
        page = make_page([(20, 20 + step * i, t) for i, t in enumerate(texts)], width=width)
        pls = [page_lines(page)]
        full, quick = receipt_signal(pls), receipt_signal(pls, decision_only=True)
        assert quick.is_receipt == full.is_receipt, (texts, width, step)
        decided += not quick.complete
    assert decided > 10  # the shortcut is taken, not only agreed with


def test_the_domain_prefilter_drops_no_host() -> None:
    lines = [
        "Contact: billing@widget-works.co.uk",
        "www.example.com",
        "Totals 12.50 45.00",
        "see https://shop.example.de/terms",
        "no host here",
        "Acme.Corp Ltd",
    ]
    pls = [page_lines(make_page([(40, 40 + 16 * i, t) for i, t in enumerate(lines)]))]
    slow = []
    for tl in pls[0].lines:
        for m in _HOST.finditer(tl.text):
            parts = (m.group(1) or m.group(2) or "").lower().split(".")
            if len(parts) >= 2:
                slow.append("".join(c for c in parts[-2] if c.isascii() and c.isalnum()))
    assert _domains(pls) == slow
    assert {"co", "example", "acme"} <= set(slow)


class _Unlabelled(BaseModel):
    rows: list[list[int]] = []


def test_the_light_schema_check_answers_as_the_engine() -> None:
    from docvlm.engines.layout import LayoutEngine

    for schema in (Invoice, Form, Answer, _Unlabelled):
        assert layout_schema_problem(schema) == LayoutEngine.schema_problem(schema)
    assert layout_schema_problem(Invoice) is None
    assert layout_schema_problem(Answer) is not None
    assert layout_schema_problem(_Unlabelled) is not None


def test_the_cli_parent_checks_the_schema_without_loading_the_engine() -> None:
    code = (
        "import sys\n"
        "from docvlm.pipeline import Pipeline, PipelineOptions\n"
        "from docvlm.split import SplitOptions\n"
        "from docvlm.einvoice.reader import EinvoiceOptions\n"
        "pipe = Pipeline(PipelineOptions(split=SplitOptions(), einvoice=EinvoiceOptions()))\n"
        "pipe.check_schema()\n"
        "heavy = [m for m in ('docvlm.engines.layout.layout_engine', 'docvlm.engines.layout.lexicon',\n"
        "    'docvlm.einvoice.crosscheck', 'docvlm.ground', 'numpy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert schema_problem(LayoutOptions(), Invoice) is None
    from docvlm.engines.layout import LayoutEngine

    assert schema_problem(LayoutOptions(), Answer) == LayoutEngine.schema_problem(Answer)


def test_the_party_id_prefilter_finds_every_segment_with_a_label() -> None:
    singles = [lx.TAX_ID_LABEL_RE, lx.IBAN_LABEL_RE, lx.EMAIL_LABEL_RE, lx.PHONE_LABEL_RE]
    texts = [
        "VAT No: GB123456789",
        "USt-IdNr. DE 123 456 789",
        "IBAN: DE89 3704 0044 0532 0130 00",
        "E-mail: billing@example.com",
        "Tel. +44 20 7946 0000",
        "BTW-nummer klant: NL001234567B01",
        "Total 12.50",
        "Vatican Street 4",  # "vat" inside a word is no label
        "phonetic",
        "",
    ]
    for text in texts:
        assert bool(lx.PARTY_ID_LABEL_RE.search(text)) == any(p.search(text) for p in singles), text
    assert sum(bool(lx.PARTY_ID_LABEL_RE.search(t)) for t in texts) == 6
