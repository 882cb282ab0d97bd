"""Opening documents from bytes (object storage, Ray): the same Document, pages and errors as from a path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from docvlm.errors import IngestError
from docvlm.ingest import IngestOptions, open_bytes, open_document
from docvlm.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def _pages(doc):
    try:
        return [
            (p.number, p.width, p.height, p.unit, p.word_source, [(w.text, w.bbox) for w in p.words])
            for p in doc.pages()
        ]
    finally:
        doc.close()


@pytest.mark.parametrize("name", ["rechnung_de_nordlicht.pdf", "invoice_gb_thistle_scan.png"])
def test_open_bytes_gives_the_same_document_as_the_path(name: str) -> None:
    path = SAMPLES / name
    from_path = open_document(path)
    from_bytes = open_bytes(path.read_bytes(), f"s3://bucket/in/{name}")
    assert from_bytes.source == f"s3://bucket/in/{name}"
    assert (from_bytes.sha256, from_bytes.media_type, from_bytes.page_count) == (
        from_path.sha256,
        from_path.media_type,
        from_path.page_count,
    )
    assert _pages(from_bytes) == _pages(from_path)


def test_pages_of_bytes_render_after_close() -> None:
    data = (SAMPLES / "rechnung_de_nordlicht.pdf").read_bytes()
    doc = open_bytes(data, "a.pdf")
    pages = list(doc.pages())
    doc.close()
    img = pages[0].image(72)
    assert img.width > 100 and img.height > 100


def test_bad_bytes_give_the_errors_a_file_gives(tmp_path: Path, bad_inputs: dict[str, Path]) -> None:
    for kind in ("corrupt", "encrypted", "empty", "not_pdf", "huge"):
        path = bad_inputs[kind]
        with pytest.raises(IngestError) as from_path:
            open_document(path, IngestOptions())
        with pytest.raises(IngestError) as from_bytes:
            open_bytes(path.read_bytes(), str(path), IngestOptions())
        assert str(from_bytes.value) == str(from_path.value), kind
    with pytest.raises(IngestError, match=r"file too large: big\.pdf"):
        open_bytes(b"%PDF-" + b"0" * 2_000_000, "big.pdf", IngestOptions(max_file_mb=1))


def test_extract_bytes_records_match_extract(tmp_path: Path, bad_inputs: dict[str, Path]) -> None:
    files = [
        SAMPLES / "invoice_us_cedar_ridge.pdf",
        SAMPLES / "receipt_us_corner_pantry.jpg",
        bad_inputs["corrupt"],
    ]
    # a copy under another name: the record names the source it was given, not a temporary file
    renamed = tmp_path / "copy.pdf"
    shutil.copy(files[0], renamed)
    pipe = Pipeline()
    try:
        from_bytes = pipe.extract_bytes([(str(p), p.read_bytes()) for p in [*files, renamed]])
        from_paths = [pipe.extract(p) for p in [*files, renamed]]
    finally:
        pipe.close()
    for a, b in zip(from_bytes, from_paths, strict=True):
        ra, rb = a.to_record(), b.to_record()
        ra.pop("timings"), rb.pop("timings")
        assert ra == rb
    assert [r.status.value for r in from_bytes] == ["ok", "ok", "error", "ok"]
    assert from_bytes[3].source == str(renamed)
