"""Shared fixtures: the real labelled data in ../shared/data, and small generated documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.documents import INVOICE_LINES, make_text_pdf, write_huge_png

REPO = Path(__file__).resolve().parents[1]
# the real labelled documents: ../shared/data beside the repository, or wherever DOCVLM_SHARED_DATA says
SHARED_DATA = Path(os.environ.get("DOCVLM_SHARED_DATA") or REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared labelled data is not at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture()
def invoice_pdf(tmp_path: Path) -> Path:
    return make_text_pdf(tmp_path / "good.pdf", INVOICE_LINES)


@pytest.fixture()
def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    """One file for each kind of bad input the pipeline must turn into an error record."""
    import pymupdf

    bad = tmp_path / "bad"
    bad.mkdir()
    out: dict[str, Path] = {}
    out["corrupt"] = bad / "corrupt.pdf"
    out["corrupt"].write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf body\n%%EOF")
    enc = pymupdf.open()
    enc.new_page().insert_text((50, 50), "secret")
    out["encrypted"] = bad / "encrypted.pdf"
    enc.save(out["encrypted"], encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    enc.close()
    out["empty"] = bad / "empty.pdf"
    out["empty"].write_bytes(b"")
    out["not_pdf"] = bad / "notes.pdf"
    out["not_pdf"].write_text("just some text, not a PDF at all\n" * 10)
    out["huge"] = write_huge_png(bad / "huge.png", 11_000, 10_000)  # 110 megapixels
    return out


RUN_SLOW = os.environ.get("DOCVLM_RUN_SLOW") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``real_data`` is every test under tests/real_data; ``slow`` tests run only with DOCVLM_RUN_SLOW=1."""
    real_root = Path(__file__).parent / "real_data"
    skip_slow = pytest.mark.skip(reason="slow (OCR over real scans); set DOCVLM_RUN_SLOW=1 to run it")
    for item in items:
        if real_root in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.real_data)
        if "slow" in item.keywords and not RUN_SLOW:
            item.add_marker(skip_slow)
