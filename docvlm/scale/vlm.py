"""VLMs at scale: the ``openai`` engine's pages, prompts and decoding around a ``ray.data.llm`` processor.

In: a dataset of (``source``, ``bytes``) (``dataset.read_sources``), the ``OpenAIOptions`` of the
prompt and decoding (model name, pixel budget, word budget, attempts, temperatures) and a
``ray.data.llm`` processor config: ``vLLMEngineProcessorConfig`` on a GPU cluster, or
``HttpRequestProcessorConfig`` against any OpenAI-compatible endpoint. Out: one output row per
document (``dataset.row_schema()``), as ``extract_dataset`` gives.

The flow, per page as the local engine works:
1. ``PageRequests`` (CPU actors): ingest and OCR, the page images fitted into ``max_pixels``, the
   OCR-grounded prompt (``OpenAIEngine.page_prompt``) and its chat messages.
2. ``max_attempts`` processor passes. docvlm's preprocess builds the request: for HTTP the chat body
   with ``response_format`` set to the bounded JSON schema, for vLLM the messages with the schema
   as ``structured_outputs``. Its postprocess records the reply and replays the replies so far
   through ``generative.reask.run_with_reask``: a reply that does not parse or validate gets the re-ask turn
   in the next pass. Rows that need no request in a pass (done, or their document failed ingest)
   go through as the processor's error rows (``__inference_error__``), which its stages and
   postprocess pass by untouched.
3. ``FinishDocuments``, per document (``groupby(source)``): the replies replayed through the
   engine's ``extract_page`` (re-asks, then the layout fallback), the pages merged
   (``merge_document``), validated and grounded by the pipeline, as ``docvlm extract`` does.

HTTP transport: the processor's HTTP stage gets a session (``EngineSessionFactory``) that sends
each request through ``OpenAIEngine.post_chat``: the same retries on 429 (Retry-After), 5xx and
timeouts, the same JSON-mode downgrade, the same errors, which become records, never a failed job.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from docvlm.datamodel import EngineOutput, Extraction, Page, Status, Word, WordSource
from docvlm.engines import OpenAIOptions
from docvlm.engines.generative.decode import BadReply
from docvlm.engines.generative.prompts import Prompt
from docvlm.engines.generative.reask import run_with_reask
from docvlm.errors import DecodeError, DocvlmError, EngineError, MissingDependency
from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.scale.dataset import RayOptions, import_ray, read_sources, records_to_table
from docvlm.split import split_documents
from schemas.resolve import resolve_schema

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.data import Dataset

    from docvlm.engines.openai_engine import OpenAIEngine

_log = logging.getLogger(__name__)

#: the processor's marker of a row its stages must pass by; rows that need no request carry this value
SKIP = "docvlm: no request in this pass"
ERROR_KEY = "__inference_error__"
#: the columns that carry a page from stage to stage
COLUMNS = (
    "source",
    "document",  # what the rows of one record share: the source, and the invoice's part of it
    "page",
    "skeleton",
    "page_json",
    "prompt_json",
    "messages_json",
    "replies_json",
    "next_json",
)


def _engine(options: dict[str, Any]) -> OpenAIEngine:
    from docvlm.engines.openai_engine import OpenAIEngine

    return OpenAIEngine(OpenAIOptions.model_validate(options))


# ---------------------------------------------------------------- pages as data


def page_to_json(page: Page) -> str:
    words = [[w.text, *w.bbox, w.conf, w.line, w.block] for w in page.words]
    meta = [page.number, page.width, page.height, page.unit, page.word_source.value, page.rotation]
    return json.dumps({"page": meta, "words": words}, ensure_ascii=False)


def page_from_json(text: str) -> Page:
    """A page with its words and size (no renderer: the images went with the request)."""
    obj = json.loads(text)
    number, width, height, unit, source, rotation = obj["page"]
    words = [
        Word(text=t, bbox=(x0, y0, x1, y1), page=number, conf=c, line=ln, block=b)
        for t, x0, y0, x1, y1, c, ln, b in obj["words"]
    ]
    return Page(number, width, height, unit, words, WordSource(source), rotation)


def _prompt_to_json(prompt: Prompt) -> str:
    keep = ("system", "user", "word_count", "truncated", "json_schema", "schema_name")
    return json.dumps({k: getattr(prompt, k) for k in keep}, ensure_ascii=False)


def _prompt_from_json(text: str) -> Prompt:
    return Prompt(images=[], **json.loads(text))


# ---------------------------------------------------------------- 1. ingest and prompts


class PageRequests:
    """Ray Data UDF: a batch of (source, bytes) in, one row per page with its prompt and messages out.

    A document that fails ingest gives one row (``page`` 0) that carries its error record.
    """

    def __init__(self, pipeline: dict[str, Any]) -> None:
        opts = PipelineOptions.model_validate(pipeline)
        if not isinstance(opts.engine, OpenAIOptions):
            raise EngineError("the Ray VLM stage takes OpenAIOptions for its prompts and decoding")
        self.pipe = Pipeline(opts)
        self.engine = _engine(opts.engine.model_dump())

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        rows: list[dict[str, Any]] = []
        for source, data in zip(
            batch.column("source").to_pylist(), batch.column("bytes").to_pylist(), strict=True
        ):
            rows.extend(self._rows(str(source), bytes(data or b"")))
        return pa.Table.from_pylist(rows, schema=_page_schema())

    def _rows(self, source: str, data: bytes) -> Iterator[dict[str, Any]]:
        ex, pages = self.pipe.load(source, data)
        if not pages:
            yield _row(source, 0, ex)
            return
        for part, part_pages in split_documents([(ex, pages)], self.pipe.options.split):
            yield from self._part_rows(source, part, part_pages)

    def _part_rows(self, source: str, ex: Extraction, pages: list[Page]) -> Iterator[dict[str, Any]]:
        for page in pages:
            try:
                prompt = self.engine.page_prompt(page, self.pipe.schema)
                messages = self.engine.chat_messages(prompt)
            except Exception as exc:  # a page that cannot be rendered fails alone, as in the local engine
                _log.warning("no prompt for page %d of %s: %s", page.number, source, exc)
                yield _row(
                    source,
                    page.number,
                    ex,
                    page=page,
                    replies=[{"engine_error": f"{type(exc).__name__}: {exc}"}],
                )
                continue
            nxt = {"followups": [], "temperature": self.engine.options.temperature}
            yield _row(source, page.number, ex, page=page, prompt=prompt, messages=messages, nxt=nxt)


def _row(
    source: str,
    number: int,
    ex: Extraction,
    page: Page | None = None,
    prompt: Prompt | None = None,
    messages: list[dict[str, Any]] | None = None,
    nxt: dict[str, Any] | None = None,
    replies: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "source": source,
        "document": f"{source}#{ex.part}",
        "page": number,
        "skeleton": json.dumps(ex.to_record(), ensure_ascii=False),
        "page_json": page_to_json(page) if page is not None else None,
        "prompt_json": _prompt_to_json(prompt) if prompt is not None else None,
        "messages_json": json.dumps(messages) if messages is not None else None,
        "replies_json": json.dumps(replies or []),
        "next_json": json.dumps(nxt) if nxt is not None else None,
    }


def _page_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([(c, pa.int64() if c == "page" else pa.string()) for c in COLUMNS])


# ---------------------------------------------------------------- 2. the processor passes


class _Pending(Exception):
    """Raised by the replay when the replies so far ask for another attempt."""

    def __init__(self, prompt: Prompt, temperature: float) -> None:
        super().__init__("another attempt is needed")
        self.prompt = prompt
        self.temperature = temperature


def replay(replies: list[dict[str, Any]], engine: OpenAIEngine | None, pending: bool) -> Any:
    """A ``generate`` for ``run_with_reask`` that answers with the recorded replies, in order.

    Past the last reply it raises ``_Pending`` (``pending``: another pass will ask) or ``BadReply``.
    """
    calls = iter(replies)

    def generate(
        prompt: Prompt, temperature: float, previous_error: str | None
    ) -> tuple[str, dict[str, int]]:
        reply = next(calls, None)
        if reply is None:
            if pending:
                raise _Pending(prompt, temperature)
            raise BadReply("no reply was recorded for this attempt")
        if reply.get("engine_error"):
            raise EngineError(reply["engine_error"])
        usage = {k: int(v) for k, v in (reply.get("usage") or {}).items()}
        if reply.get("bad"):
            raise BadReply(reply["bad"], raw=reply.get("text") or "", usage=usage)
        return reply.get("text") or "", usage

    return generate


def _reply_of(row: dict[str, Any], engine: OpenAIEngine) -> dict[str, Any]:
    """The reply of one pass as a recorded dict: from the HTTP stage's response or vLLM's generated text."""
    if "http_response" in row:
        resp = row["http_response"] or {}
        if resp.get("docvlm_error"):
            err = resp["docvlm_error"]
            if err.get("bad"):
                return {
                    "bad": err["message"],
                    "text": err.get("raw") or "",
                    "usage": resp.get("docvlm_usage") or {},
                }
            return {"engine_error": err["message"]}
        try:
            text, usage = engine.reply_text(resp.get("docvlm_reply") or resp, resp.get("docvlm_usage") or {})
        except BadReply as exc:
            return {"bad": str(exc), "text": exc.raw, "usage": exc.usage}
        return {"text": text, "usage": usage}
    usage = {"prompt_tokens": int(row.get("num_input_tokens") or 0)}
    usage["completion_tokens"] = int(row.get("num_generated_tokens") or 0)
    usage["requests"] = 1
    return {"text": row.get("generated_text") or "", "usage": usage}


class Preprocess:
    """docvlm's preprocess: the row's next request, as an HTTP chat body or as vLLM messages."""

    def __init__(self, options: dict[str, Any], http: bool) -> None:
        self.options = OpenAIOptions.model_validate(options)
        self.http = http

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if not row.get("next_json"):
            return {ERROR_KEY: SKIP}
        nxt = json.loads(row["next_json"])
        prompt = _prompt_from_json(row["prompt_json"])
        messages = json.loads(row["messages_json"])
        messages.extend({"role": role, "content": content} for role, content in nxt["followups"])
        schema = prompt.json_schema
        if self.http:
            body: dict[str, Any] = {
                "model": self.options.model,
                "messages": messages,
                "temperature": nxt["temperature"],
                "max_tokens": self.options.max_tokens,
            }
            if schema is not None:
                spec = {"name": prompt.schema_name, "schema": schema, "strict": True}
                body["response_format"] = {"type": "json_schema", "json_schema": spec}
            return {"payload": body, ERROR_KEY: ""}
        params: dict[str, Any] = {"temperature": nxt["temperature"], "max_tokens": self.options.max_tokens}
        if schema is not None:
            params["structured_outputs"] = {"json": schema}
        return {"messages": messages, "sampling_params": params, ERROR_KEY: ""}


class Postprocess:
    """docvlm's postprocess: record the reply, and replay the replies to see whether a re-ask is due."""

    def __init__(self, pipeline: dict[str, Any], last: bool) -> None:
        opts = PipelineOptions.model_validate(pipeline)
        self.schema_name = opts.schema_name
        self.options = opts.engine.model_dump()
        self.last = last
        self._engine: OpenAIEngine | None = None

    @property
    def engine(self) -> OpenAIEngine:
        if self._engine is None:  # built in the worker, after unpickling
            self._engine = _engine(self.options)
        return self._engine

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_engine": None}

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        schema = resolve_schema(self.schema_name).model
        out = {c: row.get(c) for c in COLUMNS}
        replies = json.loads(row["replies_json"])
        replies.append(_reply_of(row, self.engine))
        out["replies_json"] = json.dumps(replies, ensure_ascii=False)
        out["next_json"] = None
        if not self.last:
            opts = self.engine.options
            try:
                run_with_reask(
                    replay(replies, None, pending=True),
                    _prompt_from_json(row["prompt_json"]),
                    schema,
                    max_attempts=opts.max_attempts,
                    temperature=opts.temperature,
                    temperature_step=opts.temperature_step,
                    fallback=None,
                )
            except _Pending as p:
                out["next_json"] = json.dumps({"followups": p.prompt.followups, "temperature": p.temperature})
            except DocvlmError:
                pass  # settled: an engine error, or out of attempts; FinishDocuments replays it
        return out


def _settle(row: dict[str, Any]) -> dict[str, Any]:
    """After a pass: our columns only; an inference error of the processor becomes the page's engine error."""
    out = {c: row.get(c) for c in COLUMNS}
    err = row.get(ERROR_KEY) or ""
    if err and err != SKIP:
        replies = json.loads(out["replies_json"] or "[]")
        replies.append({"engine_error": f"inference failed: {err}"[:1000]})
        out["replies_json"] = json.dumps(replies)
        out["next_json"] = None
    return out


class EngineSessionFactory:
    """``session_factory`` of ``HttpRequestProcessorConfig``: requests go through ``OpenAIEngine.post_chat``.

    Each reply is a 200 JSON body: ``docvlm_reply`` (the server's body) and ``docvlm_usage``, or
    ``docvlm_error`` after the engine gave up, so that the HTTP stage never fails the job.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self._engine: OpenAIEngine | None = None

    def __call__(self) -> _EngineSession:
        if self._engine is None:
            self._engine = _engine(self.options)
        return _EngineSession(self._engine)


class _Response:
    def __init__(self, body: dict[str, Any]) -> None:
        self.status = 200
        self.reason = "OK"
        self._body = body

    async def json(self) -> dict[str, Any]:
        return self._body

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class _EngineSession:
    def __init__(self, engine: OpenAIEngine) -> None:
        self.engine = engine

    async def __aenter__(self) -> _EngineSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def post(self, url: str, headers: dict[str, Any] | None = None, data: Any = None) -> Any:
        return self._post(data)

    async def _post(self, data: Any) -> _Response:
        body = json.loads(data)
        spec = (body.get("response_format") or {}).get("json_schema") or {}
        prompt = Prompt(
            system="",
            user="",
            images=[],
            word_count=0,
            truncated=False,
            json_schema=spec.get("schema"),
            schema_name=spec.get("name", "answer"),
        )
        try:
            payload, usage = await asyncio.to_thread(
                self.engine.post_chat, prompt, float(body.get("temperature", 0.0)), body["messages"]
            )
        except BadReply as exc:
            error = {"type": "BadReply", "message": str(exc), "bad": True, "raw": exc.raw}
            return _Response({"docvlm_error": error, "docvlm_usage": exc.usage})
        except DocvlmError as exc:
            return _Response({"docvlm_error": {"type": type(exc).__name__, "message": str(exc)}})
        return _Response({"docvlm_reply": payload, "docvlm_usage": usage})


# ---------------------------------------------------------------- 3. documents


class FinishDocuments:
    """Ray Data UDF over the page rows of one document: its output record, as the local engine ends it."""

    def __init__(self, pipeline: dict[str, Any]) -> None:
        opts = PipelineOptions.model_validate(pipeline)
        self.pipe = Pipeline(opts)
        self.engine = _engine(opts.engine.model_dump())

    def __call__(self, group: pa.Table) -> pa.Table:
        rows = sorted(group.to_pylist(), key=lambda r: r["page"])
        return records_to_table([self._record(rows)])

    def _record(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        from docvlm.engines.openai_engine import merge_document

        ex = Extraction.from_record(json.loads(rows[0]["skeleton"]))
        if ex.status is Status.ERROR:
            return ex.to_record()
        pages = [page_from_json(r["page_json"]) for r in rows]
        outcomes: list[EngineOutput | DocvlmError] = []
        for page, row in zip(pages, rows, strict=True):
            replies = json.loads(row["replies_json"])
            try:
                if not row["prompt_json"]:
                    raise EngineError(replies[0]["engine_error"] if replies else "no prompt for this page")
                prompt = _prompt_from_json(row["prompt_json"])
                outcomes.append(
                    self.engine.extract_page(page, self.pipe.schema, prompt, replay(replies, None, False))
                )
            except (EngineError, DecodeError) as exc:
                outcomes.append(exc)
        result = merge_document(pages, outcomes, self.pipe.schema)
        if isinstance(result, EngineError):
            ex.fail(result)
        else:
            self.pipe.finish(ex, result, pages)
        return ex.to_record()


# ---------------------------------------------------------------- the stage


def extract_dataset_vlm(
    source: Any, config: Any, options: RayOptions | None = None, skip: set[str] | None = None
) -> Dataset:
    """One output row per document, the model run by the ``ray.data.llm`` processor of ``config``.

    ``options.pipeline.engine`` must be ``OpenAIOptions``: its model, ``max_pixels``,
    ``max_prompt_words``, ``max_tokens``, ``max_attempts`` and temperatures shape the requests and
    the decoding; with ``HttpRequestProcessorConfig`` its timeouts and retries drive the transport.
    """
    ray = import_ray()
    try:
        from ray.data.llm import HttpRequestProcessorConfig, build_processor
    except ImportError as e:  # ray.data.llm's HTTP stage needs aiohttp
        raise MissingDependency("ray.data.llm (aiohttp)", "ray") from e
    options = options or RayOptions()
    engine = options.pipeline.engine
    if not isinstance(engine, OpenAIOptions):
        raise EngineError("extract_dataset_vlm needs PipelineOptions(engine=OpenAIOptions(model=...))")
    http = isinstance(config, HttpRequestProcessorConfig)
    if http:
        base = config.url.rsplit("/chat/completions", 1)[0]
        engine = engine.model_copy(update={"base_url": base})
        config = config.model_copy(
            update={"session_factory": EngineSessionFactory(engine.model_dump()), "max_retries": 0}
        )
    pipeline = options.pipeline.model_copy(update={"engine": engine}).model_dump(mode="json")
    errors: list[dict[str, Any]] = []
    if isinstance(source, ray.data.Dataset):
        ds = source
    else:
        ds, errors = read_sources(source, skip, "openai")
    concurrency = options.concurrency or 1
    if ds is not None:
        ds = ds.map_batches(
            PageRequests,
            fn_constructor_kwargs={"pipeline": pipeline},
            batch_size=options.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_cpus=options.num_cpus,
        )
        for attempt in range(1, engine.max_attempts + 1):
            # build_processor wraps these in functions of a row, so they go as (picklable) instances
            processor = build_processor(
                config,
                preprocess=Preprocess(engine.model_dump(), http),
                postprocess=Postprocess(pipeline, last=attempt == engine.max_attempts),
                preprocess_map_kwargs={"num_cpus": 0},
                postprocess_map_kwargs={"num_cpus": 0},
            )
            ds = processor(ds).map(_settle, num_cpus=0)
        ds = ds.groupby("document", num_partitions=max(2, 2 * concurrency)).map_groups(
            FinishDocuments,
            fn_constructor_kwargs={"pipeline": pipeline},
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_cpus=0,
        )
    if errors:
        bad = ray.data.from_arrow(records_to_table(errors))
        ds = bad if ds is None else ds.union(bad)
    return ds if ds is not None else ray.data.from_arrow(records_to_table([]))


__all__ = [
    "EngineSessionFactory",
    "FinishDocuments",
    "PageRequests",
    "Postprocess",
    "Preprocess",
    "extract_dataset_vlm",
    "page_from_json",
    "page_to_json",
]
