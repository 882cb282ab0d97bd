"""Image-only processor subclasses for VLM families whose stock processor also wants a video processor.

Stock ``Qwen2VLProcessor``, ``Qwen2_5_VLProcessor`` and ``InternVLProcessor`` take a video
processor, and every video processor in transformers needs torchvision. Where torchvision is not
importable (it is not wheel-compatible with every torch build), building those processors fails,
and ``AutoProcessor`` may silently hand back the bare tokenizer instead. docvlm reads documents,
never video, so these subclasses drop the video processor and keep everything else (image token
expansion, chat template, image processor) from the stock class.

In: a model folder or id. Out: a processor whose ``image_processor`` and ``tokenizer`` are set.
``register_image_only_processors()`` maps the model configs to these classes in ``AutoProcessor``
so folders saved with them load through ``AutoProcessor.from_pretrained`` too.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from transformers import (
    AutoProcessor,
    InternVLConfig,
    InternVLProcessor,
    Qwen2_5_VLConfig,
    Qwen2_5_VLProcessor,
    Qwen2VLConfig,
    Qwen2VLProcessor,
)

_log = logging.getLogger(__name__)


class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
    """Qwen2-VL processor without the video processor (no torchvision needed)."""

    def __init__(
        self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any
    ):
        # the attribute list comes from this signature, so the parent's third positional arg is dropped
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)


class ImageOnlyQwen2_5_VLProcessor(Qwen2_5_VLProcessor):  # noqa: N801 - mirrors the transformers class name
    """Qwen2.5-VL processor without the video processor (no torchvision needed)."""

    def __init__(
        self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any
    ):
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)


class ImageOnlyInternVLProcessor(InternVLProcessor):
    """InternVL (-hf) processor without the video processor (no torchvision needed)."""

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        image_seq_length: int = 256,
        chat_template: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            image_processor, tokenizer, None, image_seq_length, chat_template=chat_template, **kwargs
        )


# model_type -> (config class, image-only processor class)
IMAGE_ONLY_PROCESSORS: dict[str, tuple[type, type]] = {
    "qwen2_vl": (Qwen2VLConfig, ImageOnlyQwen2VLProcessor),
    "qwen2_5_vl": (Qwen2_5_VLConfig, ImageOnlyQwen2_5_VLProcessor),
    "internvl": (InternVLConfig, ImageOnlyInternVLProcessor),
}

_registered = False


def torchvision_available() -> bool:
    """Whether torchvision can be found (the stock video processors need it)."""
    return importlib.util.find_spec("torchvision") is not None


def register_image_only_processors() -> None:
    """Register the image-only classes with ``AutoProcessor`` (idempotent).

    Registration makes a folder whose ``processor_config.json`` names an image-only class
    resolvable by name, and maps the config types for folders that name no processor class.
    """
    global _registered
    if _registered:
        return
    for config_cls, proc_cls in IMAGE_ONLY_PROCESSORS.values():
        AutoProcessor.register(config_cls, proc_cls, exist_ok=True)
    _registered = True


def image_only_processor_for(model_type: str) -> Any:
    """The image-only processor class for ``model_type``, or None if the family needs none."""
    entry = IMAGE_ONLY_PROCESSORS.get(model_type)
    return entry[1] if entry else None


def load_processor(model: str, model_type: str, **kwargs: Any) -> Any:
    """Load the processor for ``model``, using an image-only subclass only where the stock one fails.

    In: model id or folder, its ``config.model_type``, from_pretrained kwargs. Out: a processor
    with an ``image_processor``. Raises whatever ``from_pretrained`` raises when no route works.
    """
    register_image_only_processors()
    image_only = image_only_processor_for(model_type)
    error: Exception | None = None
    try:
        processor = AutoProcessor.from_pretrained(model, **kwargs)
    except Exception as exc:  # stock processors raise a variety of errors when torchvision is absent
        if image_only is None:
            raise
        error = exc
        processor = None
    # AutoProcessor silently falls back to the bare tokenizer when the full processor cannot be built
    if processor is not None and getattr(processor, "image_processor", None) is not None:
        return processor
    if image_only is None:
        return processor
    _log.info(
        "stock processor for %s unusable (%s); loading image-only %s",
        model_type,
        error or f"AutoProcessor returned {type(processor).__name__}",
        image_only.__name__,
    )
    return image_only.from_pretrained(model, **kwargs)
