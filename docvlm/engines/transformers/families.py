"""One adapter per VLM family: how a family is prompted and how much image it can see.

In: the model config, the loaded processor, and prompts (``docvlm.engines.generative.prompts.Prompt``) with their
page images. Out: processor inputs (text with the family's image placeholders + images) and the
family's pixel budget, so the engine stays free of per-family branches.

- ``ChatTemplateAdapter`` (default): the processor's chat template, images as content parts.
- ``QwenVLAdapter`` (Qwen2-VL, Qwen2.5-VL): dynamic resolution bounded by the image processor's
  ``min_pixels``/``max_pixels``; several images per prompt.
- ``LlavaNextAdapter``: AnyRes, the largest ``image_grid_pinpoints`` entry is the detail budget.
- ``PaliGemmaAdapter`` (PaliGemma and PaliGemma 2): no chat template, a plain prefix prompt, one
  fixed-size image per prompt (tiles go as separate calls).
- ``InternVLAdapter`` (InternVL -hf): 448 px patches, up to ``max_patches`` per image.

``adapter_for(model_type)`` picks the class from ``FAMILY_ADAPTERS``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from docvlm.errors import EngineError

if TYPE_CHECKING:
    from PIL import Image

    from docvlm.engines.generative.prompts import Prompt

_log = logging.getLogger(__name__)

#: pixel budget assumed when a processor states none
DEFAULT_MAX_PIXELS = 1_000_000


class ChatTemplateAdapter:
    """Any image-text-to-text model whose processor has a chat template."""

    #: whether one prompt may carry several images (tiles); otherwise tiles are separate calls
    multi_image: ClassVar[bool] = True
    #: whether the chat template accepts a system turn; otherwise it is folded into the user turn
    system_role: ClassVar[bool] = True

    def __init__(self, config: Any, processor: Any) -> None:
        self.config = config
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        if getattr(processor, "image_processor", None) is None:
            raise EngineError(
                f"the processor for {getattr(config, 'model_type', '?')} has no image processor "
                f"(got {type(processor).__name__}); the model folder lacks preprocessor files"
            )

    # ---- images -------------------------------------------------------------------------------
    def configure(self, max_pixels: int | None) -> None:
        """Apply a user pixel budget override to the image processor (None keeps the model's)."""
        if max_pixels is not None:
            _log.info("%s ignores max_pixels=%d: its input size is fixed", type(self).__name__, max_pixels)

    def pixel_budget(self) -> tuple[int, int | None]:
        """``(max_pixels, max_side)`` of one image the model sees at full detail."""
        size = getattr(self.processor.image_processor, "size", None) or {}
        h, w = size.get("height"), size.get("width")
        if h and w:
            return int(h) * int(w), max(int(h), int(w))
        edge = size.get("shortest_edge")
        if edge:
            return int(edge) * int(edge), int(edge)
        return DEFAULT_MAX_PIXELS, None

    def tokens_per_image(self) -> int | None:
        """Image tokens one full-budget image costs in the prompt; None when unknown."""
        return None

    def pixels_per_token(self) -> int | None:
        """Pixels per image token for families whose token count follows the image size; else None."""
        return None

    # ---- text ---------------------------------------------------------------------------------
    def image_placeholder_parts(self, n_images: int) -> list[dict[str, str]]:
        return [{"type": "image"} for _ in range(n_images)]

    def build_text(self, prompt: Prompt, n_images: int) -> str:
        """The full model input text for ``prompt`` with ``n_images`` image slots in the first user turn."""
        messages: list[dict[str, Any]] = []
        user_text = prompt.user
        if self.system_role:
            messages.append({"role": "system", "content": [{"type": "text", "text": prompt.system}]})
        else:
            user_text = f"{prompt.system}\n\n{prompt.user}"
        messages.append(
            {
                "role": "user",
                "content": [*self.image_placeholder_parts(n_images), {"type": "text", "text": user_text}],
            }
        )
        for role, content in prompt.followups:
            messages.append({"role": role, "content": [{"type": "text", "text": content}]})
        template_owner = self.processor if getattr(self.processor, "chat_template", None) else self.tokenizer
        if not getattr(template_owner, "chat_template", None):
            raise EngineError(
                f"{getattr(self.config, 'model_type', 'this model')} has no chat template; "
                "add one to the processor or register a family adapter for it"
            )
        text: str = template_owner.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return text

    def processor_inputs(
        self, texts: Sequence[str], images: Sequence[Sequence[Image.Image]]
    ) -> dict[str, Any]:
        """Keyword arguments for ``processor(...)``: one text and its images per prompt."""
        flat = [img for imgs in images for img in imgs]
        return {"text": list(texts), "images": flat or None}

    # ---- accounting ---------------------------------------------------------------------------
    def image_token_ids(self) -> set[int]:
        """Ids of the placeholder tokens that carry image features in the input ids."""
        ids: set[int] = set()
        for attr in ("image_token_id", "image_token_index"):
            value = getattr(self.config, attr, None)
            if isinstance(value, int):
                ids.add(value)
        proc_id = getattr(self.processor, "image_token_id", None)
        if isinstance(proc_id, int):
            ids.add(proc_id)
        return ids


class QwenVLAdapter(ChatTemplateAdapter):
    """Qwen2-VL and Qwen2.5-VL: native dynamic resolution within ``min_pixels``..``max_pixels``."""

    def configure(self, max_pixels: int | None) -> None:
        if max_pixels is None:
            return
        ip = self.processor.image_processor
        size = dict(getattr(ip, "size", None) or {})
        size["longest_edge"] = int(max_pixels)
        size["shortest_edge"] = min(int(size.get("shortest_edge", 56 * 56)), int(max_pixels))
        ip.size = size
        if hasattr(ip, "max_pixels"):
            ip.max_pixels = int(max_pixels)

    def pixel_budget(self) -> tuple[int, int | None]:
        ip = self.processor.image_processor
        size = getattr(ip, "size", None) or {}
        max_pixels = size.get("longest_edge") or getattr(ip, "max_pixels", None) or DEFAULT_MAX_PIXELS
        return int(max_pixels), None

    def pixels_per_token(self) -> int | None:
        ip = self.processor.image_processor
        # one token per merge_size x merge_size block of patch_size pixels
        side = int(getattr(ip, "patch_size", 14) or 14) * int(getattr(ip, "merge_size", 2) or 2)
        return side * side

    def tokens_per_image(self) -> int | None:
        ppt = self.pixels_per_token()
        return self.pixel_budget()[0] // ppt if ppt else None


class LlavaNextAdapter(ChatTemplateAdapter):
    """LLaVA-NeXT: AnyRes picks the best grid pinpoint; the largest one bounds the detail."""

    def configure(self, max_pixels: int | None) -> None:
        if max_pixels is None:
            return
        pinpoints = self._pinpoints()
        kept = [p for p in pinpoints if p[0] * p[1] <= max_pixels]
        if not kept:
            raise EngineError(f"max_pixels={max_pixels} is below every LLaVA-NeXT grid pinpoint {pinpoints}")
        # the model config and the processor must agree on the grids, so only the tiling budget shrinks
        self._budget_override = max(p[0] * p[1] for p in kept), max(max(p) for p in kept)

    def _pinpoints(self) -> list[tuple[int, int]]:
        raw = getattr(self.processor.image_processor, "image_grid_pinpoints", None) or getattr(
            self.config, "image_grid_pinpoints", None
        )
        if not raw:
            raise EngineError("LLaVA-NeXT processor has no image_grid_pinpoints")
        return [(int(p[0]), int(p[1])) for p in raw]

    def tokens_per_image(self) -> int | None:
        # base image + the crops of the largest grid, each (crop / patch)^2 tokens
        ip = self.processor.image_processor
        crop = getattr(ip, "crop_size", None) or {}
        side = int(crop.get("height") or crop.get("shortest_edge") or 336)
        patch = int(getattr(self.processor, "patch_size", None) or 14)
        per_crop = (side // patch) ** 2
        largest = max(h * w for h, w in self._pinpoints())
        return per_crop * (1 + max(1, largest // (side * side)))

    def pixel_budget(self) -> tuple[int, int | None]:
        override = getattr(self, "_budget_override", None)
        if override is not None:
            return override
        pinpoints = self._pinpoints()
        largest = max(pinpoints, key=lambda p: p[0] * p[1])
        return largest[0] * largest[1], max(max(p) for p in pinpoints)


class PaliGemmaAdapter(ChatTemplateAdapter):
    """PaliGemma / PaliGemma 2: prefix prompts (no chat template), one fixed-size image per call."""

    multi_image = False
    system_role = False

    def build_text(self, prompt: Prompt, n_images: int) -> str:
        parts = [prompt.system, prompt.user]
        parts.extend(f"{role}: {content}" for role, content in prompt.followups)
        image_token = getattr(self.processor, "image_token", "<image>")
        # the processor expands each image token to image_seq_length placeholders and adds BOS
        return image_token * n_images + "\n\n".join(p.strip() for p in parts if p.strip())

    def tokens_per_image(self) -> int | None:
        value = getattr(self.processor, "image_seq_length", None)
        return int(value) if value else None

    def processor_inputs(
        self, texts: Sequence[str], images: Sequence[Sequence[Image.Image]]
    ) -> dict[str, Any]:
        if any(len(imgs) != 1 for imgs in images):
            raise EngineError("PaliGemma takes exactly one image per prompt")
        return {"text": list(texts), "images": [list(imgs) for imgs in images]}


class InternVLAdapter(ChatTemplateAdapter):
    """InternVL (-hf format): the image is cut into up to ``max_patches`` square patches."""

    def configure(self, max_pixels: int | None) -> None:
        if max_pixels is None:
            return
        ip = self.processor.image_processor
        side = self._side()
        ip.max_patches = max(1, int(max_pixels) // (side * side))

    def _side(self) -> int:
        size = getattr(self.processor.image_processor, "size", None) or {}
        return int(size.get("height") or size.get("shortest_edge") or 448)

    def pixel_budget(self) -> tuple[int, int | None]:
        side = self._side()
        return side * side * self._max_patches(), None

    def _max_patches(self) -> int:
        return int(getattr(self.processor.image_processor, "max_patches", 12) or 12)

    def tokens_per_image(self) -> int | None:
        per_patch = getattr(self.processor, "image_seq_length", None)
        # the patches plus a thumbnail of the whole image when it is cut
        return int(per_patch) * (self._max_patches() + 1) if per_patch else None


#: config.model_type -> adapter class; anything else uses ChatTemplateAdapter
FAMILY_ADAPTERS: dict[str, type[ChatTemplateAdapter]] = {
    "qwen2_vl": QwenVLAdapter,
    "qwen2_5_vl": QwenVLAdapter,
    "llava_next": LlavaNextAdapter,
    "paligemma": PaliGemmaAdapter,
    "internvl": InternVLAdapter,
}


def adapter_for(model_type: str) -> type[ChatTemplateAdapter]:
    """The adapter class for ``model_type`` (the chat-template default when none is registered)."""
    return FAMILY_ADAPTERS.get(model_type, ChatTemplateAdapter)
