"""A user's schema through a tiny random-weight VLM: its prompt, grammar, validation and grounding."""

from __future__ import annotations

import sys
from pathlib import Path

from docvlm.engines import TransformersOptions, create_engine
from docvlm.engines.generative.prompts import build_extraction_prompt
from docvlm.ground import ground
from docvlm.validate import validate
from schemas.resolve import resolve_schema
from tests.helpers.forms import make_form_pdf
from tests.helpers.pages import load_pages

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "forms"


def test_delivery_note_through_a_tiny_vlm(tiny_model_dir, tmp_path: Path) -> None:
    sys.path.insert(0, str(SAMPLES))
    try:
        schema = resolve_schema("mymodels:DeliveryNote").model
    finally:
        sys.path.remove(str(SAMPLES))
    pages = load_pages(make_form_pdf(tmp_path / "dn.pdf"))
    prompt = build_extraction_prompt(pages, schema, max_words=60)
    assert "DeliveryNote" in prompt.system and set(prompt.json_schema["properties"]) == set(
        schema.model_fields
    )
    engine = create_engine(
        TransformersOptions(model=str(tiny_model_dir("qwen2_5_vl")), max_new_tokens=1024, max_prompt_words=60)
    )
    try:
        out = engine.extract(pages, schema)
    finally:
        engine.close()
    # the grammar was the user's schema: the first, constrained attempt validates against it
    assert not out.fallback and out.attempts and out.attempts[0].error is None
    validated = validate(out.data, schema)
    assert not [w for w in validated.warnings if w.code == "invalid_record"]
    grounding = ground(validated, out, pages)
    # random weights invent values: each one is either found on the page (with a box) or flagged
    flagged = {w.field for w in grounding.warnings if w.code == "ungrounded"}
    for path in grounding.confidence:
        assert path in grounding.evidence or path in flagged
