"""The openai engine against a real loopback HTTP server with scripted replies (no network)."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from docvlm.engines import OpenAIOptions
from docvlm.engines.openai_engine import OpenAIEngine
from schemas import Invoice
from tests.helpers.pages import load_pages


@pytest.mark.network
@pytest.mark.skipif(
    not os.environ.get("DOCVLM_OPENAI_BASE_URL") or not os.environ.get("DOCVLM_OPENAI_MODEL"),
    reason="set DOCVLM_OPENAI_BASE_URL and DOCVLM_OPENAI_MODEL (and the key env var) to test a real endpoint",
)
def test_real_endpoint_reads_a_real_invoice(shared_data: Path) -> None:
    """Against a real OpenAI-compatible server: the labelled total of a real invoice comes back grounded."""
    folder = shared_data / "invoices" / "invoice2data"
    pdf = next(p for p in sorted(folder.glob("*.pdf")) if p.with_suffix(".json").exists())
    label = json.loads(pdf.with_suffix(".json").read_text())[0]
    opts = OpenAIOptions(
        model=os.environ["DOCVLM_OPENAI_MODEL"],
        base_url=os.environ["DOCVLM_OPENAI_BASE_URL"],
        api_key_env=os.environ.get("DOCVLM_OPENAI_KEY_ENV", "OPENAI_API_KEY"),
    )
    eng = OpenAIEngine(opts)
    try:
        out = eng.extract(load_pages(pdf), Invoice)
    finally:
        eng.close()
    assert not out.fallback
    assert Decimal(out.data["total"]) == Decimal(str(label["amount"]))
