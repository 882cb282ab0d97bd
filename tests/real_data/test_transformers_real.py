"""The transformers engine on tiny random-weight models of each supported family (no downloads).

Values are nonsense (random weights); what is checked is the real path: from_pretrained loading,
processor substitution, family prompting, image tiling, batched constrained generation, decode,
validation, re-ask and fallback, merge, and QA.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docvlm.engines import TransformersOptions, create_engine
from schemas.invoice import Invoice


@pytest.mark.real_model
@pytest.mark.skipif(
    not os.environ.get("DOCVLM_REAL_MODEL"), reason="set DOCVLM_REAL_MODEL to a model id or folder"
)
def test_real_model_on_a_sample(shared_data: Path) -> None:
    """E.g. DOCVLM_REAL_MODEL=Qwen/Qwen2.5-VL-3B-Instruct (weights must already be in the local cache)."""
    from docvlm.ingest import open_document

    pdf = sorted((shared_data / "invoices").rglob("*.pdf"))[0]
    doc = open_document(pdf)
    pages = list(doc.pages())
    engine = create_engine(TransformersOptions(model=os.environ["DOCVLM_REAL_MODEL"], max_new_tokens=1024))
    try:
        out = engine.extract(pages, Invoice)
    finally:
        engine.close()
    inv = Invoice.model_validate(out.data)
    assert not out.fallback
    assert inv.total is not None
