"""Text-layer quality: right layers are kept, garbled or foreign ones are OCR'd with a warning."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
import typer

from cli import OcrBackendKind, ocr_flags
from docvlm.datamodel import Word, WordSource
from docvlm.ingest import IngestOptions, open_document, text_layer_words
from docvlm.ocr import OcrOptions
from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.textlayer import Verdict, _char_shares, check_text_layer, effective_ocr, word_rate
from tests.helpers.documents import INVOICE_LINES
from tests.helpers.pages import make_pdf
from tests.helpers.textlayers import render, scan_pdf, shuffled, swapped, text_layer

OCR = OcrOptions()


def test_word_rate_knows_five_languages_and_not_garbage() -> None:
    for sentence in (
        "Thank you for your order, please pay the total amount within 30 days",
        "Vielen Dank für Ihren Auftrag, bitte zahlen Sie den Gesamtbetrag innerhalb von Tagen",
        "Merci pour votre commande, montant total à payer avant la date d'échéance",
        "Bedankt voor uw bestelling, het totaal bedrag betalen binnen dagen",
        "Gracias por su pedido, el importe total a pagar antes de la fecha de vencimiento",
    ):
        rate, n = word_rate(sentence.split())
        assert rate is not None and rate > 0.6 and n >= 8, sentence
    rate, _ = word_rate("Tnhak ouy rof oyur rerdo, lpeaes ayp eht ottla notuam hitwin".split())
    assert rate is not None and rate < 0.1
    assert word_rate("Счёт на оплату номер".split()) == (None, 0)  # another script: the lists say nothing
    assert word_rate(["12,50", "4711"]) == (None, 0)


def test_char_shares_count_glyphs_without_unicode() -> None:
    assert _char_shares("Invoice12.50") == (12, 0.0, 0.0)
    n, bad, odd = _char_shares("ab\ufffd\ue001☃☃€.")
    assert n == 8 and bad == pytest.approx(2 / 8) and odd == pytest.approx(2 / 8)


def _page_and_words(path: Path) -> tuple[pymupdf.Document, pymupdf.Page, list[Word]]:
    doc = pymupdf.open(path)
    page = doc[0]
    return doc, page, text_layer_words(page, 1)


def test_born_digital_page_is_kept_without_sampling(tmp_path: Path) -> None:
    doc, page, words = _page_and_words(make_pdf(tmp_path / "a.pdf", [INVOICE_LINES]))
    v = check_text_layer(page, words, "auto", OCR)
    assert v.verdict is Verdict.USE and v.score.agreement is None and v.sample_s == 0.0
    assert v.warning(1) is None
    assert check_text_layer(page, words, "force", OCR).verdict is Verdict.OCR
    assert check_text_layer(page, words, "never", OCR).verdict is Verdict.USE
    doc.close()


def test_glyphs_without_unicode_are_replaced(tmp_path: Path) -> None:
    doc, page, _ = _page_and_words(make_pdf(tmp_path / "a.pdf", [INVOICE_LINES]))
    words = [Word("\ufffd\ufffd\ufffd", (10, 10, 40, 20)), Word("ab", (50, 10, 60, 20))]
    v = check_text_layer(page, words, "auto", OCR)
    assert v.verdict is Verdict.REPLACE and "without Unicode" in v.reason
    w = v.warning(3)
    assert w is not None and w.code == "text_layer_replaced" and w.message.startswith("page 3:")
    doc.close()


def test_garbled_visible_layer_is_ocrd_with_a_warning(tmp_path: Path) -> None:
    # a font whose glyphs map to the wrong letters: the page reads fine, its text does not
    layer = shuffled([(t, (0.0, 0.0, 0.0, 0.0)) for *_, t in INVOICE_LINES])
    garbled = [(x, y, t) for (x, y, _), (t, _) in zip(INVOICE_LINES, layer, strict=True)]
    pdf = make_pdf(tmp_path / "g.pdf", [garbled])
    doc, page, words = _page_and_words(pdf)
    v = check_text_layer(page, words, "auto", OCR)
    assert v.verdict is Verdict.REPLACE and "garbled" in v.reason
    doc.close()
    ex = Pipeline(PipelineOptions()).extract(pdf)
    assert [w.code for w in ex.warnings if w.code == "text_layer_replaced"] == ["text_layer_replaced"]
    kept = Pipeline(PipelineOptions(ingest=IngestOptions(ocr_mode="never"))).extract(pdf)
    assert not any(w.code == "text_layer_replaced" for w in kept.warnings)


def test_invisible_layer_over_a_scan_is_checked_against_ocr(tmp_path: Path) -> None:
    born = make_pdf(tmp_path / "born.pdf", [INVOICE_LINES])
    image, layer = render(born, 150), text_layer(born, 150)
    other = layer[5:] + layer[:5]  # real words, each in another line's box
    cases = {
        "right": (scan_pdf(tmp_path / "right.pdf", image, 150, layer), Verdict.USE, "confirmed by OCR"),
        "foreign": (
            scan_pdf(tmp_path / "foreign.pdf", image, 150, swapped(layer, other)),
            Verdict.REPLACE,
            "disagrees",
        ),
    }
    for name, (pdf, verdict, reason) in cases.items():
        doc, page, words = _page_and_words(pdf)
        v = check_text_layer(page, words, "auto", OCR)
        assert v.verdict is verdict and reason in v.reason, (name, v.reason, v.score)
        assert v.score.image_coverage == pytest.approx(1.0) and v.score.invisible == pytest.approx(1.0)
        doc.close()
    doc = open_document(cases["foreign"][0])
    (page,) = list(doc.pages())
    doc.close()
    assert page.word_source is WordSource.OCR and [w.code for w in page.warnings] == ["text_layer_replaced"]


def test_ocr_mode_never_turns_ocr_off_and_flags_map() -> None:
    assert effective_ocr("never", OCR).backend == "none"
    assert effective_ocr("auto", OCR) is OCR
    assert ocr_flags(None, None) == (None, None)
    assert ocr_flags("force", OcrBackendKind.TESSERACT) == ("force", "tesseract")
    assert ocr_flags("none", None) == ("never", None)  # the old spelling of "never"
    assert ocr_flags("tesseract", None) == (None, "tesseract")  # the old --ocr BACKEND
    with pytest.raises(typer.BadParameter):
        ocr_flags("sometimes", None)
