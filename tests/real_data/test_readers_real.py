"""Readers: DocVQA files, the four gold-label formats, prediction JSONL; fixtures and the shared data."""

from __future__ import annotations

from pathlib import Path

from evaluation.readers import (
    read_gold,
)


def test_real_invoice2data_labels(shared_data: Path) -> None:
    gold = read_gold(shared_data / "invoices/invoice2data", "invoice2data")
    assert len(gold) == 7
    aws = gold["AmazonWebServices"]
    assert aws.fields["total"] == 4.11 and aws.fields["vendor.name"] == "Amazon Web Services"
    assert "desc" not in aws.fields and len(aws.line_items) == 4
    azure = gold["AzureInterior"]
    assert len(azure.line_items) == 4  # two section headers and a note are pseudo-rows
    assert azure.fields["due_date"] == "2023-04-04"
    sammy = gold["SammyMaystoneLinesTest"]
    assert [i["description"] for i in sammy.line_items] == ["Parts: 1 x cap_a", "Parts: 2 x shop supplies"]
    assert gold["coolblue1"].fields["vendor.tax_id"] == "NL810433941B01"
    assert all(g.document and g.document.endswith(".pdf") for g in gold.values())


def test_real_sroie_labels(shared_data: Path) -> None:
    gold = read_gold(shared_data / "receipts/sroie", "sroie")
    assert len(gold) == 20
    assert gold["000"].fields["total"] == "9.00"
    assert all(g.document and Path(g.document).is_file() for g in gold.values())
