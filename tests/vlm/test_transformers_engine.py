"""The transformers engine on tiny random-weight models of each supported family (no downloads).

Values are nonsense (random weights); what is checked is the real path: from_pretrained loading,
processor substitution, family prompting, image tiling, batched constrained generation, decode,
validation, re-ask and fallback, merge, and QA.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docvlm.datamodel import EngineOutput, Evidence
from docvlm.engines import TransformersOptions, create_engine
from docvlm.engines.generative.merge import merge_page_outputs
from docvlm.engines.transformers.families import (
    ChatTemplateAdapter,
    InternVLAdapter,
    LlavaNextAdapter,
    PaliGemmaAdapter,
    QwenVLAdapter,
    adapter_for,
)
from docvlm.evidence import UNGROUNDED_CONFIDENCE
from schemas.docvqa import Answer
from schemas.invoice import Invoice
from tests.helpers.pages import make_raster_page
from tests.vlm.tiny_models import FAMILIES

#: enough for the closing guarantee of the Invoice schema (2 x closing_reserve)
MAX_NEW_TOKENS = 1024


def _leaves(data: object, prefix: str = "") -> set[str]:
    if isinstance(data, dict):
        return {p for k, v in data.items() for p in _leaves(v, f"{prefix}{k}.")}
    if isinstance(data, list):
        return {p for i, v in enumerate(data) for p in _leaves(v, f"{prefix}{i}.")}
    return set() if data is None else {prefix[:-1]}


@pytest.mark.parametrize("family", FAMILIES)
def test_constrained_outputs_always_validate(tiny_model_dir, family: str) -> None:
    engine = create_engine(
        TransformersOptions(
            model=str(tiny_model_dir(family)),
            max_new_tokens=MAX_NEW_TOKENS,
            max_prompt_words=60,
            batch_size=2 if family == "qwen2_5_vl" else 4,  # qwen: its 3 pages go in two chunks
        )
    )
    try:
        # two documents, three pages: first attempts are batched across both documents
        short = make_raster_page(
            1, lines=["Receipt 7", "Total 3.50"]
        )  # a shorter prompt: the batch is left-padded
        docs = (
            [[make_raster_page(1), make_raster_page(2)], [short]]
            if family == "qwen2_5_vl"
            else [[make_raster_page(1)], [short]]
        )
        outputs = engine.extract_batch(docs, Invoice)
        assert engine.tokenizer.padding_side == "left"
    finally:
        engine.close()
    assert len(outputs) == 2
    for out in outputs:
        assert not out.fallback, [a.error for a in out.attempts]
        # every page's first (batched, greedy) attempt was accepted
        assert out.attempts and all(a.error is None for a in out.attempts)
        assert all(a.number == 1 for a in out.attempts)
        Invoice.model_validate(out.data)
        assert out.generated == _leaves(out.data)
        assert out.usage["image_tokens"] > 0
        assert out.usage["completion_tokens"] > 0
    if family == "qwen2_5_vl":
        assert len(outputs[0].attempts) == 2  # one per page of the two-page document, merged
    assert outputs[0].usage["prompt_tokens"] != outputs[1].usage["prompt_tokens"]


@pytest.mark.parametrize("family", FAMILIES)
def test_unconstrained_reasks_then_falls_back(tiny_model_dir, family: str) -> None:
    engine = create_engine(
        TransformersOptions(
            model=str(tiny_model_dir(family)),
            constrained=False,
            max_new_tokens=16,
            max_attempts=2,
            max_prompt_words=40,
            temperature=0.0,
            temperature_step=0.5,
        )
    )
    try:
        out = engine.extract([make_raster_page(1)], Invoice)
    finally:
        engine.close()
    # random weights without the grammar never produce valid JSON in 16 tokens
    assert out.fallback
    assert any(w.code == "vlm_fallback" for w in out.warnings)
    calls = len(out.attempts)
    assert calls >= 2 and all(a.error for a in out.attempts)
    temps = sorted({a.temperature for a in out.attempts})
    assert temps == [0.0, 0.5]
    # the layout engine's result is what comes back, and it is not marked as generated
    assert out.data.get("total") is not None
    assert not out.generated


def test_extract_fields_asks_only_for_those_fields(tiny_model_dir) -> None:
    """The hybrid engine's entry point: the grammar admits only the requested paths."""
    engine = create_engine(
        TransformersOptions(model=str(tiny_model_dir("qwen2_5_vl")), max_new_tokens=256, max_prompt_words=40)
    )
    try:
        out = engine.extract_fields([make_raster_page(1)], Invoice, ["total", "vendor.name"])
    finally:
        engine.close()
    assert not out.fallback

    raw = json.loads(out.attempts[-1].raw)
    assert set(raw) == {"total", "vendor"} and set(raw["vendor"]) == {"name"}
    Invoice.model_validate(out.data)
    assert out.generated <= {"total", "vendor.name"}


def test_image_only_processor_replaces_the_stock_one(tiny_model_dir) -> None:
    from transformers import AutoProcessor

    from docvlm.engines.transformers.image_processors import (
        ImageOnlyQwen2_5_VLProcessor,
        load_processor,
        torchvision_available,
    )

    path = tiny_model_dir("qwen2_5_vl")
    if not torchvision_available():
        # the folder names the stock class, which needs a video processor (torchvision)
        try:
            stock = AutoProcessor.from_pretrained(path)
        except Exception:
            stock = None
        assert stock is None or getattr(stock, "image_processor", None) is None
    processor = load_processor(str(path), "qwen2_5_vl")
    assert getattr(processor, "image_processor", None) is not None
    if not torchvision_available():
        assert isinstance(processor, ImageOnlyQwen2_5_VLProcessor)


def test_device_and_dtype_choice() -> None:
    import torch

    from docvlm.engines.transformers.transformers_engine import choose_device, choose_dtype
    from docvlm.errors import EngineError

    assert choose_device("cpu") == "cpu"
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert choose_device(None) == "cpu"
    assert choose_dtype("cpu", None) is torch.float32  # no bf16 default off CUDA
    assert choose_dtype("cpu", "bfloat16") is torch.bfloat16  # the option overrides
    with pytest.raises(EngineError, match="dtype"):
        choose_dtype("cpu", "float7")


def test_adapter_registry() -> None:
    assert adapter_for("qwen2_vl") is QwenVLAdapter
    assert adapter_for("qwen2_5_vl") is QwenVLAdapter
    assert adapter_for("llava_next") is LlavaNextAdapter
    assert adapter_for("paligemma") is PaliGemmaAdapter
    assert adapter_for("internvl") is InternVLAdapter
    assert adapter_for("some_new_vlm") is ChatTemplateAdapter


def test_image_token_costs_of_stock_processors() -> None:
    """With the hub defaults, a page's tiles stay within the per-page image-token budget."""
    from types import SimpleNamespace

    from transformers import LlavaNextImageProcessorPil, Qwen2VLImageProcessorPil

    from docvlm.engines.transformers.transformers_engine import MAX_IMAGE_TOKENS_PER_PAGE

    tok = SimpleNamespace()
    qwen = QwenVLAdapter(
        SimpleNamespace(model_type="qwen2_5_vl"),
        SimpleNamespace(image_processor=Qwen2VLImageProcessorPil(), tokenizer=tok),
    )
    assert qwen.pixels_per_token() == 28 * 28
    assert qwen.tokens_per_image() == qwen.pixel_budget()[0] // 784
    llava = LlavaNextAdapter(
        SimpleNamespace(model_type="llava_next"),
        SimpleNamespace(
            # as in llava-hf/llava-v1.6-* checkpoints
            image_processor=LlavaNextImageProcessorPil(
                size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}
            ),
            tokenizer=tok,
            patch_size=14,
        ),
    )
    # 336 px crops of 24x24 patches: the base image plus the 2x2 grid of the largest pinpoint
    assert llava.tokens_per_image() == 576 * 5
    assert MAX_IMAGE_TOKENS_PER_PAGE // llava.tokens_per_image() == 2


def test_pixel_budget_override_and_tiles(tiny_model_dir) -> None:
    path = str(tiny_model_dir("qwen2_5_vl"))
    engine = create_engine(TransformersOptions(model=path, max_pixels=28 * 28 * 16))
    try:
        budget, _ = engine.family.pixel_budget()
        assert budget == 28 * 28 * 16
        assert engine.processor.image_processor.size["longest_edge"] == budget
        page = make_raster_page(1, width=900, height=1200)
        tiles = engine.page_images(page)
        assert len(tiles) > 1
        assert all(t.width * t.height <= budget for t in tiles)
    finally:
        engine.close()


def test_paligemma_prompts_are_prefixes_one_image_each(tiny_model_dir) -> None:
    from docvlm.engines.generative.prompts import build_extraction_prompt

    engine = create_engine(TransformersOptions(model=str(tiny_model_dir("paligemma")), max_new_tokens=8))
    try:
        page = make_raster_page(1)
        images = engine.page_images(page)
        prompt = build_extraction_prompt([page], Invoice, images=images[:1])
        text = engine.family.build_text(prompt, 1)
        assert text.startswith("<image>") and "<|im_start|>" not in text
        assert not engine.family.multi_image
        jobs = engine._jobs([[page]], Invoice)
        assert len(jobs) == len(images) and all(len(j.images) == 1 for j in jobs)
    finally:
        engine.close()


def test_answer_is_constrained_and_grounded(tiny_model_dir) -> None:
    engine = create_engine(TransformersOptions(model=str(tiny_model_dir("qwen2_5_vl")), max_new_tokens=200))
    try:
        ans = engine.answer([make_raster_page(1)], "What is the total?")
    finally:
        engine.close()
    assert isinstance(ans, Answer)
    assert len(ans.answer) <= 500
    if ans.page is None:  # not printed on the page: the confidence of an ungrounded value
        assert ans.confidence == UNGROUNDED_CONFIDENCE


def test_merge_drops_repeated_rows_and_reindexes() -> None:
    row = {"description": "Toner", "quantity": "1", "amount": "45.50"}
    other = {"description": "Paper", "quantity": "2", "amount": "10.00"}
    ev = Evidence(page=2, bbox=(0, 0, 1, 1), text="Paper")
    p1 = EngineOutput(
        data={"total": None, "line_items": [row]},
        generated={"line_items.0.description"},
        confidence={"total": 0.1},
    )
    p2 = EngineOutput(
        data={"total": "55.50", "line_items": [dict(row), other]},
        generated={"total", "line_items.0.amount", "line_items.1.description"},
        evidence={"line_items.1.description": ev},
    )
    merged = merge_page_outputs([p1, p2], Invoice)
    assert merged.data["line_items"] == [row, other]
    assert merged.data["total"] == "55.50"
    assert merged.evidence["line_items.1.description"] is ev
    assert "line_items.1.description" in merged.generated
    assert "line_items.2.description" not in merged.generated
    # identical rows on the same page are kept (two real purchases of the same thing)
    same_page = merge_page_outputs([EngineOutput(data={"line_items": [row, dict(row)]})], Invoice)
    assert len(same_page.data["line_items"]) == 2


def test_page_without_image_is_an_engine_error(tiny_model_dir) -> None:
    from docvlm.errors import EngineError

    engine = create_engine(TransformersOptions(model=str(tiny_model_dir("qwen2_5_vl"))))
    page = make_raster_page(1)
    page.render = None
    try:
        with pytest.raises(EngineError, match="no image"):
            engine.extract([page], Invoice)
    finally:
        engine.close()


def test_missing_model_is_an_engine_error(tmp_path: Path) -> None:
    from docvlm.errors import EngineError

    with pytest.raises(EngineError, match="could not load"):
        create_engine(TransformersOptions(model=str(tmp_path / "nothing-here")))
