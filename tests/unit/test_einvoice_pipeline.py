"""E-invoices through the pipeline: bare XML, hybrid PDFs, --einvoice modes, bad XML, tampering, the label reader."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pymupdf
import pytest
from typer.testing import CliRunner

from cli import app
from docvlm.datamodel import Extraction
from docvlm.einvoice.reader import EinvoiceOptions
from docvlm.ingest import open_document
from docvlm.labels.einvoice import read_einvoice_label
from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.sources import iter_sources
from evaluation.readers import read_gold
from samples.einvoice_xml import XML_SPECS, cii_xml, ubl_xml, with_changes
from tests.helpers.einvoices import (
    BILLION_LAUGHS,
    MALFORMED,
    SPEC,
    WRONG_ROOT,
    XXE,
    de_amount,
    embed_xml,
    huge_xml,
    hybrid_pdf,
    strip_xml,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _pipe(mode: str = "both") -> Pipeline:
    return Pipeline(PipelineOptions(einvoice=EinvoiceOptions(mode=mode)))  # type: ignore[arg-type]


def _codes(ex: Extraction, field: str | None = None) -> set[str]:
    return {w.code for w in ex.warnings if field is None or w.field == field}


def _bad_xml(kind: str, tmp_path: Path) -> bytes:
    """Hostile or broken XML; the XXE one points at a secret file that must never show up."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    makers = {
        "malformed": lambda: MALFORMED,
        "xxe": lambda: XXE % str(secret).encode(),
        "billion_laughs": lambda: BILLION_LAUGHS,
        "wrong_root": lambda: WRONG_ROOT,
        "huge": lambda: huge_xml(50),
        "not_xml": lambda: b"just some text\n",
    }
    return makers[kind]()


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return _pipe()


@pytest.fixture()
def hybrid(tmp_path: Path) -> Path:
    return hybrid_pdf(tmp_path / "hybrid.pdf")


def test_bare_xrechnung_files_are_inputs(pipe: Pipeline, tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(cii_xml(SPEC))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.xml").write_bytes(ubl_xml(XML_SPECS[1]))
    sources = list(iter_sources([tmp_path]))
    assert [p.name for p in sources] == ["a.xml", "b.xml"]
    a, b = (pipe.extract(p).to_record() for p in sources)
    assert a["status"] == "ok" and a["engine"] == "einvoice" and a["pages"] == 0
    assert a["data"]["total"] == format(SPEC.total, "f") and a["evidence"] == {}
    assert a["einvoice"]["syntax"] == "CII" and a["einvoice"]["xsd_valid"] is True
    assert b["document_type"] == "credit_note" and b["einvoice"]["syntax"] == "UBL"
    assert not {w["code"] for w in a["warnings"]} & {"xml_not_on_page", "xml_page_mismatch"}


def test_ingest_exposes_the_embedded_xml(hybrid: Path) -> None:
    doc = open_document(hybrid)
    try:
        assert doc.einvoice is not None and doc.einvoice.name == "factur-x.xml"
        assert doc.einvoice.data == cii_xml(SPEC)
    finally:
        doc.close()


def test_hybrid_pdf_values_come_from_the_xml_grounded_on_the_page(pipe: Pipeline, hybrid: Path) -> None:
    rec = pipe.extract(hybrid).to_record()
    assert rec["engine"] == "einvoice" and rec["status"] == "ok", rec["warnings"]
    assert rec["data"]["vendor"]["iban"] == SPEC.seller.iban
    assert rec["data"]["line_items"][1]["unit"] == "hour"
    ev = rec["evidence"]
    assert ev["total"]["source"] == "xml" and ev["total"]["text"].endswith(de_amount(SPEC.total))
    assert ev["vendor.iban"]["text"].startswith("DE47 8707") and ev["invoice_number"]["text"].endswith(
        "EM-2024-1187"
    )
    # a line's numbers are found on its own row, not anywhere on the page
    row = ev["line_items.0.description"]["bbox"]
    qty = ev["line_items.0.quantity"]["bbox"]
    assert qty[1] < row[3] and qty[3] > row[1]
    assert all(v["source"] == "xml" for v in ev.values())
    assert all(c == 1.0 for c in rec["confidence"].values())
    assert not _codes(Extraction.from_record(rec)) & {"xml_not_on_page", "xml_page_mismatch", "xml_invalid"}


def test_visual_mode_ignores_the_xml(hybrid: Path) -> None:
    rec = _pipe("visual").extract(hybrid).to_record()
    assert rec["engine"] == "layout" and "einvoice" not in rec
    assert not any(v.get("source") for v in rec["evidence"].values())
    assert rec["data"]["invoice_number"] == "EM-2024-1187"  # read off the page


def test_xml_mode_skips_the_cross_check(hybrid: Path, tmp_path: Path) -> None:
    xml = cii_xml(with_changes(SPEC, number="EM-2024-9999"))
    tampered = embed_xml(hybrid, xml, tmp_path / "t.pdf")
    ex = _pipe("xml").extract(tampered)
    assert ex.engine == "einvoice" and "xml_page_mismatch" not in _codes(ex)
    assert "xml_not_on_page" in _codes(ex, "invoice_number")  # grounding still looks


@pytest.mark.parametrize("field", ["total", "vendor.iban", "invoice_number", "vendor.tax_id"])
def test_tampered_key_fields_are_flagged(pipe: Pipeline, hybrid: Path, tmp_path: Path, field: str) -> None:
    xml = cii_xml(SPEC).decode()
    old, new = {
        "total": (f">{SPEC.total:.2f}</ram:GrandTotalAmount>", ">4835.05</ram:GrandTotalAmount>"),
        "vendor.iban": (SPEC.seller.iban, "DE02120300000000202051"),
        "invoice_number": ("<ram:ID>EM-2024-1187</ram:ID>", "<ram:ID>EM-2024-1188</ram:ID>"),
        "vendor.tax_id": (str(SPEC.seller.vat_id), "DE136695976"),
    }[field]
    assert old in xml
    ex = pipe.extract(embed_xml(hybrid, xml.replace(old, new).encode(), tmp_path / "t.pdf"))
    assert "xml_not_on_page" in _codes(ex, field)


def test_tampered_total_names_both_values(pipe: Pipeline, hybrid: Path, tmp_path: Path) -> None:
    xml = cii_xml(SPEC).replace(f">{SPEC.total:.2f}<".encode(), b">4835.05<")
    ex = pipe.extract(embed_xml(hybrid, xml, tmp_path / "t.pdf"))
    [w] = [w for w in ex.warnings if w.code == "xml_page_mismatch" and w.field == "total"]
    assert "4835.05" in w.message and f"{SPEC.total:.2f}" in w.message


@pytest.mark.parametrize("bad", ["malformed", "xxe", "billion_laughs", "wrong_root", "huge"], ids=lambda b: b)
def test_bad_xml_in_a_pdf_falls_back_to_the_page(
    pipe: Pipeline, hybrid: Path, tmp_path: Path, bad: str
) -> None:
    data = _bad_xml(bad, tmp_path)
    pdf = strip_xml(hybrid, tmp_path / "bare.pdf")
    with pymupdf.open(pdf) as doc:
        doc.embfile_add("factur-x.xml", data, filename="factur-x.xml")
        doc.save(tmp_path / "bad.pdf")
    t0 = time.perf_counter()
    rec = pipe.extract(tmp_path / "bad.pdf").to_record()
    assert time.perf_counter() - t0 < 5.0  # a hang guard, not a speed figure (the benchmark measures speed)
    assert rec["status"] == "ok" and rec["engine"] == "layout"
    assert "xml_unreadable" in {w["code"] for w in rec["warnings"]}
    assert rec["data"]["invoice_number"] == "EM-2024-1187"  # the page was read instead
    assert "TOP-SECRET-42" not in json.dumps(rec)


@pytest.mark.parametrize(
    "bad", ["malformed", "xxe", "billion_laughs", "wrong_root", "huge", "not_xml"], ids=lambda b: b
)
def test_bad_bare_xml_is_an_error_record(pipe: Pipeline, tmp_path: Path, bad: str) -> None:
    data = _bad_xml(bad, tmp_path)
    path = tmp_path / f"{bad}.xml"
    path.write_bytes(data)
    t0 = time.perf_counter()
    rec = pipe.extract(path).to_record()
    assert time.perf_counter() - t0 < 5.0  # a hang guard, not a speed figure (the benchmark measures speed)
    assert rec["status"] == "error" and rec["data"] is None and rec["source"] == str(path)
    assert rec["error"]["type"] in {"EinvoiceError", "IngestError"}
    assert "TOP-SECRET-42" not in json.dumps(rec)


def test_an_invalid_xml_is_used_with_a_warning(pipe: Pipeline, tmp_path: Path) -> None:
    xml = cii_xml(SPEC).replace(b"<ram:TypeCode>380</ram:TypeCode>", b"", 1)
    xml = xml.replace(
        b"</rsm:ExchangedDocument>", b"<ram:TypeCode>380</ram:TypeCode></rsm:ExchangedDocument>"
    )
    (tmp_path / "x.xml").write_bytes(xml)
    ex = pipe.extract(tmp_path / "x.xml")
    assert ex.status.value == "ok" and "xml_invalid" in _codes(ex)
    assert ex.einvoice is not None and ex.einvoice["xsd_valid"] is False
    assert ex.data is not None and ex.data["total"] == format(SPEC.total, "f")


def test_record_round_trip_keeps_the_new_keys(pipe: Pipeline, hybrid: Path) -> None:
    rec = pipe.extract(hybrid).to_record()
    assert Extraction.from_record(rec).to_record() == rec


def test_cli_einvoice_flag(hybrid: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for mode, engine in (("both", "einvoice"), ("visual", "layout")):
        out = tmp_path / f"{mode}.jsonl"
        result = runner.invoke(
            app, ["extract", str(hybrid), "-o", str(out), "--einvoice", mode, "--no-progress"]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(out.read_text())["engine"] == engine
    assert runner.invoke(app, ["extract", str(hybrid), "--einvoice", "pixels"]).exit_code == 2


def test_schema_documents_the_e_invoice_fields() -> None:
    result = CliRunner().invoke(app, ["schema", "invoice"])
    assert result.exit_code == 0
    text = result.output
    assert "credit_note" in text and "Rec 20" in text and "xml_not_on_page" in text


def test_einvoice_label_reader(hybrid: Path, tmp_path: Path) -> None:
    gold = read_einvoice_label(hybrid)
    assert gold.fields["total"] == format(SPEC.total, "f") and gold.fields["vendor.iban"] == SPEC.seller.iban
    assert "customer.tax_id" not in gold.fields  # not in the XML: not labelled
    assert len(gold.line_items) == 3 and gold.line_items[0]["unit"] == "piece"
    assert gold.document == str(hybrid) and gold.label_format == "einvoice"
    (tmp_path / "plain.pdf").write_bytes(strip_xml(hybrid, tmp_path / "plain.pdf").read_bytes())
    folder = read_gold(tmp_path, "einvoice")
    assert set(folder) == {"hybrid"}  # the PDF without XML has no truth
    assert read_einvoice_label(SAMPLES / "xrechnung_ubl_gutschrift_moorbach.xml").fields["total"] == format(
        XML_SPECS[1].total, "f"
    )


def test_eval_extract_reads_einvoice_truth_without_gold(pipe: Pipeline, hybrid: Path, tmp_path: Path) -> None:
    pred = tmp_path / "pred.jsonl"
    rec = _pipe("visual").extract(hybrid).to_record()
    pred.write_text(json.dumps(rec) + "\n")
    result = CliRunner().invoke(app, ["eval", "extract", "--pred", str(pred), "--labels", "einvoice"])
    assert result.exit_code == 0, result.output
    assert "1 documents" in result.output and "Line items" in result.output
    assert CliRunner().invoke(app, ["eval", "extract", "--pred", str(pred)]).exit_code == 2


def test_money_is_exact_decimal(pipe: Pipeline) -> None:
    rec = pipe.extract(SAMPLES / "xrechnung_cii_elbufer.xml").to_record()
    items = rec["data"]["line_items"]
    assert sum(Decimal(li["amount"]) for li in items) == Decimal(rec["data"]["subtotal"])


def test_einvoices_given_as_bytes(pipe: Pipeline, hybrid: Path) -> None:
    recs = pipe.extract_bytes([("in/a.xml", cii_xml(SPEC)), ("in/h.pdf", hybrid.read_bytes())])
    assert [(r.source, r.engine, r.status.value) for r in recs] == [
        ("in/a.xml", "einvoice", "ok"),
        ("in/h.pdf", "einvoice", "ok"),
    ]
    assert recs[0].einvoice is not None and recs[0].einvoice["attachment"] == "a.xml"
    assert recs[1].evidence["total"].source == "xml"
