"""The pipeline: paths in, one ``Extraction`` per input document out, whatever happens.

path -> ingest (Document, Pages with words) -> engine (EngineOutput: candidates; generative
engines decode and re-ask inside, where the model can be asked again) -> validate (Validated: the
schema's model, business-rule warnings) -> ground (Grounding: evidence, confidence) -> Extraction.
Validation and grounding run once, here. Failures become error records; the batch always goes on.
A document that carries e-invoice XML gets its EngineOutput from the XML instead
(``_read_einvoice``, per ``--einvoice``); validation and grounding are the same.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from docvlm.datamodel import EmbeddedXml, EngineOutput, Extraction, Page, RecordWarning
from docvlm.einvoice.reader import EinvoiceOptions, EinvoiceReader
from docvlm.engines import BaseEngine, EngineOptions, LayoutOptions, create_engine, schema_problem
from docvlm.errors import DocvlmError, EinvoiceError, EngineError, IngestError
from docvlm.ingest import IngestOptions, open_bytes, open_document
from docvlm.ocr import OcrOptions
from docvlm.ocr.base import threads_per_worker
from docvlm.runner import LimitOptions, run_batch
from docvlm.split import SplitOptions, split_documents
from docvlm.validate import validate
from schemas.docvqa import Answer
from schemas.invoice import Invoice
from schemas.resolve import ResolvedSchema, resolve_schema

if TYPE_CHECKING:
    from docvlm.evidence import PageIndex

_log = logging.getLogger(__name__)

#: files whose pages ``Pipeline.ask`` keeps for more questions
ASKED_FILES = 8


class PipelineOptions(BaseModel):
    """Everything a run needs; the CLI flags and ``DOCVLM_*`` settings map onto this.

    ``ingest``, ``ocr`` and ``workers`` default to the ``DOCVLM_*`` settings (``DOCVLM_DPI``,
    ``DOCVLM_OCR_BACKEND``, ...); an argument given explicitly wins over them.
    """

    model_config = ConfigDict(extra="forbid")

    engine: EngineOptions = Field(default_factory=LayoutOptions)
    ingest: IngestOptions = Field(default_factory=IngestOptions)
    ocr: OcrOptions = Field(default_factory=OcrOptions)
    einvoice: EinvoiceOptions = Field(default_factory=EinvoiceOptions)
    schema_name: str = Field(
        default="invoice",
        description="a built-in schema (invoice, receipt, form), module:Class or a JSON Schema file",
    )
    schema_model: type[BaseModel] | None = Field(
        default=None,
        exclude=True,
        description="a Pydantic model class to extract (wins over schema_name; workers import it by name)",
    )
    workers: int = Field(default=1, ge=1)
    limits: LimitOptions = Field(default_factory=LimitOptions)
    split: SplitOptions = Field(default_factory=SplitOptions)

    @model_validator(mode="before")
    @classmethod
    def _settings_as_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or {"ingest", "ocr", "workers"} <= data.keys():
            return data
        from docvlm.settings import DocvlmSettings

        s = DocvlmSettings()
        defaults = {
            "ingest": {
                "dpi": s.dpi,
                "max_megapixels": s.max_megapixels,
                "max_file_mb": s.max_file_mb,
                "ocr_mode": s.ocr_mode,
            },
            "ocr": {"backend": s.ocr_backend, "threads": s.ocr_threads, "detector": s.ocr_detector},
            "workers": s.workers,
        }
        return {**defaults, **data}

    @model_validator(mode="after")
    def _share_cores(self) -> PipelineOptions:
        # workers x onnxruntime threads must not exceed the cores: oversubscribed, both run slower
        if self.ocr.threads is None:
            self.ocr = self.ocr.model_copy(update={"threads": threads_per_worker(self.workers)})
        return self

    @classmethod
    def from_settings(
        cls,
        dpi: int | None = None,
        ocr_backend: str | None = None,
        workers: int | None = None,
        ocr_mode: str | None = None,
        **overrides: Any,
    ) -> PipelineOptions:
        """Options from ``DOCVLM_*`` settings; arguments that are not None (CLI flags) win over them."""
        # workers go in before validation: the OCR threads per worker are worked out from them
        opts = cls(**overrides) if workers is None else cls(**{**overrides, "workers": workers})
        updates: dict[str, Any] = {}
        if dpi is not None or ocr_mode is not None:
            ingest = opts.ingest.model_dump()
            ingest.update({k: v for k, v in (("dpi", dpi), ("ocr_mode", ocr_mode)) if v is not None})
            updates["ingest"] = IngestOptions.model_validate(ingest)
        if ocr_backend is not None:
            updates["ocr"] = OcrOptions.model_validate({**opts.ocr.model_dump(), "backend": ocr_backend})
        return opts.model_copy(update=updates) if updates else opts


class Pipeline:
    """Runs documents through ingest, an engine, validation and grounding."""

    def __init__(
        self,
        options: PipelineOptions | None = None,
        engine: BaseEngine | None = None,
        schema: str | type[BaseModel] | None = None,
    ) -> None:
        """``schema`` (a model class, built-in name, module:Class or JSON Schema path) overrides the
        options' schema. Raises ``SchemaError`` for a schema that cannot be resolved."""
        self.options = options or PipelineOptions()
        if schema is not None:
            key = "schema_model" if isinstance(schema, type) else "schema_name"
            self.options = self.options.model_copy(update={key: schema})
        self.resolved: ResolvedSchema = resolve_schema(self.options.schema_model or self.options.schema_name)
        if self.resolved.spec is not None:  # worker processes resolve the same schema by this name
            self.options = self.options.model_copy(update={"schema_name": self.resolved.spec})
        self.schema: type[BaseModel] = self.resolved.model
        #: pages of recently asked files by sha256, so several questions on one file read it once
        self._asked: OrderedDict[str, list[Page]] = OrderedDict()
        self._engine = engine
        self._engine_injected = engine is not None
        #: called after a document is opened (page None) and after each page is read (worker progress)
        self.on_progress: Callable[[Extraction, Page | None], None] | None = None
        self._einvoice = EinvoiceReader(self.options.einvoice, self._layout_engine)

    @property
    def engine(self) -> BaseEngine:
        if self._engine is None:
            self._engine = create_engine(self.options.engine)
        return self._engine

    def check_schema(self) -> None:
        """Raise ``EngineError`` when the configured engine cannot extract this schema (before any file is read)."""
        if self._engine_injected:
            return
        problem = schema_problem(self.options.engine, self.schema)
        if problem:
            raise EngineError(
                f"--engine {self.engine_name} cannot extract schema {self.resolved.name!r}: {problem}"
            )

    @property
    def engine_name(self) -> str:
        return self.options.engine.kind

    def _layout_engine(self) -> BaseEngine:
        """The layout engine that checks e-invoice XML against the page: header fields only, configured
        as the pipeline's engine when that is the layout engine."""
        base = self.options.engine if isinstance(self.options.engine, LayoutOptions) else LayoutOptions()
        return create_engine(base.model_copy(update={"line_items": False}))

    # ---- loading -------------------------------------------------------------------------

    def load_pages(self, path: str | Path) -> list[Page]:
        """Ingest one file: its pages with words (text layer or OCR). Raises ``IngestError``."""
        doc = open_document(path, self.options.ingest, self.options.ocr)
        try:
            return list(doc.pages())
        finally:
            doc.close()

    # ---- one document -----------------------------------------------------------------------

    def extract(self, path: str | Path) -> Extraction:
        """Extract one file as one document; never raises for a bad document (returns an error record).

        A file that holds several invoices gives its first here; ``extract_all`` gives them all.
        """
        records = self.extract_all(path)
        if len(records) > 1:
            _log.warning(
                "%s holds %d invoices; extract() returns the first, use extract_all()", path, len(records)
            )
        return records[0]

    def extract_all(self, path: str | Path) -> list[Extraction]:
        """One record per invoice in the file (``--split auto``), or one record for the file."""
        return self._extract_many([path])

    def extract_bytes(self, items: Sequence[tuple[str, bytes]]) -> list[Extraction]:
        """Extract documents given as (source name, file bytes), e.g. read from object storage.

        The same records as ``extract`` on files of those names; never raises for a bad document.
        """
        return self._extract_loaded([self.load(source, data) for source, data in items])

    def load(self, path: str | Path, data: bytes | None = None) -> tuple[Extraction, list[Page]]:
        """Ingest one document, from its path or from ``data`` named ``path``: the record so far and its pages.

        A document that cannot be read gives an error record and no pages; never raises. A document
        whose data come from its e-invoice XML comes back finished, with no pages left to read.
        """
        source = str(path)
        t0 = time.perf_counter()
        ex = Extraction(source=source, engine=self.engine_name)
        try:
            if data is None:
                doc = open_document(path, self.options.ingest, self.options.ocr)
            else:
                doc = open_bytes(data, source, self.options.ingest, self.options.ocr)
        except DocvlmError as exc:
            return ex.fail(exc), []
        except Exception as exc:  # an unexpected library failure on this file must not stop the batch
            _log.exception("unexpected error opening %s", source)
            return ex.fail(IngestError(f"{type(exc).__name__}: {exc}")), []
        ex.sha256, ex.pages = doc.sha256, doc.page_count
        if self.on_progress:
            self.on_progress(ex, None)
        pages: list[Page] = []
        try:
            for page in doc.pages():
                pages.append(page)
                if self.on_progress:
                    self.on_progress(ex, page)
                ex.warnings.extend(page.warnings)
        except DocvlmError as exc:
            ex.warnings.append(RecordWarning("page_error", f"page {len(pages) + 1}: {exc}"))
        except Exception as exc:
            _log.exception("unexpected error reading a page of %s", source)
            ex.warnings.append(
                RecordWarning("page_error", f"page {len(pages) + 1}: {type(exc).__name__}: {exc}")
            )
        finally:
            doc.close()
        if not pages and doc.einvoice is None:
            msg = ex.warnings[0].message if ex.warnings else "no readable pages"
            return ex.fail(IngestError(msg)), []
        ex.timings["ingest_s"] = time.perf_counter() - t0
        for key in ("ocr_s", "ocr_cpu_s", "render_s"):
            total = sum(p.timings.get(key, 0.0) for p in pages)
            if total:
                ex.timings[key] = total
        if self._read_einvoice(ex, pages, doc.einvoice):
            return ex, []
        return ex, pages

    def _read_einvoice(self, ex: Extraction, pages: list[Page], xml: EmbeddedXml | None) -> bool:
        """The e-invoice step: data from the document's XML instead of an engine. False: read the page.

        Per ``--einvoice``: ``visual`` ignores the XML of a document with pages; XML that cannot
        be used adds a warning and leaves the document to the engine (a bare XML file, which has no
        page, becomes an error record).
        """
        if not self._einvoice.wants(xml, pages) or xml is None or not issubclass(self.schema, Invoice):
            return False
        from docvlm.evidence import PageIndex  # with the first e-invoice: the CLI's parent never reads one

        t0 = time.perf_counter()
        # one index of the pages for the cross-check's searches and grounding's
        index = PageIndex(pages) if pages else None
        result = self._einvoice.read(xml, pages, self.schema, index)
        ex.warnings.extend(result.warnings)
        if result.output is None:
            if not pages:
                ex.fail(EinvoiceError(result.warnings[-1].message))
            return not pages
        ex.engine, ex.einvoice = self._einvoice.name, result.info
        ex.timings["engine_s"] = time.perf_counter() - t0
        self.finish(ex, result.output, pages, index)
        return True

    def _extract_many(self, paths: Sequence[str | Path]) -> list[Extraction]:
        return self._extract_loaded([self.load(p) for p in paths])

    def _extract_loaded(self, loaded: list[tuple[Extraction, list[Page]]]) -> list[Extraction]:
        """Engine, validation and grounding for loaded documents; a file of several invoices gives one each."""
        # the boundaries are those of invoices: a file of another schema is one record
        split = self.options.split if issubclass(self.schema, Invoice) else SplitOptions(mode="never")
        loaded = split_documents(loaded, split)
        todo = [(ex, pages) for ex, pages in loaded if pages]
        outputs: list[EngineOutput | BaseException] = []
        if todo:
            t0 = time.perf_counter()
            try:
                if len(todo) == 1:
                    outputs = [self.engine.extract(todo[0][1], self.schema)]
                else:
                    outputs = list(self.engine.extract_batch([pages for _, pages in todo], self.schema))
            except Exception as exc:
                if len(todo) == 1:
                    outputs = [exc]
                else:  # isolate the failing document by running them one by one
                    outputs = [self._safe_extract(pages) for _, pages in todo]
            per_doc = (time.perf_counter() - t0) / len(todo)
            for (ex, pages), out in zip(todo, outputs, strict=True):
                ex.timings["engine_s"] = per_doc
                if isinstance(out, BaseException):
                    if not isinstance(out, DocvlmError):
                        _log.error("engine failed on %s: %r", ex.source, out)
                    ex.fail(out)
                else:
                    self.finish(ex, out, pages)
        for ex, _ in loaded:
            ex.timings["total_s"] = sum(
                v for k, v in ex.timings.items() if k in {"ingest_s", "engine_s", "post_s"}
            )
        return [ex for ex, _ in loaded]

    def _safe_extract(self, pages: list[Page]) -> EngineOutput | BaseException:
        try:
            return self.engine.extract(pages, self.schema)
        except Exception as exc:
            return exc

    def finish(
        self, ex: Extraction, out: EngineOutput, pages: Sequence[Page], index: PageIndex | None = None
    ) -> None:
        """The engine's candidates -> validate -> ground -> the record (``index``: the pages' ``PageIndex``
        when an earlier stage built one)."""
        from docvlm.ground import ground  # with the first record: the CLI's parent process never grounds

        t0 = time.perf_counter()
        validated = validate(out.data, self.schema)
        ex.complete(out, validated, ground(validated, out, pages, index))
        if not issubclass(self.schema, Invoice):  # a user's schema names its own document type
            ex.document_type = self.resolved.name
        ex.timings["post_s"] = time.perf_counter() - t0

    # ---- batches -------------------------------------------------------------------------

    def run(
        self,
        inputs: Iterable[str | Path],
        skip: Container[str] | None = None,
        on_source: Callable[[str], None] | None = None,
    ) -> Iterator[Extraction]:
        """One Extraction per input document, in input order. Folders are walked, globs expanded.

        ``skip`` holds sources already done (resume). With limits on (``options.limits``) or
        ``workers > 1``, documents run in supervised worker processes (``docvlm.runner``).
        """
        return run_batch(
            self.options,
            inputs,
            self._extract_many,
            skip,
            on_source,
            # a schema class that cannot be imported by name cannot reach a worker either
            engine_injected=self._engine_injected or self.resolved.spec is None,
        )

    def ask(self, path: str | Path, question: str) -> Answer:
        """Answer a question about one document with the configured engine.

        The pages (and so the OCR) of the last few files asked about are kept by sha256 on this
        pipeline: more questions on the same file read it once.
        """
        from docvlm.sources import file_sha256

        key = file_sha256(path)
        if key is None:  # not a readable file: ingest says why
            return self.engine.answer(self.load_pages(path), question)
        pages = self._asked.pop(key, None)
        if pages is None:
            pages = self.load_pages(path)
        self._asked[key] = pages
        while len(self._asked) > ASKED_FILES:
            self._asked.popitem(last=False)
        return self.engine.answer(pages, question)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()


def extract(path: str | Path, options: PipelineOptions | None = None) -> Extraction:
    """Convenience: extract one document with a fresh pipeline."""
    pipe = Pipeline(options)
    try:
        return pipe.extract(path)
    finally:
        pipe.close()
