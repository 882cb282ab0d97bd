"""The XML-only XRechnung samples: reproducible, valid against their XSD, and their truth is what docvlm reads."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from docvlm.einvoice.mapping import read_invoice
from docvlm.einvoice.safe_xml import parse_xml
from docvlm.einvoice.xsd import check_xsd
from docvlm.pipeline import Pipeline
from samples.einvoice_xml import XML_SPECS, write_samples
from schemas.invoice import Invoice

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_samples_are_reproducible(tmp_path: Path) -> None:
    for written in write_samples(tmp_path):
        assert written.read_bytes() == (SAMPLES / written.name).read_bytes(), written.name
        truth = tmp_path / "ground_truth" / f"{written.stem}.json"
        assert truth.read_text() == (SAMPLES / "ground_truth" / truth.name).read_text()


def test_samples_pass_their_xsd_and_add_up() -> None:
    for spec in XML_SPECS:
        root = parse_xml((SAMPLES / f"{spec.stem}.xml").read_bytes())
        inv = read_invoice(root)
        assert check_xsd(root, inv.syntax, inv.profile).valid is True
        data = Invoice.model_validate(inv.data)
        assert sum((li.amount or Decimal(0) for li in data.line_items), Decimal(0)) == data.subtotal
        assert data.subtotal is not None and data.tax_total is not None
        assert data.subtotal + data.tax_total == data.total == data.amount_due


def test_docvlm_reads_exactly_the_truth() -> None:
    pipe = Pipeline()
    for spec in XML_SPECS:
        truth = json.loads((SAMPLES / "ground_truth" / f"{spec.stem}.json").read_text(encoding="utf-8"))
        rec = pipe.extract(SAMPLES / f"{spec.stem}.xml").to_record()
        assert rec["status"] == "ok" and rec["warnings"] == []
        assert rec["data"] == truth["data"] and rec["document_type"] == truth["document_type"]
