"""The ``openai`` engine: any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, hosted).

In: the pages of a document (words, boxes, lazy image renderers) and a schema. Each page is sent
as one OCR-grounded prompt (``docvlm.engines.generative.prompts``) with the page image (or, for a
long page such as a till receipt, up to four tiles) as base64 data URLs, and ``response_format``
set to the bounded JSON schema (strict). Out: the per-page outputs merged into one
``EngineOutput`` (``generative.merge``), with token usage per document.

Transport: one ``httpx.Client`` per engine; requests are bounded by ``max_concurrency`` (a
semaphore around every request, so pages and documents share one limit), each has a timeout,
and 429 (honouring ``Retry-After``), 5xx, timeouts and connection errors are retried with
exponential backoff and jitter up to ``max_retries``, then ``EngineError``. A server that
rejects ``json_schema`` with a 400 is asked in JSON mode (``json_object``) from then on. The API
key is read from the env var ``api_key_env`` and never appears in logs or error messages.

Replies that are not JSON, are cut off, violate the schema or have no choices go through
``generative.reask.run_with_reask``; after ``max_attempts`` the page falls back to the layout engine.
"""

from __future__ import annotations

import base64
import email.utils
import io
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Page, RecordWarning, WordSource
from docvlm.engines import OpenAIOptions
from docvlm.engines.base import BaseEngine
from docvlm.engines.generative.answers import generate_answer
from docvlm.engines.generative.decode import BadReply
from docvlm.engines.generative.fallback import LazyEngine
from docvlm.engines.generative.images import ImageBudget, fit_page
from docvlm.engines.generative.merge import merge_page_outputs
from docvlm.engines.generative.prompts import Prompt, build_extraction_prompt
from docvlm.engines.generative.reask import run_with_reask
from docvlm.errors import DecodeError, DocvlmError, EngineError
from schemas.docvqa import Answer

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

#: a page longer than this ratio (a till receipt) is tiled rather than shrunk, to keep text legible
TILE_ASPECT = 2.2
MAX_TILES = 4
#: shrinking rounds before a long page that needs too many tiles goes as one image
TILE_ROUNDS = 6
#: pages of a document whose images go with a question (the words of all pages always do)
MAX_QA_PAGES = 4
#: longest wait a server's Retry-After may impose before we retry anyway
MAX_RETRY_AFTER_S = 60.0

#: key in ``PIL.Image.info`` marking a scan or photo (sent as JPEG rather than PNG)
PHOTO_KEY = "docvlm_photo"

_RESPONSE_MODES = ("json_schema", "json_object", "none")
_SECRETISH = re.compile(r"(Bearer\s+)\S+|\b(sk-[A-Za-z0-9_\-]{6,})", re.IGNORECASE)


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
        self._fallback = LazyEngine(engine=fallback)

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
        """The page as one image within ``max_pixels`` (a long page: up to ``MAX_TILES`` tiles).

        Images of raster and OCR'd pages are marked as photos (sent as JPEG).
        """
        if page.render is None:
            _log.debug("page %d has no renderer; sending its words only", page.number)
            return []
        max_px = self.options.max_pixels
        long_page = max(page.width, page.height) > TILE_ASPECT * max(1.0, min(page.width, page.height))
        tiles = MAX_TILES if long_page else 1
        images = fit_page(
            page, ImageBudget(pixels=max_px, max_images=tiles, area=max_px * tiles, rounds=TILE_ROUNDS)
        )
        for img in images:
            img.info[PHOTO_KEY] = page.unit == "px" or page.word_source == WordSource.OCR
        return images

    # ---- extraction ------------------------------------------------------------------------

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
        """One page through ``generate`` with re-asks, then the layout fallback (``generative.reask``).

        ``generate`` is this engine's HTTP call, or replies obtained elsewhere (a Ray Data stage).
        """

        def fallback() -> EngineOutput:
            return self._fallback.get().extract([page], schema)

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
        return generate_answer(self._generate, pages, question, images, self.options, self._fallback)

    def close(self) -> None:
        """Close the HTTP client and the worker threads."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._client.close()
        self._fallback.close()


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
    merged = merge_page_outputs(outs, schema)
    merged.document_type = schema.__name__.lower()
    merged.warnings.extend(RecordWarning("page_error", e) for e in errors)
    return merged


__all__ = ["OpenAIEngine", "merge_document"]
