"""The types that flow through the pipeline: Document -> Page(words) -> EngineOutput -> Extraction."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

    from docvlm.geometry import Line

BBox = tuple[float, float, float, float]


class Status(str, enum.Enum):
    OK = "ok"
    PARTIAL = "partial"
    ERROR = "error"


class WordSource(str, enum.Enum):
    TEXT_LAYER = "text"
    OCR = "ocr"


@dataclass(slots=True)
class Word:
    """One word (or OCR text run) with its box in page coordinates (PDF points or image pixels)."""

    text: str
    bbox: BBox
    page: int = 1
    conf: float = 1.0
    line: int = -1  # id of the text line the word belongs to on its page, -1 when unknown
    block: int = -1

    @property
    def x0(self) -> float:
        return self.bbox[0]

    @property
    def y0(self) -> float:
        return self.bbox[1]

    @property
    def x1(self) -> float:
        return self.bbox[2]

    @property
    def y1(self) -> float:
        return self.bbox[3]

    @property
    def cx(self) -> float:
        return (self.bbox[0] + self.bbox[2]) / 2

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]

    def scaled(self, sx: float, sy: float | None = None, page: int | None = None) -> Word:
        """A copy with the box scaled (e.g. OCR pixels to PDF points), optionally on another page."""
        sy = sx if sy is None else sy
        x0, y0, x1, y1 = self.bbox
        return Word(
            text=self.text,
            bbox=(x0 * sx, y0 * sy, x1 * sx, y1 * sy),
            page=self.page if page is None else page,
            conf=self.conf,
            line=self.line,
            block=self.block,
        )


@dataclass
class Page:
    """A page: its size, its words, and a lazy renderer for its image.

    ``render(dpi)`` returns an RGB PIL image; for raster inputs the dpi is ignored and the
    native image is returned. ``scale`` converts page units to pixels of the native render.
    """

    number: int  # 1-based
    width: float
    height: float
    unit: str  # "pt" for PDF pages, "px" for images
    words: list[Word] = field(default_factory=list)
    word_source: WordSource = WordSource.TEXT_LAYER
    rotation: int = 0  # degrees the page was rotated by to make it upright
    render: Callable[[int], Image.Image] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # findings of ingest about this page that belong on the record (e.g. ``text_layer_replaced``)
    warnings: list[RecordWarning] = field(default_factory=list)
    _lines: list[Line] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def lines(self) -> list[Line]:
        """The page's words grouped into text lines (``geometry.group_lines``), computed once.

        Stages and engines share this grouping; a stage that changes ``words`` calls ``invalidate_lines``.
        """
        if self._lines is None:
            from docvlm.geometry import group_lines  # geometry imports this module

            self._lines = group_lines(self.words)
        return self._lines

    def invalidate_lines(self) -> None:
        self._lines = None

    def image(self, dpi: int = 200) -> Image.Image:
        if self.render is None:
            raise ValueError(f"page {self.number} has no renderer")
        return self.render(dpi)

    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class EmbeddedXml:
    """The invoice XML of an e-invoice: an attachment of a hybrid PDF, or a bare XML file.

    ``data`` is None when the XML was found but not read (``error`` says why, e.g. too large).
    """

    name: str  # the attachment's file name, or the bare file's name
    data: bytes | None
    error: str | None = None


@dataclass
class Document:
    """An input file. Pages are produced lazily by ``iter_pages`` so memory stays flat."""

    source: str
    sha256: str
    media_type: str  # "pdf", "image" or "xml" (a bare e-invoice, no pages)
    page_count: int
    iter_pages: Callable[[], Iterator[Page]]
    close: Callable[[], None] = lambda: None
    einvoice: EmbeddedXml | None = None  # the e-invoice XML the file carries, if any

    def pages(self) -> Iterator[Page]:
        return self.iter_pages()


@dataclass(slots=True)
class Evidence:
    """Where a value came from: 1-based page, box in page units, the printed text and a match score."""

    page: int
    bbox: BBox
    text: str
    score: float = 1.0
    source: str | None = None  # where the value came from when not read off the page ("xml")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "page": self.page,
            "bbox": [round(v, 2) for v in self.bbox],
            "text": self.text,
            "score": round(self.score, 4),
        }
        if self.source is not None:
            d["source"] = self.source
        return d


@dataclass(slots=True)
class RecordWarning:
    """A non-fatal finding on a record (a failed business rule, an ungrounded value...)."""

    code: str
    message: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            d["field"] = self.field
        return d


@dataclass
class Attempt:
    """One try of a generative engine: what it produced and why it was rejected, if it was."""

    number: int
    raw: str
    error: str | None = None
    temperature: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "raw": self.raw[:2000],
            "error": self.error,
            "temperature": self.temperature,
        }


@dataclass
class EngineOutput:
    """What an engine returns: schema-shaped raw values plus any evidence it already has.

    ``data`` is a JSON-like dict in the shape of the target schema, values as printed or
    normalised strings; the validate stage turns it into the Pydantic model. ``evidence`` and
    ``confidence`` are keyed by dotted paths (``vendor.name``, ``line_items.3.amount``).
    """

    data: dict[str, Any]
    evidence: dict[str, Evidence] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    warnings: list[RecordWarning] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    fallback: bool = False
    document_type: str = "invoice"
    # paths produced by a generative model, which grounding must verify against the page
    generated: set[str] = field(default_factory=set)
    # where the values came from when not from the page ("xml"): grounding marks their evidence
    # with it and keeps their confidence, found on the page or not
    source: str | None = None
    # paths that should be printed on the page -> the warning grounding gives when one is not
    expect_on_page: dict[str, str] = field(default_factory=dict)


@dataclass
class Extraction:
    """The result for one document; ``to_record`` gives the public output contract.

    A file that holds several invoices gives one Extraction per invoice, all with the file's
    ``source`` and ``sha256``: ``part`` is the invoice's 1-based position in the file, ``parts``
    how many the file holds, ``page_range`` its first and last page (1-based, of the file) and
    ``pages`` its page count. A file of one invoice has ``part == parts == 1``.
    """

    source: str
    sha256: str | None = None
    status: Status = Status.OK
    document_type: str = "invoice"
    engine: str = "layout"
    pages: int = 0
    part: int = 1
    parts: int = 1
    page_range: tuple[int, int] | None = None
    data: dict[str, Any] | None = None
    evidence: dict[str, Evidence] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    warnings: list[RecordWarning] = field(default_factory=list)
    error: dict[str, str] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    # an e-invoice's XML: syntax, profile, attachment name, XSD result (None for other documents)
    einvoice: dict[str, Any] | None = None

    @classmethod
    def from_error(
        cls,
        source: str,
        exc: BaseException,
        sha256: str | None = None,
        engine: str = "layout",
        pages: int = 0,
    ) -> Extraction:
        return cls(
            source=source,
            sha256=sha256,
            status=Status.ERROR,
            engine=engine,
            pages=pages,
            data=None,
            error={"type": type(exc).__name__, "message": str(exc) or type(exc).__name__},
        )

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Extraction:
        """Inverse of ``to_record`` (used to pass results between processes)."""
        return cls(
            source=rec["source"],
            sha256=rec.get("sha256"),
            status=Status(rec["status"]),
            document_type=rec.get("document_type", "invoice"),
            engine=rec.get("engine", "layout"),
            pages=rec.get("pages", 0),
            part=rec.get("part", 1),
            parts=rec.get("parts", 1),
            page_range=tuple(rec["page_range"]) if rec.get("page_range") else None,  # type: ignore[arg-type]
            data=rec.get("data"),
            evidence={
                k: Evidence(v["page"], tuple(v["bbox"]), v["text"], v["score"], v.get("source"))  # type: ignore[arg-type]
                for k, v in (rec.get("evidence") or {}).items()
            },
            confidence=dict(rec.get("confidence") or {}),
            warnings=[
                RecordWarning(w["code"], w["message"], w.get("field")) for w in rec.get("warnings") or []
            ],
            error=rec.get("error"),
            timings=dict(rec.get("timings") or {}),
            attempts=[Attempt(**a) for a in rec.get("attempts") or []],
            usage=dict(rec.get("usage") or {}),
            einvoice=rec.get("einvoice"),
        )

    def to_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "source": self.source,
            "sha256": self.sha256,
            "status": self.status.value,
            "document_type": self.document_type,
            "engine": self.engine,
            "pages": self.pages,
            "part": self.part,
            "parts": self.parts,
            "page_range": list(self.page_range) if self.page_range else None,
            "data": self.data,
            "evidence": {k: v.to_dict() for k, v in self.evidence.items()},
            "confidence": {k: round(v, 4) for k, v in self.confidence.items()},
            "warnings": [w.to_dict() for w in self.warnings],
            "error": self.error,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }
        if self.attempts:
            rec["attempts"] = [a.to_dict() for a in self.attempts]
        if self.usage:
            rec["usage"] = dict(self.usage)
        if self.einvoice is not None:
            rec["einvoice"] = dict(self.einvoice)
        return rec
