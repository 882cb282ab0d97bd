"""Ingest: a path in, a lazily paged ``Document`` out, each page with its words and boxes.

PDF pages with a text layer give their words exactly (PyMuPDF, PDF points); scanned PDF pages
and images (PNG, JPEG, TIFF including multi-page, BMP, WebP) are OCR'd after orientation and
skew correction. An e-invoice's XML (an attachment of a hybrid PDF, or a bare ``.xml`` file,
which has no pages) is exposed as ``Document.einvoice``. Bad inputs (empty, corrupt, encrypted, mislabelled, oversized) raise
``IngestError`` with a message that says what is wrong, so the pipeline can record it.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from docvlm.datamodel import DEFAULT_DPI, Document, Page, Word, WordSource
from docvlm.errors import IngestError, MissingDependency, UnsupportedType
from docvlm.imaging import decode_png_grey, png_decodes_grey, to_grey, to_rgb, upright
from docvlm.ocr import OcrOptions
from docvlm.parsers import normalize_text
from docvlm.sources import (
    IMAGE_KINDS,
    SUPPORTED_SUFFIXES,
    UNSUPPORTED_DOCUMENT_SUFFIXES,
    bytes_sha256,
    describe,
    hash_file,
    sniff,
)
from docvlm.textlayer import OcrMode, check_text_layer, effective_ocr

_log = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20
# PIL's decompression-bomb limit is process-global; change it only under this lock
_PIXEL_LIMIT_LOCK = threading.Lock()


class IngestOptions(BaseModel):
    """How files are opened and rasterised."""

    model_config = ConfigDict(extra="forbid")
    dpi: int = Field(default=DEFAULT_DPI, ge=36, le=1200, description="raster dpi for OCR and VLMs")
    rasterizer: Literal["pymupdf", "pdf2image"] = "pymupdf"
    max_megapixels: float = Field(
        default=100.0, gt=0, description="larger images or rendered pages are rejected"
    )
    max_file_mb: float = Field(default=512.0, gt=0)
    max_pages: int = Field(default=5000, ge=1)
    ocr_mode: OcrMode = Field(
        default="auto",
        description="auto: OCR pages without a usable text layer (empty, garbled, or disagreeing with a quick "
        "OCR sample; see docvlm.textlayer); force: OCR every page; never: text layer or nothing",
    )
    max_xml_mb: float = Field(default=16.0, gt=0, description="larger e-invoice XML is refused unread")


# ---------------------------------------------------------------- opening


def open_document(
    path: str | Path, options: IngestOptions | None = None, ocr: OcrOptions | None = None
) -> Document:
    """Open a PDF or image file as a ``Document`` whose pages are produced lazily.

    In: a path, ingest options and OCR options. Out: a ``Document`` with sha256, media type and
    page count; ``iter_pages()`` yields ``Page`` objects one at a time with words filled
    (text layer or OCR) and a lazy ``render(dpi)``. Raises ``IngestError`` for a missing, empty,
    oversized, mislabelled, corrupt or encrypted file, or a PDF without pages.
    """
    options = options or IngestOptions()
    ocr = effective_ocr(options.ocr_mode, ocr or OcrOptions())
    p = Path(path)
    if not p.exists():
        raise IngestError(f"file not found: {p}")
    if not p.is_file():
        raise IngestError(f"not a regular file: {p}")
    _check_size(p, p.stat().st_size, options)
    try:
        sha, head = hash_file(p)
    except OSError as e:
        raise IngestError(f"cannot read {p}: {e}") from e
    return _open_by_content(p, sha, head, options, ocr)


def open_bytes(
    data: bytes, source: str, options: IngestOptions | None = None, ocr: OcrOptions | None = None
) -> Document:
    """Open a file's bytes (read from object storage, a queue, an upload) as a ``Document`` named ``source``.

    The same checks and the same ``Document`` as ``open_document``: ``source`` stands for the path
    in the record and in error messages, and its suffix is checked against the content as a
    file name's is. Pages render from the bytes, so nothing is written to disk.
    """
    options = options or IngestOptions()
    ocr = ocr or OcrOptions()
    f = MemoryFile(source, data)
    _check_size(f, len(data), options)
    return _open_by_content(f, bytes_sha256(data), data[:1024], options, ocr)


@dataclass(frozen=True)
class MemoryFile:
    """File bytes with the name they came from; the PDF and image readers open it like a path."""

    name: str
    data: bytes = field(repr=False)

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    def __str__(self) -> str:
        return self.name


def _check_size(p: Path | MemoryFile, size: int, options: IngestOptions) -> None:
    if size == 0:
        raise IngestError(f"empty file (0 bytes): {p}")
    if size > options.max_file_mb * 1024 * 1024:
        raise IngestError(
            f"file too large: {p} is {size / 2**20:.1f} MB, over the {options.max_file_mb:g} MB limit"
        )


def _open_by_content(
    p: Path | MemoryFile, sha: str, head: bytes, options: IngestOptions, ocr: OcrOptions
) -> Document:
    """Check the content against the name's suffix and open it as a PDF or an image."""
    try:
        return _open_checked(p, sha, head, options, ocr)
    except IngestError as e:
        e.sha256 = e.sha256 or sha  # the file was read: its error record keeps the hash
        raise


def _open_checked(
    p: Path | MemoryFile, sha: str, head: bytes, options: IngestOptions, ocr: OcrOptions
) -> Document:
    kind = sniff(head)
    suffix = p.suffix.lower()
    if suffix == ".pdf" and kind != "pdf":
        raise IngestError(f"not a PDF: {p} (its content is {describe(head)})")
    if suffix == ".xml" and kind not in ("xml", "pdf"):
        raise IngestError(f"not XML: {p} (its content is {describe(head)})")
    if suffix in SUPPORTED_SUFFIXES and suffix not in (".pdf", ".xml") and kind not in IMAGE_KINDS | {"pdf"}:
        raise IngestError(f"not an image: {p} (its content is {describe(head)})")
    # XML is too general a content to trust over the name: an .svg drawing is not an e-invoice
    if kind is None or (kind == "xml" and suffix in UNSUPPORTED_DOCUMENT_SUFFIXES):
        allowed = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedType(f"unsupported file type: {p} ({describe(head)}); supported: {allowed}")
    if suffix not in SUPPORTED_SUFFIXES or (kind == "pdf") != (suffix == ".pdf"):
        _log.warning("%s is named %r but contains %s; opening it by content", p, suffix, kind.upper())
    if kind == "pdf":
        return _open_pdf(p, sha, options, ocr)
    if kind == "xml":
        from docvlm.einvoice.attachment import open_xml_document

        if isinstance(p, MemoryFile):
            data = p.data
            return open_xml_document(str(p), sha, len(data), lambda: data, int(options.max_xml_mb * 2**20))
        return open_xml_document(str(p), sha, p.stat().st_size, p.read_bytes, int(options.max_xml_mb * 2**20))
    return _open_image(p, sha, options, ocr)


# ---------------------------------------------------------------- PDF


class _PdfHandle:
    """The open PyMuPDF document; pages rendered after ``close`` reopen the file for that render."""

    def __init__(self, path: Path | MemoryFile) -> None:
        _quiet_mupdf()
        self.path = path
        try:
            self.doc: Any = _open_pymupdf(path)
        finally:
            _log_mupdf_messages(path)

    def close(self) -> None:
        if self.doc is not None:
            self.doc.close()
            self.doc = None
        _log_mupdf_messages(self.path)

    def render(self, index: int, dpi: int) -> Image.Image:
        if self.doc is not None:
            return _pixmap_to_image(self.doc.load_page(index).get_pixmap(dpi=dpi, alpha=False))
        with _open_pymupdf(self.path) as doc:
            return _pixmap_to_image(doc.load_page(index).get_pixmap(dpi=dpi, alpha=False))


_MUPDF_QUIET = False


def _quiet_mupdf() -> None:
    """MuPDF's errors and warnings go to the log, never to stdout (which may carry JSONL)."""
    global _MUPDF_QUIET
    if _MUPDF_QUIET:
        return
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    pymupdf.set_messages(pylogging=True, pylogging_logger=_log, pylogging_level=logging.INFO)
    _MUPDF_QUIET = True


def _log_mupdf_messages(path: Path | MemoryFile) -> None:
    """Move what MuPDF collected while reading ``path`` to the log (and empty its store)."""
    import pymupdf

    text = pymupdf.TOOLS.mupdf_warnings(reset=True)
    if text:
        _log.info("MuPDF on %s: %s", path, "; ".join(text.splitlines()))


def _open_pymupdf(path: Path | MemoryFile) -> Any:
    import pymupdf

    if isinstance(path, MemoryFile):
        return pymupdf.open(stream=path.data, filetype="pdf")
    return pymupdf.open(path, filetype="pdf")


def _pixmap_to_image(pix: Any) -> Image.Image:
    mode = {1: "L", 3: "RGB", 4: "CMYK"}.get(pix.n)
    if mode is None:
        raise IngestError(f"unexpected pixmap with {pix.n} channels")
    img = Image.frombytes(mode, (pix.width, pix.height), pix.samples)
    return img if mode == "RGB" else img.convert("RGB")


def _open_pdf(p: Path | MemoryFile, sha: str, options: IngestOptions, ocr: OcrOptions) -> Document:
    import pymupdf

    if options.rasterizer == "pdf2image":
        try:
            import pdf2image  # noqa: F401
        except ImportError as e:
            raise MissingDependency("pdf2image", "pdf2image") from e
    try:
        handle = _PdfHandle(p)
    except (pymupdf.FileDataError, pymupdf.EmptyFileError, RuntimeError, ValueError) as e:
        raise IngestError(f"corrupt PDF: {p}: {e}") from e
    doc = handle.doc
    if doc.needs_pass:
        handle.close()
        raise IngestError(f"encrypted PDF: {p} needs a password to open")
    try:
        count = doc.page_count
    except RuntimeError as e:
        handle.close()
        raise IngestError(f"corrupt PDF: {p}: {e}") from e
    if count == 0:
        repaired = bool(getattr(doc, "is_repaired", False))
        handle.close()
        # MuPDF "repairs" a broken file into an empty one rather than failing to open it
        reason = "corrupt PDF (damaged beyond repair, no readable pages)" if repaired else "PDF has no pages"
        raise IngestError(f"{reason}: {p}")
    if count > options.max_pages:
        handle.close()
        raise IngestError(f"too many pages: {p} has {count}, over the limit of {options.max_pages}")
    from docvlm.einvoice.attachment import find_invoice_xml

    return Document(
        source=str(p),
        sha256=sha,
        media_type="pdf",
        page_count=count,
        iter_pages=lambda: _iter_pdf_pages(handle, count, options, ocr),
        close=handle.close,
        einvoice=find_invoice_xml(
            doc, str(p), int(options.max_xml_mb * 2**20), p.data if isinstance(p, MemoryFile) else None
        ),
    )


def _render_pdf_page(
    handle: _PdfHandle, index: int, dpi: int, options: IngestOptions, size_pt: tuple[float, float]
) -> Image.Image:
    """Rasterise one page at ``dpi`` with the configured rasteriser, refusing oversized renders."""
    mp = size_pt[0] * size_pt[1] * (dpi / 72.0) ** 2 / 1e6
    if mp > options.max_megapixels:
        raise IngestError(
            f"page {index + 1} of {handle.path} at {dpi} dpi would be {mp:.0f} megapixels, "
            f"over the {options.max_megapixels:g} MP limit; use a lower dpi"
        )
    if options.rasterizer == "pdf2image":
        import pdf2image

        try:
            first = last = index + 1
            if isinstance(handle.path, MemoryFile):
                imgs = pdf2image.convert_from_bytes(
                    handle.path.data, dpi=dpi, first_page=first, last_page=last
                )
            else:
                imgs = pdf2image.convert_from_path(
                    str(handle.path), dpi=dpi, first_page=first, last_page=last
                )
        except Exception as e:  # poppler missing or failing: one typed error for this page
            raise IngestError(
                f"pdf2image/poppler could not render page {index + 1} of {handle.path}: {e}"
            ) from e
        if not imgs:
            raise IngestError(f"pdf2image rendered nothing for page {index + 1} of {handle.path}")
        return to_rgb(imgs[0])
    try:
        return handle.render(index, dpi)
    except IngestError:
        raise
    except Exception as e:  # MuPDF raises plain RuntimeErrors on broken page content
        raise IngestError(f"cannot render page {index + 1} of {handle.path}: {e}") from e


def text_layer_words(page: Any, number: int) -> list[Word]:
    """Words of a PyMuPDF page's text layer, boxes in points of the page as displayed (rotation applied).

    ``Word.block`` is PyMuPDF's block number and ``Word.line`` a page-unique id of its
    (block, line) pair. Text is NFKC-normalised (ligatures split, odd spaces removed).
    """
    import pymupdf

    raw = page.get_text("words", sort=False)
    matrix = page.rotation_matrix if page.rotation else None
    line_ids: dict[tuple[int, int], int] = {}
    words: list[Word] = []
    for x0, y0, x1, y1, text, block, line, _ in raw:
        # normalize_text's own test, inline: most words are ASCII, printable and without spaces
        t = text if text.isascii() and text.isprintable() and " " not in text else normalize_text(text)
        if not t:
            continue
        if matrix is not None:
            r = pymupdf.Rect(x0, y0, x1, y1) * matrix
            x0, y0, x1, y1 = r.x0, r.y0, r.x1, r.y1
        key = (block, line)
        lid = line_ids.get(key)
        if lid is None:
            lid = line_ids[key] = len(line_ids)
        words.append(Word(t, (x0, y0, x1, y1), number, 1.0, lid, block))
    return words


def _ocr_dpi(options: IngestOptions, size_pt: tuple[float, float]) -> int:
    """The configured dpi, lowered if needed so the OCR render stays within the megapixel limit."""
    dpi = options.dpi
    mp = size_pt[0] * size_pt[1] * (dpi / 72.0) ** 2 / 1e6
    if mp > options.max_megapixels:
        dpi = max(36, int(72.0 * (options.max_megapixels * 1e6 / (size_pt[0] * size_pt[1])) ** 0.5))
        _log.warning(
            "page of %.0fx%.0f pt is OCR'd at %d dpi to stay under %g MP",
            *size_pt,
            dpi,
            options.max_megapixels,
        )
    return dpi


def _iter_pdf_pages(
    handle: _PdfHandle, count: int, options: IngestOptions, ocr: OcrOptions
) -> Iterator[Page]:
    for index in range(count):
        if handle.doc is None:
            raise IngestError(f"{handle.path} was closed while its pages were being read")
        number = index + 1
        t0 = time.perf_counter()
        try:
            page = handle.doc.load_page(index)
            size = (float(page.rect.width), float(page.rect.height))
            words = text_layer_words(page, number)
            layer = check_text_layer(page, words, options.ocr_mode, ocr)
        except IngestError:
            raise
        except Exception as e:  # MuPDF raises plain RuntimeErrors on broken page objects
            raise IngestError(f"cannot read page {number} of {handle.path}: {e}") from e
        del page
        timings = {"words_s": time.perf_counter() - t0 - layer.sample_s, "ocr_s": layer.sample_s}
        warning = layer.warning(number)
        if layer.use_text_layer:
            yield Page(
                number=number,
                width=size[0],
                height=size[1],
                unit="pt",
                words=words,
                word_source=WordSource.TEXT_LAYER,
                render=_pdf_renderer(handle, index, options, size, 0, 0.0),
                timings=timings,
                dpi=options.dpi,
            )
            continue
        dpi = _ocr_dpi(options, size)
        t1 = time.perf_counter()
        # held in a list and popped into OCR: no reference stays here, so OCR can let the
        # full-resolution pixels go once it has resampled the page
        rendered = [_render_pdf_page(handle, index, dpi, options, size)]
        timings["render_s"] = time.perf_counter() - t1
        t2, c2 = time.perf_counter(), time.process_time()
        from docvlm.ocr.page import ocr_page

        res = ocr_page(rendered.pop(), ocr)
        timings["ocr_s"] += time.perf_counter() - t2
        timings["ocr_cpu_s"] = time.process_time() - c2
        scale = 72.0 / dpi
        ocr_words = [w.scaled(scale, page=number) for w in res.words]
        width, height = res.size[0] * scale, res.size[1] * scale
        _log.debug(
            "page %d of %s: text layer %s, %d OCR words", number, handle.path, layer.reason, len(ocr_words)
        )
        yield Page(
            number=number,
            width=width,
            height=height,
            unit="pt",
            words=ocr_words,
            word_source=WordSource.OCR,
            rotation=res.rotation,
            render=_pdf_renderer(handle, index, options, size, res.rotation, res.skew),
            timings=timings,
            dpi=options.dpi,
            warnings=[warning] if warning else [],
        )


def _pdf_renderer(
    handle: _PdfHandle,
    index: int,
    options: IngestOptions,
    size_pt: tuple[float, float],
    rotation: int,
    skew: float,
) -> Callable[[int], Image.Image]:
    def render(dpi: int) -> Image.Image:
        img = _render_pdf_page(handle, index, dpi, options, size_pt)
        # the words of an OCR'd page are on the upright image, so the render must be upright too
        return upright(img, rotation, skew) if rotation or skew else img

    return render


# ---------------------------------------------------------------- images


@contextmanager
def _pixel_limit(max_megapixels: float) -> Iterator[None]:
    """Make PIL's decompression-bomb guard match our limit while a file is opened."""
    with _PIXEL_LIMIT_LOCK:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = int(max_megapixels * 1e6)
        try:
            with warnings.catch_warnings():
                # between 1x and 2x the limit PIL only warns; we reject those ourselves by size
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = old


def _open_lazy(p: Path | MemoryFile, options: IngestOptions) -> Image.Image:
    """Open an image reading only its header; too many pixels or an unreadable header -> IngestError."""
    try:
        with _pixel_limit(options.max_megapixels):
            img = Image.open(io.BytesIO(p.data) if isinstance(p, MemoryFile) else p)
    except Image.DecompressionBombError as e:
        raise IngestError(
            f"image too large: {p} claims more than {2 * options.max_megapixels:g} megapixels "
            f"(limit {options.max_megapixels:g} MP); refusing to decode it"
        ) from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise IngestError(f"corrupt or unreadable image: {p}: {e}") from e
    _check_pixels(img, p, options, 1)
    return img


def _check_pixels(img: Image.Image, p: Path | MemoryFile, options: IngestOptions, number: int) -> None:
    w, h = img.size
    if w <= 0 or h <= 0:
        raise IngestError(f"image has no pixels: {p} (page {number}: {w}x{h})")
    mp = w * h / 1e6
    if mp > options.max_megapixels:
        raise IngestError(
            f"image too large: {p} page {number} is {w}x{h} = {mp:.0f} megapixels, "
            f"over the {options.max_megapixels:g} MP limit; refusing to decode it"
        )


def _load_frame(p: Path | MemoryFile, index: int, options: IngestOptions, grey: bool = False) -> Image.Image:
    """Decode frame ``index`` of an image file as RGB (``grey``: as "L", for OCR) with EXIF orientation applied."""
    img = _open_lazy(p, options)
    handed_out = False
    try:
        if index:
            img.seek(index)
        _check_pixels(img, p, options, index + 1)
        if grey and index == 0 and png_decodes_grey(img):
            return decode_png_grey(p.data if isinstance(p, MemoryFile) else p)  # the size is checked
        if grey:
            img.draft("L", img.size)  # a JPEG is decoded straight to grey by libjpeg; others ignore it
        with _pixel_limit(options.max_megapixels):
            img.load()
        if index == 0:
            # in place: a transposed copy would hold a second set of pixels (100 MB at 600 dpi A4)
            ImageOps.exif_transpose(img, in_place=True)
        out = to_grey(img) if grey else to_rgb(img)
        if out is img and getattr(img, "fp", None) is None and int(getattr(img, "n_frames", 1) or 1) == 1:
            # a single-frame file is closed once decoded: the image already owns its pixels
            handed_out = True
            return img
        # the file handle is closed below, so the page must own its pixels
        return out.copy() if out is img else out
    except IngestError:
        raise
    except Image.DecompressionBombError as e:
        raise IngestError(f"image too large: {p} page {index + 1}: {e}") from e
    except (OSError, EOFError, SyntaxError, ValueError) as e:
        raise IngestError(f"corrupt or truncated image: {p} page {index + 1}: {e}") from e
    finally:
        if not handed_out:
            img.close()


def _open_image(p: Path | MemoryFile, sha: str, options: IngestOptions, ocr: OcrOptions) -> Document:
    img = _open_lazy(p, options)
    try:
        count = int(getattr(img, "n_frames", 1) or 1)
    except (OSError, EOFError, ValueError) as e:
        raise IngestError(f"corrupt or unreadable image: {p}: {e}") from e
    finally:
        img.close()
    if count > options.max_pages:
        raise IngestError(f"too many pages: {p} has {count} frames, over the limit of {options.max_pages}")
    return Document(
        source=str(p),
        sha256=sha,
        media_type="image",
        page_count=count,
        iter_pages=lambda: _iter_image_pages(p, count, options, ocr),
    )


def _iter_image_pages(
    p: Path | MemoryFile, count: int, options: IngestOptions, ocr: OcrOptions
) -> Iterator[Page]:
    for index in range(count):
        number = index + 1
        t0 = time.perf_counter()
        frame = [_load_frame(p, index, options, grey=True)]  # popped into OCR, as for PDF pages
        timings = {"render_s": time.perf_counter() - t0}
        t1, c1 = time.perf_counter(), time.process_time()
        from docvlm.ocr.page import ocr_page

        res = ocr_page(frame.pop(), ocr)
        timings["ocr_s"] = time.perf_counter() - t1
        # CPU seconds of the process: on a shared machine the wall time says more about the neighbours
        timings["ocr_cpu_s"] = time.process_time() - c1
        words = [
            Word(text=w.text, bbox=w.bbox, page=number, conf=w.conf, line=w.line, block=w.block)
            for w in res.words
        ]
        yield Page(
            number=number,
            width=float(res.size[0]),
            height=float(res.size[1]),
            unit="px",
            words=words,
            word_source=WordSource.OCR,
            rotation=res.rotation,
            render=_image_renderer(p, index, options, res.rotation, res.skew),
            timings=timings,
            dpi=options.dpi,
        )
        # drop this page's pixels before the next page is decoded
        del res


def _image_renderer(
    p: Path | MemoryFile, index: int, options: IngestOptions, rotation: int, skew: float
) -> Callable[[int], Image.Image]:
    def render(dpi: int) -> Image.Image:
        # raster pages have one native resolution; dpi is ignored. Decoding again keeps memory flat.
        img = _load_frame(p, index, options)
        return upright(img, rotation, skew) if rotation or skew else img

    return render
