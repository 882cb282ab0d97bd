"""Tiny random-weight VLMs of the real architectures, built offline from configs (no downloads).

``build_tiny_model(family, out_dir)`` writes a folder that ``from_pretrained`` loads exactly like a
hub checkpoint: ``config.json`` + weights + processor/tokenizer files. The tokenizer is a small
byte-level BPE trained with the ``tokenizers`` library on local text (the invoice schema, digits,
JSON punctuation and, when present, the text of the shared invoices), extended with each family's
special tokens and a chat template. Weights are random, so generated values are nonsense; the
models exist to run the real loading, prompting, image and decoding code paths.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

FAMILIES: tuple[str, ...] = ("qwen2_5_vl", "qwen2_vl", "llava_next", "paligemma", "paligemma2", "internvl")

_SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

# ChatML-style template shared by the tiny Qwen, LLaVA-NeXT and InternVL models; the image
# placeholder string is substituted per family.
_CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}__IMAGE__"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


def _training_text() -> list[str]:
    """Local text for the BPE: schema keys, JSON punctuation, digits, dates and shared invoice text."""
    from docvlm.engines.generative.json_schema import bounded_json_schema
    from schemas.invoice import Invoice

    prompts_dir = Path(__file__).resolve().parents[2] / "docvlm" / "engines" / "generative" / "prompts"
    lines = [
        # the prompt templates and the bounded schema make up most of every prompt: merging them keeps prompts short
        *(path.read_text(encoding="utf-8") for path in sorted(prompts_dir.glob("*.txt"))),
        json.dumps(bounded_json_schema(Invoice), separators=(",", ":")),
        json.dumps(Invoice.model_json_schema()),
        json.dumps(Invoice().model_dump(mode="json")),
        '0123456789 0 1 2 3 4 5 6 7 8 9 10 100 1000 .,:;-/ {} [] "" null true false',
        '{"invoice_number": "INV-2024-001", "invoice_date": "2024-03-01", "total": "121.00"}',
        "EUR USD GBP INR MYR CHF Invoice Total Subtotal Tax VAT Date Due Qty Price Amount",
    ]
    if _SHARED_DATA.is_dir():
        try:
            import pymupdf

            for pdf in sorted(_SHARED_DATA.glob("invoices/*/*.pdf")):
                with pymupdf.open(pdf) as doc:
                    lines.extend(page.get_text() for page in doc)
        except Exception as exc:  # the corpus only shapes merges; any local text will do
            _log.warning("could not read shared invoices for the tiny tokenizer: %s", exc)
    return lines


def _train_tokenizer(specials: list[str], vocab_size: int = 3000, **extra: Any) -> Any:
    """A byte-level BPE wrapped as a transformers fast tokenizer, with ``specials`` as added tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_training_text(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **extra)


def _save(model: Any, processor: Any, out_dir: Path, processor_class: str | None = None) -> Path:
    """Save model + processor; ``processor_class`` renames the class recorded in the files.

    Hub checkpoints name the stock processor class (``Qwen2_5_VLProcessor``...), so the tiny
    folders do too: loading them must go through the engine's image-only substitution.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    if processor_class is not None:
        for name in ("processor_config.json", "tokenizer_config.json", "preprocessor_config.json"):
            path = out_dir / name
            if path.exists():
                data = json.loads(path.read_text(encoding="utf-8"))
                if "processor_class" in data:
                    data["processor_class"] = processor_class
                    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return out_dir


def _qwen_tokenizer() -> Any:
    tok = _train_tokenizer(
        _QWEN_SPECIALS, eos_token="<|im_end|>", pad_token="<|endoftext|>", padding_side="left"
    )
    tok.chat_template = _CHATML_TEMPLATE.replace("__IMAGE__", "<|vision_start|><|image_pad|><|vision_end|>")
    return tok


def _qwen_common(tok: Any) -> dict[str, Any]:
    return {
        "image_token_id": tok.convert_tokens_to_ids("<|image_pad|>"),
        "video_token_id": tok.convert_tokens_to_ids("<|video_pad|>"),
        "vision_start_token_id": tok.convert_tokens_to_ids("<|vision_start|>"),
        "vision_end_token_id": tok.convert_tokens_to_ids("<|vision_end|>"),
    }


def _qwen_text_config(tok: Any) -> dict[str, Any]:
    return {
        "vocab_size": len(tok),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        # head_dim 16 -> 8 rotary pairs split over (time, height, width)
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        "bos_token_id": tok.convert_tokens_to_ids("<|endoftext|>"),
        "eos_token_id": tok.convert_tokens_to_ids("<|im_end|>"),
        "pad_token_id": tok.convert_tokens_to_ids("<|endoftext|>"),
    }


def _qwen_image_processor() -> Any:
    from transformers import Qwen2VLImageProcessorPil

    # a small pixel budget keeps the tiny vision tower cheap and makes full pages tile
    return Qwen2VLImageProcessorPil(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64)


def _build_qwen2_5_vl(out_dir: Path) -> Path:
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from docvlm.engines.transformers.image_processors import ImageOnlyQwen2_5_VLProcessor

    tok = _qwen_tokenizer()
    config = Qwen2_5_VLConfig(
        text_config=_qwen_text_config(tok),
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 56,
            "fullatt_block_indexes": [1],
        },
        tie_word_embeddings=False,
        **_qwen_common(tok),
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config)
    processor = ImageOnlyQwen2_5_VLProcessor(
        image_processor=_qwen_image_processor(), tokenizer=tok, chat_template=tok.chat_template
    )
    return _save(model, processor, out_dir, processor_class="Qwen2_5_VLProcessor")


def _build_qwen2_vl(out_dir: Path) -> Path:
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    from docvlm.engines.transformers.image_processors import ImageOnlyQwen2VLProcessor

    tok = _qwen_tokenizer()
    config = Qwen2VLConfig(
        text_config=_qwen_text_config(tok),
        vision_config={
            "depth": 2,
            "embed_dim": 32,
            "hidden_size": 64,
            "mlp_ratio": 2,
            "num_heads": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        tie_word_embeddings=False,
        **_qwen_common(tok),
    )
    torch.manual_seed(0)
    model = Qwen2VLForConditionalGeneration(config)
    processor = ImageOnlyQwen2VLProcessor(
        image_processor=_qwen_image_processor(), tokenizer=tok, chat_template=tok.chat_template
    )
    return _save(model, processor, out_dir, processor_class="Qwen2VLProcessor")


def _small_text_config(tok: Any, **extra: Any) -> dict[str, Any]:
    """A 2-layer, 64-unit decoder over ``tok``'s vocabulary."""
    return {
        "vocab_size": len(tok),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": 8192,
        **extra,
    }


def _chatml_tokenizer(image_token: str, extra_specials: list[str], **kwargs: Any) -> Any:
    tok = _train_tokenizer(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", image_token, *extra_specials],
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
        **kwargs,
    )
    return tok


def _build_llava_next(out_dir: Path) -> Path:
    import torch
    from transformers import (
        CLIPVisionConfig,
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
        LlavaNextImageProcessorPil,
        LlavaNextProcessor,
    )

    tok = _chatml_tokenizer("<image>", [])
    tok.chat_template = _CHATML_TEMPLATE.replace("__IMAGE__", "<image>\n")
    pinpoints = [[56, 112], [112, 56], [112, 112]]
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=56,
        patch_size=14,
        projection_dim=32,
    )
    text = _small_text_config(
        tok,
        model_type="qwen2",
        bos_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
    )
    config = LlavaNextConfig(
        vision_config=vision.to_dict(),
        text_config=text,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        image_grid_pinpoints=pinpoints,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlavaNextForConditionalGeneration(config)
    image_processor = LlavaNextImageProcessorPil(
        size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56}, image_grid_pinpoints=pinpoints
    )
    processor = LlavaNextProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS token
        image_token="<image>",
        chat_template=tok.chat_template,
    )
    return _save(model, processor, out_dir)


def _build_paligemma(out_dir: Path, version: int) -> Path:
    import torch
    from transformers import (
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        PaliGemmaProcessor,
        SiglipImageProcessorPil,
    )

    tok = _train_tokenizer(
        ["<pad>", "<eos>", "<bos>", "<unk>", "<image>"],
        pad_token="<pad>",
        eos_token="<eos>",
        bos_token="<bos>",
        unk_token="<unk>",
        padding_side="left",
        extra_special_tokens={"image_token": "<image>"},
    )
    image_seq_length = 16  # (56 / 14) ** 2 patches
    image_processor = SiglipImageProcessorPil(size={"height": 56, "width": 56})
    image_processor.image_seq_length = image_seq_length  # type: ignore[attr-defined]
    # the processor adds the <loc>/<seg> tokens, so the vocabulary size is read after it is built
    processor = PaliGemmaProcessor(image_processor=image_processor, tokenizer=tok)
    vocab = len(processor.tokenizer)
    if version == 1:
        text = _small_text_config(tok, model_type="gemma")
    else:
        text = _small_text_config(
            tok, model_type="gemma2", sliding_window=512, query_pre_attn_scalar=16, layer_types=None
        )
    text.update(
        vocab_size=vocab,
        bos_token_id=tok.convert_tokens_to_ids("<bos>"),
        eos_token_id=tok.convert_tokens_to_ids("<eos>"),
        pad_token_id=tok.convert_tokens_to_ids("<pad>"),
    )
    config = PaliGemmaConfig(
        vision_config={
            "model_type": "siglip_vision_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 56,
            "patch_size": 14,
            "projection_dim": 64,
        },
        text_config=text,
        image_token_index=processor.image_token_id,
        projection_dim=64,
        hidden_size=64,
    )
    torch.manual_seed(0)
    model = PaliGemmaForConditionalGeneration(config)
    return _save(model, processor, out_dir)


def _build_internvl(out_dir: Path) -> Path:
    import torch
    from transformers import GotOcr2ImageProcessorPil, InternVLConfig, InternVLForConditionalGeneration

    from docvlm.engines.transformers.image_processors import ImageOnlyInternVLProcessor

    tok = _chatml_tokenizer(
        "<IMG_CONTEXT>",
        ["<img>", "</img>", "<video>"],
        extra_special_tokens={
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "context_image_token": "<IMG_CONTEXT>",
            "video_token": "<video>",
        },
    )
    tok.chat_template = _CHATML_TEMPLATE.replace("__IMAGE__", "<IMG_CONTEXT>\n")
    image_seq_length = 4  # (56 / 14) ** 2 patches, 2x2 pixel shuffle
    config = InternVLConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": [56, 56],
            "patch_size": [14, 14],
        },
        text_config=_small_text_config(
            tok,
            model_type="qwen2",
            bos_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
            eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
            pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
        ),
        image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=image_seq_length,
        downsample_ratio=0.5,
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    model = InternVLForConditionalGeneration(config)
    image_processor = GotOcr2ImageProcessorPil(
        size={"height": 56, "width": 56}, crop_to_patches=True, min_patches=1, max_patches=4
    )
    processor = ImageOnlyInternVLProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        image_seq_length=image_seq_length,
        chat_template=tok.chat_template,
    )
    return _save(model, processor, out_dir, processor_class="InternVLProcessor")


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "qwen2_5_vl": _build_qwen2_5_vl,
    "qwen2_vl": _build_qwen2_vl,
    "llava_next": _build_llava_next,
    "paligemma": lambda out: _build_paligemma(out, version=1),
    "paligemma2": lambda out: _build_paligemma(out, version=2),
    "internvl": _build_internvl,
}


def build_tiny_model(family: str, out_dir: Path) -> Path:
    """Build the tiny ``family`` model into ``out_dir`` (created) and return the folder.

    ``family`` is one of ``FAMILIES``. The folder loads with ``AutoModelForImageTextToText`` and
    ``AutoProcessor`` (after ``docvlm.engines.transformers.image_processors.register_image_only_processors()``
    for the families whose stock processor needs torchvision).
    """
    try:
        builder = BUILDERS[family]
    except KeyError:
        raise ValueError(f"unknown tiny model family {family!r}; known: {', '.join(BUILDERS)}") from None
    out_dir = Path(out_dir)
    builder(out_dir)
    _log.info("built tiny %s model in %s", family, out_dir)
    return out_dir
