"""The local VLM engine: any ``AutoModelForImageTextToText`` through Hugging Face transformers.

In: the pages of one or more documents (words, sizes, lazy image renderers) and a target schema.
Out: one ``EngineOutput`` per document (candidates), whose ``generated`` paths the ground stage
must find on the page.

Per page the engine renders the image within the model's pixel budget, tiling pages that exceed
it (``generative.images``), builds the OCR-grounded prompt (``generative.prompts``), generates
JSON under an xgrammar constraint compiled from the bounded schema (``constrain``), and checks
it; a failed reply is re-asked with the error at a higher temperature and finally falls back to
the layout engine (``generative.reask``). Pages (and tiles sent as separate calls) are merged at
document level (``generative.merge``). First attempts are generated in left-padded batches across
pages and documents; re-asks run one prompt at a time.

Family differences (prompt format, image placeholders, pixel budget) live in ``families``;
processors that need torchvision are replaced by image-only subclasses from ``image_processors``
where the stock ones cannot be built.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Page
from docvlm.engines import TransformersOptions
from docvlm.engines.base import BaseEngine
from docvlm.engines.generative.answers import generate_answer
from docvlm.engines.generative.decode import BadReply
from docvlm.engines.generative.fallback import LazyEngine
from docvlm.engines.generative.images import ImageBudget, fit_page
from docvlm.engines.generative.merge import merge_page_outputs
from docvlm.engines.generative.prompts import Prompt, build_extraction_prompt
from docvlm.engines.generative.reask import run_with_reask
from docvlm.errors import EngineError, MissingDependency
from schemas.docvqa import Answer

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

#: most image tiles sent for one page; beyond it the page is rendered at a lower dpi instead
MAX_TILES_PER_PAGE = 6
#: most image tokens for one page across its tiles (keeps prompts inside common context windows)
MAX_IMAGE_TOKENS_PER_PAGE = 6144
#: most separate calls for one page, for families that take one image per prompt
MAX_CALLS_PER_PAGE = 2
#: overlap between neighbouring tiles, as a fraction of the tile side
TILE_OVERLAP = 0.1


def _import_vlm() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:  # the VLM stack is an optional extra
        raise MissingDependency(exc.name or "transformers", "vlm") from exc
    return torch, transformers


def choose_device(requested: str | None) -> str:
    """The device to run on: the requested one, else cuda > mps > cpu."""
    torch, _ = _import_vlm()
    if requested:
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def choose_dtype(device: str, requested: str | None) -> Any:
    """The torch dtype: the requested one, else bfloat16 on a CUDA device that supports it, else float32."""
    torch, _ = _import_vlm()
    if requested:
        dtype = getattr(torch, requested, None)
        if not isinstance(dtype, torch.dtype):
            raise EngineError(f"unknown dtype {requested!r}; use bfloat16, float16 or float32")
        return dtype
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


# ---------------------------------------------------------------------------------------------
# The engine


@dataclass
class _Job:
    """One generation unit: a page (or one tile of it) of one document."""

    doc: int
    page: Page
    images: list[Image.Image]
    prompt: Prompt


class TransformersEngine(BaseEngine):
    """A local image-text-to-text model; see the module docstring for the flow."""

    name = "transformers"
    needs_images = True

    def __init__(self, options: TransformersOptions) -> None:
        torch, transformers = _import_vlm()
        from docvlm.engines.transformers.families import adapter_for
        from docvlm.engines.transformers.image_processors import load_processor

        self.options = options
        self._torch = torch
        self.device = choose_device(options.device)
        self.dtype = choose_dtype(self.device, options.dtype)
        started = time.perf_counter()
        kwargs: dict[str, Any] = {"trust_remote_code": options.trust_remote_code}
        try:
            self.config = transformers.AutoConfig.from_pretrained(options.model, **kwargs)
            self.processor = load_processor(options.model, self.config.model_type, **kwargs)
            self.model = transformers.AutoModelForImageTextToText.from_pretrained(
                options.model, dtype=self.dtype, **kwargs
            )
        except (OSError, ValueError, KeyError) as exc:
            raise EngineError(f"could not load model {options.model!r}: {exc}") from exc
        self.model.to(self.device)
        self.model.eval()
        self.family = adapter_for(self.config.model_type)(self.config, self.processor)
        self.family.configure(options.max_pixels)
        self.tokenizer = self.family.tokenizer
        self.tokenizer.padding_side = "left"  # generation appends on the right, so pads go left
        self.vocab_size = int(self.model.get_output_embeddings().weight.shape[0])
        if self.vocab_size != len(self.tokenizer):
            _log.info("model vocab %d != tokenizer length %d", self.vocab_size, len(self.tokenizer))
        self.stop_token_ids = self._stop_ids()
        self.pad_token_id = (
            self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.stop_token_ids[0]
        )
        self._image_token_ids = self.family.image_token_ids()
        self._fallback = LazyEngine()
        self.load_s = time.perf_counter() - started
        _log.info(
            "loaded %s (%s, %s family) on %s/%s in %.1f s",
            options.model,
            self.config.model_type,
            type(self.family).__name__,
            self.device,
            str(self.dtype).removeprefix("torch."),
            self.load_s,
        )

    def _stop_ids(self) -> list[int]:
        ids: list[int] = []
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        for value in (gen_eos, self.tokenizer.eos_token_id):
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, int) and v not in ids and v < self.vocab_size:
                    ids.append(v)
        if not ids:
            raise EngineError(f"{self.options.model}: no end-of-sequence token id; generation could not stop")
        return ids

    # ---- images -------------------------------------------------------------------------------
    def page_images(self, page: Page) -> list[Image.Image]:
        """The page as one image or several tiles, each within the model's pixel budget.

        PDF pages are rendered at the dpi that fits ``MAX_TILES_PER_PAGE`` tiles (at most the
        page's dpi); raster pages are downscaled to that area when they exceed it.
        """
        if page.render is None:
            raise EngineError(
                f"page {page.number} has no image; the transformers engine needs rendered pages"
            )
        budget, max_side = self.family.pixel_budget()
        max_tiles = MAX_TILES_PER_PAGE if self.family.multi_image else MAX_CALLS_PER_PAGE
        per_image = self.family.tokens_per_image()
        if self.family.multi_image and per_image:
            # several fixed-cost images share one prompt: keep their tokens within the page budget
            max_tiles = min(max_tiles, max(1, MAX_IMAGE_TOKENS_PER_PAGE // per_image))
        # tiles overlap, so the page area that fits max_tiles tiles is a little smaller than their sum
        area_cap = int(budget * max_tiles * (1 - TILE_OVERLAP) ** 2)
        per_token = self.family.pixels_per_token()
        if per_token:
            area_cap = min(area_cap, MAX_IMAGE_TOKENS_PER_PAGE * per_token)
        fit = ImageBudget(budget, max_tiles, area_cap, overlap=TILE_OVERLAP, max_side=max_side)
        return fit_page(page, fit)

    # ---- generation ---------------------------------------------------------------------------
    def _generate_many(
        self, prompts: Sequence[Prompt], temperature: float
    ) -> list[tuple[str, dict[str, int]]]:
        """Generate one reply per prompt in one left-padded batch; returns ``(text, usage)`` each.

        Prompts with a ``json_schema`` are constrained to it (all prompts of a call must share it).
        Raises ``BadReply`` through the caller when a reply was cut at ``max_new_tokens``.
        """
        from transformers import LogitsProcessorList

        from docvlm.engines.transformers.constrain import make_logits_processor

        torch = self._torch
        texts = [self.family.build_text(p, len(p.images)) for p in prompts]
        inputs = self.processor(
            **self.family.processor_inputs(texts, [p.images for p in prompts]),
            padding=True,
            return_tensors="pt",
        )
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        schemas = {json.dumps(p.json_schema) for p in prompts}
        processors = LogitsProcessorList()
        if self.options.constrained and prompts[0].json_schema is not None:
            if len(schemas) != 1:
                raise EngineError("a constrained batch needs one schema for all its prompts")
            processors.append(
                make_logits_processor(
                    prompts[0].json_schema,
                    self.tokenizer,
                    self.vocab_size,
                    self.stop_token_ids,
                    max_new_tokens=self.options.max_new_tokens,
                )
            )
        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=self.options.max_new_tokens,
                logits_processor=processors,
                eos_token_id=self.stop_token_ids,
                pad_token_id=self.pad_token_id,
                **sampling,
            )
        input_ids = inputs["input_ids"]
        new_tokens = out[:, input_ids.shape[1] :].tolist()
        mask = inputs["attention_mask"]
        results: list[tuple[str, dict[str, int]]] = []
        for row, tokens in enumerate(new_tokens):
            cut = len(tokens)
            stopped = False
            for i, t in enumerate(tokens):
                if t in self.stop_token_ids:
                    cut, stopped = i, True
                    break
            text = self.tokenizer.decode(tokens[:cut], skip_special_tokens=True)
            ids_row = input_ids[row][mask[row].bool()].tolist()
            image_tokens = sum(1 for t in ids_row if t in self._image_token_ids)
            usage = {
                "prompt_tokens": len(ids_row),
                "image_tokens": image_tokens,
                "completion_tokens": cut + (1 if stopped else 0),
                "calls": 1,
            }
            if not stopped:
                usage["truncated"] = 1
            results.append((text, usage))
        return results

    def _generate_batched(self, prompts: Sequence[Prompt], temperature: float) -> list[Any]:
        """``_generate_many`` over chunks of ``batch_size``; a failing chunk yields its exception per prompt."""
        results: list[Any] = []
        size = max(1, self.options.batch_size)
        for start in range(0, len(prompts), size):
            chunk = prompts[start : start + size]
            try:
                results.extend(self._generate_many(chunk, temperature))
            except EngineError as exc:
                results.extend([exc] * len(chunk))
            except (RuntimeError, ValueError) as exc:  # torch/processor failures: one chunk, not the batch
                _log.warning("generation failed for %d prompt(s): %s", len(chunk), exc)
                results.extend([EngineError(f"generation failed: {exc}")] * len(chunk))
        return results

    def _generate_one(
        self, prompt: Prompt, temperature: float, previous_error: str | None
    ) -> tuple[str, dict[str, int]]:
        if previous_error:
            _log.debug("re-asking at temperature %.2f after: %s", temperature, previous_error[:120])
        text, usage = self._generate_many([prompt], temperature)[0]
        if usage.get("truncated"):
            raise BadReply(f"the reply was cut at max_new_tokens={self.options.max_new_tokens}", text, usage)
        return text, usage

    # ---- extraction ---------------------------------------------------------------------------
    def _jobs(
        self, docs: Sequence[Sequence[Page]], schema: type[BaseModel], fields: Sequence[str] | None = None
    ) -> list[_Job]:
        jobs: list[_Job] = []
        for d, pages in enumerate(docs):
            for page in pages:
                images = self.page_images(page)
                groups = [images] if self.family.multi_image else [[img] for img in images]
                for group in groups:
                    prompt = build_extraction_prompt(
                        [page], schema, max_words=self.options.max_prompt_words, images=group, fields=fields
                    )
                    jobs.append(_Job(doc=d, page=page, images=group, prompt=prompt))
        return jobs

    def extract(self, pages: Sequence[Page], schema: type[BaseModel]) -> EngineOutput:
        """Extract ``schema`` from the pages of one document."""
        return self.extract_batch([pages], schema)[0]

    def extract_fields(
        self, pages: Sequence[Page], schema: type[BaseModel], fields: Sequence[str] | None
    ) -> EngineOutput:
        """Like ``extract`` but asks the model only for ``fields`` (dotted paths; None: all).

        The hybrid engine uses it to ask only for what the layout engine missed; the grammar is
        compiled from the restricted schema, so the model cannot answer anything else.
        """
        return self._extract_docs([pages], schema, fields)[0]

    def extract_batch(self, docs: Sequence[Sequence[Page]], schema: type[BaseModel]) -> list[EngineOutput]:
        """Extract several documents; first attempts are batched across all their pages."""
        return self._extract_docs(docs, schema, None)

    def _extract_docs(
        self, docs: Sequence[Sequence[Page]], schema: type[BaseModel], fields: Sequence[str] | None
    ) -> list[EngineOutput]:
        if any(not pages for pages in docs):
            raise EngineError("a document has no pages")
        started = time.perf_counter()
        jobs = self._jobs(docs, schema, fields)
        first = self._generate_batched([j.prompt for j in jobs], self.options.temperature)
        per_doc: list[list[EngineOutput]] = [[] for _ in docs]
        for job, result in zip(jobs, first, strict=True):
            pending: list[Any] = [result]
            # token counts of the page's first call (re-asks carry the same page)
            first_usage: dict[str, int] = result[1] if isinstance(result, tuple) else {}

            def generate(
                prompt: Prompt, temperature: float, previous_error: str | None, pending: list[Any] = pending
            ) -> tuple[str, dict[str, int]]:
                if pending:  # the batched first attempt
                    res = pending.pop()
                    if isinstance(res, BaseException):
                        raise res
                    text, usage = res
                    if usage.get("truncated"):
                        raise BadReply(
                            f"the reply was cut at max_new_tokens={self.options.max_new_tokens}", text, usage
                        )
                    return text, usage
                return self._generate_one(prompt, temperature, previous_error)

            page = job.page

            def fallback(page: Page = page) -> EngineOutput:
                return self._fallback.get().extract([page], schema)

            out = run_with_reask(
                generate,
                job.prompt,
                schema,
                max_attempts=self.options.max_attempts,
                temperature=self.options.temperature,
                temperature_step=self.options.temperature_step,
                fallback=fallback,
            )
            _log.info(
                "page %d: %d image(s), %d image tokens, %d prompt tokens, %d attempt(s)%s",
                page.number,
                len(job.images),
                first_usage.get("image_tokens", 0),
                first_usage.get("prompt_tokens", 0),
                len(out.attempts),
                " -> layout fallback" if out.fallback else "",
            )
            per_doc[job.doc].append(out)
        merged = [merge_page_outputs(outs, schema) for outs in per_doc]
        _log.debug("extracted %d document(s) in %.2f s", len(docs), time.perf_counter() - started)
        return merged

    # ---- question answering -------------------------------------------------------------------
    def answer(self, pages: Sequence[Page], question: str) -> Answer:
        """Answer ``question`` from the pages: constrained ``{"answer": ...}`` reply, placed on the words."""
        if not pages:
            raise EngineError("no pages to answer from")
        images: list[Image.Image] = []
        for page in pages:
            page_imgs = self.page_images(page)
            if not self.family.multi_image:
                images = page_imgs[:1]
                break
            if images and len(images) + len(page_imgs) > MAX_TILES_PER_PAGE:
                break
            images.extend(page_imgs)
        return generate_answer(self._generate_one, pages, question, images, self.options, self._fallback)

    def close(self) -> None:
        """Drop the model and free accelerator memory."""
        self.model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()
        self._fallback.close()


__all__ = ["TransformersEngine", "choose_device", "choose_dtype"]
