"""Text-layer quality: is a PDF page's text layer the page's real text, or should the page be OCR'd?

In: a PyMuPDF page, the words of its text layer, the OCR mode (``auto | force | never``) and the
OCR options. Out: a ``TextLayerVerdict`` (use the layer or OCR the page, the measured scores, and
the warning to put on the record when a layer is thrown away).

The cheap checks run on every page and cost well under a millisecond on a born-digital page:
- glyphs without Unicode (U+FFFD, private use, controls: a font without a usable ToUnicode map);
- character classes (letters, digits and common punctuation against odd symbols);
- the dictionary-word rate: the share of words of 3+ letters that are common words of
  English, German, French, Dutch or Spanish (``docvlm/wordlists/*.txt``).
Only pages that carry a large image are looked at more closely: does the image cover the page,
and is the text invisible (render mode 3, the OCR layer of a "searchable" scan)? Such a layer is
a machine's guess at the scan, so it is checked against a quick OCR sample (a few of its lines
cropped from the rendered page and read again), as is any layer whose cheap scores are in doubt.
"""

from __future__ import annotations

import enum
import logging
import math
import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from docvlm.datamodel import BBox, RecordWarning, Word
from docvlm.geometry import union
from docvlm.ocr import OcrOptions

_log = logging.getLogger(__name__)

OcrMode = Literal["auto", "force", "never"]

# a text layer with fewer letters/digits than this on an image-covered page is a scanner stamp, not the text
MIN_TEXT_CHARS = 20
# share of a page covered by images above which a page counts as a scan
SCANNED_IMAGE_COVERAGE = 0.5
# an image needs this many pixels to be a scan candidate (an A4 scan at 100 dpi has 0.9 MP; a logo fewer)
SCAN_MIN_PIXELS = 100_000
# ... and its aspect ratio within this log-ratio of the page's (either way round: 0.15 is about 16%)
SCAN_MAX_SHAPE_LOG = 0.15
# share of glyphs without Unicode above which a layer is garbage; above DOUBT it is checked by OCR
MAX_BAD_GLYPHS = 0.3
DOUBT_BAD_GLYPHS = 0.05
# share of characters that are neither letters, digits, spaces nor common punctuation
DOUBT_ODD_CHARS = 0.25
# dictionary-word rate: on 48 born-digital invoice pages in 5 languages it was 0.24-0.74; on the same
# pages with each word's letters shuffled 0.00-0.13. Below REPLACE (with enough words) the layer is
# garbage; below DOUBT it is checked by OCR
REPLACE_WORD_RATE = 0.08
DOUBT_WORD_RATE = 0.2
MIN_RATED_WORDS = 15
# the OCR sample: this many text-layer lines, rendered at this dpi, must agree at least this well
SAMPLE_LINES = 6
SAMPLE_DPI = 200
MIN_AGREEMENT = 0.6

_EDGE_PUNCT = ".,:;!?'\"()[]{}<>«»“”„‘’*/\\-–—"
# glyphs without Unicode: the replacement character, private use, controls, surrogates
_BAD_GLYPH_RE = re.compile("[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# odd: neither a letter, a digit, a space, nor punctuation and symbols that invoices print
_ODD_RE = re.compile(
    "[^\\w\\s\ufffd\ue000-\uf8ff\x00-\x1f\x7f-\x9f"
    + re.escape(".,:;!?'\"()[]{}-–—/\\%&@#*+=<>|~^°§€$£¥₹¢’‘“”„«»·•…")
    + "]"
)


class Verdict(str, enum.Enum):
    USE = "use"  # the text layer is the page's text
    OCR = "ocr"  # no usable text layer (empty, a stamp, or OCR forced): OCR without a warning
    REPLACE = "replace"  # the layer is wrong: OCR the page and warn


@dataclass
class TextLayerScore:
    """What was measured on one page's text layer (None: not measured, it was not needed)."""

    chars: int = 0
    bad_glyphs: float = 0.0
    odd_chars: float = 0.0
    word_rate: float | None = None
    rated_words: int = 0
    image_coverage: float | None = None
    invisible: float | None = None  # share of the layer's text runs nobody sees (invisible or under an image)
    agreement: float | None = None  # similarity of the layer's lines to a quick OCR of them

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class TextLayerVerdict:
    verdict: Verdict
    reason: str
    score: TextLayerScore = field(default_factory=TextLayerScore)
    sample_s: float = 0.0  # time spent on the OCR sample

    @property
    def use_text_layer(self) -> bool:
        return self.verdict is Verdict.USE

    def warning(self, page_number: int) -> RecordWarning | None:
        if self.verdict is not Verdict.REPLACE:
            return None
        return RecordWarning(
            "text_layer_replaced", f"page {page_number}: text layer {self.reason}; the page was OCR'd"
        )


# ---------------------------------------------------------------- the word list


def _fold_table() -> dict[int, str]:
    """Accented Latin letters to their base letters (é -> e), for ``str.translate``."""
    table = {}
    for code in range(0xC0, 0x250):
        base = "".join(c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c))
        if base != chr(code):
            table[code] = base
    return table


_FOLD = _fold_table()


def _fold(text: str) -> str:
    """Lower case without accents, so 'Straße'/'strasse' and 'numéro'/'numero' meet."""
    return text.casefold().translate(_FOLD)


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The common words of every list in ``docvlm/wordlists``, accent-folded."""
    words: set[str] = set()
    for entry in (resources.files("docvlm") / "wordlists").iterdir():
        if not entry.name.endswith(".txt"):
            continue
        for line in entry.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                words.update(_fold(w) for w in line.split())
    return frozenset(words)


def word_rate(words: Iterable[str]) -> tuple[float | None, int]:
    """Share of the Latin-letter words (3+ letters, edge punctuation stripped) that are common words,
    and how many there were.

    None when there are none, or when most words are of another script (the lists are Latin-only).
    Comprehensions over the words: a regular expression over the page text was 7x slower.
    """
    text = " ".join(words).casefold()
    alpha = [t for t in (w.strip(_EDGE_PUNCT) for w in text.split()) if len(t) > 2 and t.isalpha()]
    if not alpha:
        return None, 0
    vocab = common_words()
    if text.isascii():
        return sum(map(vocab.__contains__, alpha)) / len(alpha), len(alpha)
    latin = [t for t in alpha if t.isascii() or max(t) <= "\u024f"]
    if not latin or len(alpha) - len(latin) > len(latin):
        return None, 0
    hits = sum(t in vocab or (not t.isascii() and _fold(t) in vocab) for t in latin)
    return hits / len(latin), len(latin)


def _char_shares(text: str) -> tuple[int, float, float]:
    """Characters of ``text`` (words joined without spaces), share without Unicode (U+FFFD, private
    use, controls), share of odd symbols. ASCII text (most pages) has neither, checked in C."""
    n = len(text)
    if not n:
        return 0, 1.0, 0.0
    if text.isascii() and text.isprintable():
        return n, 0.0, 0.0
    return n, len(_BAD_GLYPH_RE.findall(text)) / n, len(_ODD_RE.findall(text)) / n


# ---------------------------------------------------------------- the page's images and hidden text


def _has_scan_image(page: Any) -> bool:
    """Does the page use a large image shaped like the page (a scan, not a logo)? Listing images is cheap."""
    big = [(img[2], img[3]) for img in page.get_images(full=False) if img[2] * img[3] >= SCAN_MIN_PIXELS]
    if not big:
        return False
    rect = page.rect  # bounding the page costs more than listing its images: only when needed
    page_shape = (abs(rect.width) or 1.0) / (abs(rect.height) or 1.0)
    return any(
        min(abs(math.log(w / h / page_shape)), abs(math.log(h / w / page_shape))) <= SCAN_MAX_SHAPE_LOG
        for w, h in big
        if w and h
    )


def _inside(inner: BBox, outer: BBox) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def image_cover(page: Any) -> tuple[float, float]:
    """Share of the page under images, and share of its text runs that nobody sees.

    A run is unseen when it is invisible (render mode 3: MuPDF's ``ignore-text``) or drawn before an
    image that covers it (an OCR layer put under the scan). Both come from one pass over the
    page's drawing log, in painting order.
    """
    area = abs(page.rect.width * page.rect.height) or 1.0
    covered = 0.0
    texts: list[tuple[BBox, bool]] = []  # (box, invisible) in painting order
    hidden_by_image = 0
    for kind, box in page.get_bboxlog():
        if kind.endswith("-text"):
            texts.append((tuple(box), kind == "ignore-text"))  # type: ignore[arg-type]
        elif kind == "fill-image":
            x0, y0, x1, y1 = box
            covered += max(0.0, min(x1, page.rect.x1) - max(x0, page.rect.x0)) * max(
                0.0, min(y1, page.rect.y1) - max(y0, page.rect.y0)
            )
            keep = []
            for t in texts:
                if not t[1] and _inside(t[0], box):
                    hidden_by_image += 1
                else:
                    keep.append(t)
            texts = keep
    invisible = sum(1 for _, inv in texts if inv)
    total = len(texts) + hidden_by_image
    return min(1.0, covered / area), (invisible + hidden_by_image) / total if total else 0.0


# ---------------------------------------------------------------- the OCR sample


def _sample_lines(words: Sequence[Word], n: int) -> list[tuple[str, BBox]]:
    """Up to ``n`` of the layer's text lines (by PyMuPDF line id) with the most letters and digits."""
    by_line: dict[int, list[Word]] = {}
    for w in words:
        by_line.setdefault(w.line, []).append(w)
    lines = []
    for ws in by_line.values():
        text = " ".join(w.text for w in sorted(ws, key=lambda w: w.x0))
        alnum = sum(c.isalnum() for c in text)
        box = union(w.bbox for w in ws)
        if alnum >= 4 and box[3] - box[1] >= 3:
            lines.append((alnum, text, box))
    lines.sort(key=lambda t: -t[0])
    return [(text, box) for _, text, box in lines[:n]]


def _squash(text: str) -> str:
    return "".join(c for c in _fold(text) if c.isalnum())


def ocr_agreement(page: Any, words: Sequence[Word], ocr: OcrOptions) -> float | None:
    """Median similarity (0-1) of sampled text-layer lines to the OCR of the same spots on the rendered page.

    None when nothing can be sampled or no OCR backend is available.
    """
    import pymupdf
    from PIL import Image
    from rapidfuzz.fuzz import ratio

    from docvlm.errors import OcrError
    from docvlm.ocr import get_ocr

    lines = _sample_lines(words, SAMPLE_LINES)
    if not lines:
        return None
    try:
        backend = get_ocr(ocr)
    except OcrError as e:
        _log.warning("no OCR backend to check the text layer with: %s", e)
        return None
    sims = []
    for text, (x0, y0, x1, y1) in lines:
        pad = 0.35 * (y1 - y0)
        clip = pymupdf.Rect(x0 - pad, y0 - pad, x1 + pad, y1 + pad) & page.rect
        if clip.is_empty:
            sims.append(0.0)
            continue
        pix = page.get_pixmap(clip=clip, dpi=SAMPLE_DPI, alpha=False, colorspace=pymupdf.csRGB)
        img = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
        read = " ".join(w.text for w in sorted(backend.recognize(img), key=lambda w: (w.line, w.x0)))
        a, b = _squash(text), _squash(read)
        sims.append(ratio(a, b) / 100.0 if a and b else 0.0)
    return statistics.median(sims)


# ---------------------------------------------------------------- the decision


def effective_ocr(mode: OcrMode, ocr: OcrOptions) -> OcrOptions:
    """The OCR options to open a document with: ``never`` reads no page by OCR (backend ``none``)."""
    return ocr.model_copy(update={"backend": "none"}) if mode == "never" else ocr


def check_text_layer(page: Any, words: Sequence[Word], mode: OcrMode, ocr: OcrOptions) -> TextLayerVerdict:
    """Decide whether a PDF page's words come from its text layer or from OCR; see the module docstring."""
    import time

    texts = [w.text for w in words]
    text = "".join(texts)  # words hold no spaces
    chars, bad, odd = _char_shares(text)
    score = TextLayerScore(chars=chars, bad_glyphs=bad if chars else 0.0, odd_chars=odd)
    if mode == "never" or ocr.backend == "none":
        # without a layer the page still goes the scan way (rendered, no words), as a scan should
        return TextLayerVerdict(Verdict.USE if chars else Verdict.OCR, "kept: OCR is off", score)
    if mode == "force":
        return TextLayerVerdict(Verdict.OCR, "OCR forced", score)
    if not chars:
        return TextLayerVerdict(Verdict.OCR, "empty", score)
    if bad > MAX_BAD_GLYPHS:
        return TextLayerVerdict(Verdict.REPLACE, f"has {bad:.0%} glyphs without Unicode", score)
    score.word_rate, score.rated_words = word_rate(texts)
    rated = score.rated_words >= MIN_RATED_WORDS and score.word_rate is not None
    if rated and score.word_rate is not None and score.word_rate < REPLACE_WORD_RATE:
        return TextLayerVerdict(
            Verdict.REPLACE,
            f"is garbled ({score.word_rate:.0%} of {score.rated_words} words are words)",
            score,
        )
    doubts = []
    if bad > DOUBT_BAD_GLYPHS:
        doubts.append(f"{bad:.0%} glyphs without Unicode")
    if odd > DOUBT_ODD_CHARS:
        doubts.append(f"{odd:.0%} odd symbols")
    if rated and score.word_rate is not None and score.word_rate < DOUBT_WORD_RATE:
        doubts.append(f"{score.word_rate:.0%} dictionary words")
    if _has_scan_image(page):
        score.image_coverage, score.invisible = image_cover(page)
        if score.image_coverage >= SCANNED_IMAGE_COVERAGE:
            if sum(c.isalnum() for c in text) < MIN_TEXT_CHARS:
                return TextLayerVerdict(Verdict.OCR, "a stamp on a scanned page", score)
            if score.invisible > 0.5:
                doubts.append("invisible text over a scanned image")
    if not doubts:
        return TextLayerVerdict(Verdict.USE, "looks right", score)
    t0 = time.perf_counter()
    score.agreement = ocr_agreement(page, words, ocr)
    elapsed = time.perf_counter() - t0
    why = ", ".join(doubts)
    if score.agreement is None:
        _log.debug("text layer in doubt (%s) but could not be sampled; kept", why)
        return TextLayerVerdict(Verdict.USE, f"kept unverified ({why})", score, elapsed)
    if score.agreement < MIN_AGREEMENT:
        return TextLayerVerdict(
            Verdict.REPLACE,
            f"disagrees with OCR ({why}; its lines match a quick OCR {score.agreement:.0%})",
            score,
            elapsed,
        )
    return TextLayerVerdict(Verdict.USE, f"confirmed by OCR ({why})", score, elapsed)
