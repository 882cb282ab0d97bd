"""The ``openai`` engine: any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, hosted).

In: the pages of a document (words, boxes, lazy image renderers) and a schema. Each page is sent
as one OCR-grounded prompt (``docvlm.prompts``) with the page image as a base64 data URL, and
``response_format`` set to the bounded JSON schema (strict). Out: the per-page outputs merged
into one ``EngineOutput`` (``docvlm.engines.merge``), with token usage per document.

Transport: one ``httpx.Client`` per engine; requests are bounded by ``max_concurrency`` (a
semaphore around every request, so pages and documents share one limit), each has a timeout,
and 429 (honouring ``Retry-After``), 5xx, timeouts and connection errors are retried with
exponential backoff and jitter up to ``max_retries``, then ``EngineError``. A server that
rejects ``json_schema`` with a 400 is asked in JSON mode (``json_object``) from then on. The API
key is read from the env var ``api_key_env`` and never appears in logs or error messages.

Replies that are not JSON, are cut off, violate the schema or have no choices go through
``decode.run_with_reask``; after ``max_attempts`` the page falls back to the layout engine.
"""

from __future__ import annotations

import base64
import email.utils
import io
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from docvlm.datamodel import EngineOutput, Page, RecordWarning, WordSource
from docvlm.decode import BadReply, run_with_reask
from docvlm.engines import LayoutOptions, OpenAIOptions, create_engine
from docvlm.engines.base import BaseEngine
from docvlm.engines.merge import merge_page_outputs
from docvlm.errors import DecodeError, DocvlmError, EngineError
from docvlm.prompts import Prompt, build_extraction_prompt, build_qa_prompt
from schemas.docvqa import Answer

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

#: resolution pages are rendered at before fitting them into ``max_pixels``
RENDER_DPI = 200
#: a page longer than this ratio (a till receipt) is tiled rather than shrunk, to keep text legible
TILE_ASPECT = 2.2
MAX_TILES = 4
#: pages of a document whose images go with a question (the words of all pages always do)
MAX_QA_PAGES = 4
#: longest wait a server's Retry-After may impose before we retry anyway
MAX_RETRY_AFTER_S = 60.0
#: confidence of an answer whose text was not found on the page
UNGROUNDED_ANSWER_CONFIDENCE = 0.2

#: key in ``PIL.Image.info`` marking a scan or photo (sent as JPEG rather than PNG)
PHOTO_KEY = "docvlm_photo"

_RESPONSE_MODES = ("json_schema", "json_object", "none")
_SECRETISH = re.compile(r"(Bearer\s+)\S+|\b(sk-[A-Za-z0-9_\-]{6,})", re.IGNORECASE)


class _QAReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    answer: str = Field(default="", max_length=500)


def _document_type(schema: type[BaseModel]) -> str:
    from schemas import builtin_schemas

    for name, model in builtin_schemas().items():
        if model is schema:
            return name
    return schema.__name__.lower()


def _encode_image(img: Image.Image, photo: bool) -> str:
    """A data URL: JPEG for scans and photos (smaller), PNG for rendered born-digital pages (sharper)."""
    buf = io.BytesIO()
    rgb = img.convert("RGB")
    if photo:
        rgb.save(buf, format="JPEG", quality=90)
        mime = "image/jpeg"
    else:
        rgb.save(buf, format="PNG", optimize=False)
        mime = "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _message_text(message: dict[str, Any]) -> str:
    """The text of a chat message; some servers send content as a list of parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


class OpenAIEngine(BaseEngine):
    """Extraction and QA through an OpenAI-compatible ``/chat/completions`` endpoint.

    ``fallback`` is the engine used when the model gives no usable reply (default: the layout
    engine, created on first use); ``transport`` lets a caller plug a custom httpx transport.
    """

    name = "openai"
    needs_images = True

    def __init__(
        self,
        options: OpenAIOptions,
        *,
        fallback: BaseEngine | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if options.max_concurrency < 1:
            raise EngineError(f"max_concurrency must be >= 1, got {options.max_concurrency}")
        self.options = options
        self._key = os.environ.get(options.api_key_env) or None
        if self._key is None:
            _log.debug("no API key in $%s; sending requests without one", options.api_key_env)
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._client = httpx.Client(
            base_url=options.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(options.timeout_s),
            limits=httpx.Limits(
                max_connections=options.max_concurrency, max_keepalive_connections=options.max_concurrency
            ),
            transport=transport,
        )
        self._slots = threading.BoundedSemaphore(options.max_concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        if options.json_schema is False:
            self._mode = "json_object"
        else:
            self._mode = "json_schema"
        self._fallback_engine = fallback

    # ---- secrets ---------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        """``text`` with the API key and anything that looks like a bearer token masked."""
        if self._key:
            text = text.replace(self._key, "***")
        return _SECRETISH.sub(lambda m: (m.group(1) or "") + "***", text)

    # ---- transport -------------------------------------------------------------------------

    def _response_format(self, prompt: Prompt, mode: str) -> dict[str, Any] | None:
        if mode == "json_schema" and prompt.json_schema is not None:
            return {
                "type": "json_schema",
                "json_schema": {"name": prompt.schema_name, "schema": prompt.json_schema, "strict": True},
            }
        if mode in ("json_schema", "json_object"):
            return {"type": "json_object"}
        return None

    def _downgrade(self, mode: str, body_text: str) -> str | None:
        """The next response-format mode after a 400 that rejected ``mode``, or None to give up."""
        if self.options.json_schema is True:
            return None  # the caller insisted on json_schema
        idx = _RESPONSE_MODES.index(mode)
        if idx + 1 >= len(_RESPONSE_MODES):
            return None
        nxt = _RESPONSE_MODES[idx + 1]
        with self._lock:
            if _RESPONSE_MODES.index(self._mode) < _RESPONSE_MODES.index(nxt):
                _log.warning(
                    "server rejected response_format %s (%s); using %s for this session",
                    mode,
                    self._redact(body_text[:200]),
                    nxt,
                )
                self._mode = nxt
        return nxt

    def post_chat(
        self, prompt: Prompt, temperature: float, messages: list[dict[str, Any]] | None = None
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """POST one chat completion with retries; returns the JSON body and the usage it cost.

        ``messages`` are the chat messages when a caller built them already (``chat_messages``).
        """
        opts = self.options
        messages = self.chat_messages(prompt) if messages is None else messages
        usage = {"requests": 0}
        mode = self._mode
        failures = 0
        last_error = ""
        while True:
            body: dict[str, Any] = {
                "model": opts.model,
                "messages": messages,
                "temperature": temperature,
                "max_tokens": opts.max_tokens,
            }
            fmt = self._response_format(prompt, mode)
            if fmt is not None:
                body["response_format"] = fmt
            delay: float | None = None
            try:
                with self._slots:
                    usage["requests"] += 1
                    resp = self._client.post("chat/completions", json=body)
            except httpx.TimeoutException:
                last_error = f"no reply within {opts.timeout_s:g} s"
            except httpx.TransportError as exc:
                last_error = f"connection failed ({type(exc).__name__}: {self._redact(str(exc))[:200]})"
            else:
                status = resp.status_code
                if 200 <= status < 300:
                    try:
                        payload = resp.json()
                    except ValueError:
                        raise BadReply(
                            "the server's HTTP body is not JSON",
                            raw=self._redact(resp.text[:500]),
                            usage=usage,
                        ) from None
                    if not isinstance(payload, dict):
                        raise BadReply("the server's HTTP body is not a JSON object", usage=usage)
                    return payload, usage
                text = resp.text
                if (
                    status == 400
                    and fmt is not None
                    and re.search(r"response_format|json_schema", text, re.I)
                ):
                    nxt = self._downgrade(mode, text)
                    if nxt is not None:
                        mode = nxt
                        continue  # a format downgrade is not a failure of the server
                if status == 429:
                    last_error = "rate limited (HTTP 429)"
                    ra = _retry_after(resp.headers.get("Retry-After"))
                    if ra is not None:
                        delay = min(ra, MAX_RETRY_AFTER_S) + random.uniform(0, opts.backoff_s)
                elif status >= 500:
                    last_error = f"server error HTTP {status}: {self._redact(text[:200])}"
                else:
                    raise EngineError(
                        f"{self._redact(opts.base_url)} answered HTTP {status}: {self._redact(text[:300])}"
                    )
            failures += 1
            if failures > opts.max_retries:
                raise EngineError(
                    f"{self._redact(opts.base_url)}: giving up after {failures} tries; last error: {last_error}"
                )
            if delay is None:
                delay = opts.backoff_s * (2 ** (failures - 1)) + random.uniform(0, opts.backoff_s)
            _log.info(
                "request failed (%s); retry %d/%d in %.2f s", last_error, failures, opts.max_retries, delay
            )
            time.sleep(delay)

    def chat_messages(self, prompt: Prompt) -> list[dict[str, Any]]:
        """The prompt as chat messages, the page images as data URLs in the first user turn."""
        msgs = prompt.messages()
        first_user: list[dict[str, Any]] = [{"type": "text", "text": msgs[1]["content"]}]
        for img in prompt.images:
            url = _encode_image(img, bool(img.info.get(PHOTO_KEY)))
            first_user.append({"type": "image_url", "image_url": {"url": url}})
        out: list[dict[str, Any]] = [msgs[0], {"role": "user", "content": first_user}]
        out.extend(msgs[2:])
        return out

    def _generate(
        self, prompt: Prompt, temperature: float, previous_error: str | None
    ) -> tuple[str, dict[str, int]]:
        """One chat completion for ``run_with_reask``: (reply text, usage); ``BadReply`` for an unusable reply."""
        if previous_error:
            _log.debug("re-asking at temperature %.2f after: %s", temperature, previous_error[:200])
        payload, usage = self.post_chat(prompt, temperature)
        return self.reply_text(payload, usage)

    def reply_text(self, payload: dict[str, Any], usage: dict[str, int]) -> tuple[str, dict[str, int]]:
        """The reply text of a chat-completion body, and its token usage; ``BadReply`` for an unusable one."""
        usage = dict(usage)
        reported = payload.get("usage") or {}
        for key in ("prompt_tokens", "completion_tokens"):
            value = reported.get(key) if isinstance(reported, dict) else None
            usage[key] = int(value) if isinstance(value, (int, float)) else 0
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise BadReply("the server returned an empty choice list", usage=usage)
        choice = choices[0]
        text = _message_text(choice.get("message") or {})
        if choice.get("finish_reason") == "length":
            raise BadReply(
                f"the reply was cut off at max_tokens={self.options.max_tokens}; answer with shorter values",
                raw=text,
                usage=usage,
            )
        return text, usage

    # ---- images ----------------------------------------------------------------------------

    def _page_images(self, page: Page) -> list[Image.Image]:
        """The page as images within ``max_pixels`` each, marked as photos for raster inputs."""
        images = self._fit_page(page)
        for img in images:
            img.info[PHOTO_KEY] = page.unit == "px" or page.word_source == WordSource.OCR
        return images

    def _fit_page(self, page: Page) -> list[Image.Image]:
        """The page as one shrunk image, or as tiles for long pages (till receipts)."""
        if page.render is None:
            _log.debug("page %d has no renderer; sending its words only", page.number)
            return []
        max_px = self.options.max_pixels
        dpi = RENDER_DPI
        if page.unit == "pt" and page.width > 0 and page.height > 0:
            # render straight at the resolution that fits, instead of rendering big and shrinking
            fit = 72.0 * math.sqrt(max_px / (page.width * page.height))
            aspect = max(page.width, page.height) / min(page.width, page.height)
            dpi = int(min(RENDER_DPI, fit if aspect <= TILE_ASPECT else fit * math.sqrt(MAX_TILES)))
        img = page.image(max(dpi, 36))
        w, h = img.size
        if w * h <= max_px:
            return [img]
        if max(w, h) / max(1, min(w, h)) > TILE_ASPECT:
            from docvlm.tiling import crop, plan_tiles

            if w * h > max_px * MAX_TILES:
                scale = math.sqrt(max_px * MAX_TILES / (w * h))
                img = img.resize((max(1, int(w * scale)), max(1, int(h * scale))))
                w, h = img.size
            # overlap makes the plan need a few more tiles than the area suggests: shrink until it fits
            for _ in range(6):
                try:
                    tiles = plan_tiles(w, h, max_px)
                except DocvlmError as exc:
                    _log.debug("cannot tile page %d (%s); shrinking it", page.number, exc)
                    break
                if len(tiles) <= MAX_TILES:
                    return [crop(img, t) for t in tiles]
                img = img.resize((max(1, int(w * 0.9)), max(1, int(h * 0.9))))
                w, h = img.size
        if w * h <= max_px:
            return [img]
        scale = math.sqrt(max_px / (w * h))
        return [img.resize((max(1, int(w * scale)), max(1, int(h * scale))))]

    # ---- extraction ------------------------------------------------------------------------

    def _layout(self) -> BaseEngine:
        with self._lock:
            if self._fallback_engine is None:
                self._fallback_engine = create_engine(LayoutOptions())
            return self._fallback_engine

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.options.max_concurrency, thread_name_prefix="docvlm-openai"
                )
            return self._pool

    def page_prompt(self, page: Page, schema: type[BaseModel], fields: Sequence[str] | None = None) -> Prompt:
        """The extraction prompt of one page, with its images fitted into ``max_pixels``."""
        images = self._page_images(page)
        return build_extraction_prompt(
            [page], schema, max_words=self.options.max_prompt_words, images=images, fields=fields
        )

    def _extract_page(
        self, page: Page, schema: type[BaseModel], fields: Sequence[str] | None
    ) -> EngineOutput:
        return self.extract_page(page, schema, self.page_prompt(page, schema, fields), self._generate)

    def extract_page(
        self,
        page: Page,
        schema: type[BaseModel],
        prompt: Prompt,
        generate: Callable[[Prompt, float, str | None], tuple[str, dict[str, int]]],
    ) -> EngineOutput:
        """One page through ``generate`` with re-asks, then the layout fallback (``decode.run_with_reask``).

        ``generate`` is this engine's HTTP call, or replies obtained elsewhere (a Ray Data stage).
        """

        def fallback() -> EngineOutput:
            return self._layout().extract([page], schema)

        out = run_with_reask(
            generate,
            prompt,
            schema,
            max_attempts=self.options.max_attempts,
            temperature=self.options.temperature,
            temperature_step=self.options.temperature_step,
            fallback=fallback,
        )
        for attempt in out.attempts:  # a server that echoes the key must not put it in the record
            attempt.raw = self._redact(attempt.raw)
        for key in ("prompt_tokens", "completion_tokens", "requests"):
            out.usage.setdefault(key, 0)
        for w in out.warnings:
            if w.code == "vlm_fallback" and not w.message.startswith("page "):
                w.message = f"page {page.number}: {w.message}"
        if prompt.truncated:
            out.warnings.append(
                RecordWarning(
                    "prompt_truncated",
                    f"page {page.number}: only {prompt.word_count} words fit the prompt budget "
                    f"of {self.options.max_prompt_words}",
                )
            )
        return out

    def _run_pages(
        self, docs: Sequence[Sequence[Page]], schema: type[BaseModel], fields: Sequence[str] | None
    ) -> list[EngineOutput | EngineError]:
        """Every page of every document through the pool; per document, the merged output or the error."""
        pool = self._executor()
        futures = [[pool.submit(self._extract_page, p, schema, fields) for p in pages] for pages in docs]
        results: list[EngineOutput | EngineError] = []
        for pages, futs in zip(docs, futures, strict=True):
            outcomes: list[EngineOutput | DocvlmError] = []
            for fut in futs:
                try:
                    outcomes.append(fut.result())
                except (EngineError, DecodeError) as exc:
                    outcomes.append(exc)
            results.append(merge_document(pages, outcomes, schema))
        return results

    def extract(self, pages: Sequence[Page], schema: type[BaseModel]) -> EngineOutput:
        """Extract ``schema`` from the pages of one document; ``EngineError`` when every page failed."""
        return self.extract_fields(pages, schema, None)

    def extract_fields(
        self, pages: Sequence[Page], schema: type[BaseModel], fields: Sequence[str] | None
    ) -> EngineOutput:
        """Like ``extract`` but asks the model only for ``fields`` (dotted paths; None: all)."""
        result = self._run_pages([pages], schema, fields)[0]
        if isinstance(result, EngineError):
            raise result
        return result

    def extract_batch(self, docs: Sequence[Sequence[Page]], schema: type[BaseModel]) -> list[EngineOutput]:
        """All pages of all documents concurrently (bounded by ``max_concurrency``)."""
        results = self._run_pages(docs, schema, None)
        for r in results:
            if isinstance(r, EngineError):
                raise r
        return [r for r in results if isinstance(r, EngineOutput)]

    # ---- question answering ----------------------------------------------------------------

    def answer(self, pages: Sequence[Page], question: str) -> Answer:
        """Answer ``question`` from the words (and images) of ``pages``; the answer text as printed."""
        images: list[Image.Image] = []
        for page in list(pages)[:MAX_QA_PAGES]:
            images.extend(self._page_images(page))
        prompt = build_qa_prompt(pages, question, max_words=self.options.max_prompt_words, images=images)
        try:
            out = run_with_reask(
                self._generate,
                prompt,
                _QAReply,
                max_attempts=self.options.max_attempts,
                temperature=self.options.temperature,
                temperature_step=self.options.temperature_step,
                fallback=None,
            )
        except DecodeError as exc:
            _log.warning("no usable answer from the model (%s); asking the layout engine", exc)
            return self._layout().answer(pages, question)
        text = " ".join(str(out.data.get("answer") or "").split())
        _log.debug("answer usage: %s", out.usage)
        if not text:
            return Answer(answer="", confidence=0.0)
        return _grounded_answer(text, pages)

    def close(self) -> None:
        """Close the HTTP client and the worker threads."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._client.close()
        if self._fallback_engine is not None:
            self._fallback_engine.close()


def merge_document(
    pages: Sequence[Page], outcomes: Sequence[EngineOutput | DocvlmError], schema: type[BaseModel]
) -> EngineOutput | EngineError:
    """A document's output from the outcomes of its pages: merged, failed pages as ``page_error``.

    ``EngineError`` when the document has no pages or every page failed.
    """
    outs = [o for o in outcomes if isinstance(o, EngineOutput)]
    errors = [
        f"page {page.number}: {o}"
        for page, o in zip(pages, outcomes, strict=True)
        if not isinstance(o, EngineOutput)
    ]
    if not pages:
        return EngineError("the document has no pages")
    if not outs:
        return EngineError("; ".join(errors)[:1000])
    merged = merge_page_outputs(outs)
    merged.document_type = _document_type(schema)
    merged.warnings.extend(RecordWarning("page_error", e) for e in errors)
    return merged


def _grounded_answer(text: str, pages: Sequence[Page]) -> Answer:
    """The answer with the page and box of the words it was copied from, when they can be found."""
    from docvlm.ground import find_evidence

    ev = find_evidence(text, "answer", pages)
    if ev is None:
        return Answer(answer=text, confidence=UNGROUNDED_ANSWER_CONFIDENCE)
    return Answer(answer=text, page=ev.page, bbox=list(ev.bbox), confidence=round(0.9 * ev.score, 4))


__all__ = ["OpenAIEngine", "merge_document"]
