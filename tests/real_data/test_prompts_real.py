"""Prompts: the bounded generation schema, the OCR-grounded page text, the word budget."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from docvlm.engines.generative.prompts import (
    TRUNCATED_MARK,
    build_extraction_prompt,
)
from docvlm.parsers import find_amounts
from schemas import Invoice
from tests.helpers.pages import load_pages


def test_shared_invoices_fit_the_budget_and_keep_the_total(shared_data: Path) -> None:
    """On the real invoices, a 250-word budget still keeps the labelled total in the prompt."""
    folder = shared_data / "invoices" / "invoice2data"
    kept = checked = 0
    for pdf in sorted(folder.glob("*.pdf")):
        label = json.loads(pdf.with_suffix(".json").read_text())[0]
        if "amount" not in label:
            continue
        prompt = build_extraction_prompt(load_pages(pdf), Invoice, max_words=250)
        assert prompt.word_count <= 250
        assert prompt.truncated == (TRUNCATED_MARK in prompt.user)
        words = prompt.user.split("<words>", 1)[1].split("</words>", 1)[0]
        amounts = {
            v for line in words.splitlines() for v, _ in find_amounts(re.sub(r"\[[\d,]+\]$", "", line))
        }
        checked += 1
        kept += Decimal(str(label["amount"])) in amounts
    assert checked >= 5
    assert kept == checked
