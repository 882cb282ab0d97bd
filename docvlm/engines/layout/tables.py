"""Line-item tables of the layout engine: columns from a header row, rows across pages.

In: the pages of one document (``Page.words`` with boxes in page units; ``Word.line`` and
``Word.block`` are not needed). Out: a ``TableResult`` with the items shaped like
``schemas.invoice.LineItem`` (values as normalised strings), the evidence and confidence of
every item field (keyed ``line_items.{i}.{field}``) and the region the table covers per page.

How it reads a table, with general rules only (no vendor templates):
- a header row is a line whose words are mostly column terms (EN, DE, FR, NL, ES) naming a
  description column and at least one of quantity / unit price / amount, spread over the width;
- body words are cut into chunks at column gaps and given to the column whose header they sit
  under (numbers by overlap with the header, text by its left edge);
- an item starts at a line with an amount (or a quantity and a unit price); lines with text
  only join the item they are set tight against, "Label: value" lines and loose notes do not;
- the table stops at the totals block, skips page footers, carried-forward lines and repeated
  headers, and continues on the next page with the last columns when there is no new header;
- a document without a header row may still list "description ... amount" rows: such a block
  is kept only when its amounts add up to a total printed on the document.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from docvlm.datamodel import BBox, Evidence, Page, Word
from docvlm.geometry import Line, group_lines, median, union
from docvlm.parsers import MONTHS, find_amounts, parse_amount
from schemas.invoice import LINE_ITEM_FIELDS

_log = logging.getLogger(__name__)

DESCRIPTION = "description"
QUANTITY = "quantity"
UNIT = "unit"
UNIT_PRICE = "unit_price"
AMOUNT = "amount"
TAX_RATE = "tax_rate"
PRODUCT_CODE = "product_code"
OTHER = "other"  # a known column that is not a line-item field (discount, position, date...)
UNKNOWN = "unknown"  # a header word that is no column term

NUMERIC_KINDS = frozenset({QUANTITY, UNIT_PRICE, AMOUNT, TAX_RATE})
MONEY_KINDS = frozenset({UNIT_PRICE, AMOUNT})
_WORDS = re.compile(r"[^\W\d_]{2,}")  # runs of two or more letters

# Column terms, written as they read after _tokens(): lower case, accents stripped, split on punctuation.
_TERMS: dict[str, tuple[str, ...]] = {
    DESCRIPTION: (
        "description",
        "desc",
        "item",
        "items",
        "item description",
        "article",
        "articles",
        "artikel",
        "product",
        "products",
        "produkt",
        "produit",
        "produits",
        "service",
        "services",
        "details",
        "particulars",
        "omschrijving",
        "beschreibung",
        "bezeichnung",
        "artikelbezeichnung",
        "leistung",
        "designation",
        "libelle",
        "prestation",
        "descripcion",
        "concepto",
        "articulo",
        "producto",
        "name",
        "title",
        "activity",
        "detail",
        "beschrijving",
        "leistungsbeschreibung",
        "artikelbeschreibung",
        "goods",
        "product name",
        "item name",
    ),
    QUANTITY: (
        "qty",
        "qte",
        "quantity",
        "quantite",
        "menge",
        "anzahl",
        "aantal",
        "cantidad",
        "cant",
        "units",
        "hours",
        "hrs",
        "stunden",
        "uren",
        "heures",
        "horas",
        "pcs",
        "stk",
        "nb",
        "nombre",
        "uds",
        "anz",
        "aant",
    ),
    UNIT_PRICE: (
        "unit price",
        "price",
        "rate",
        "unit cost",
        "price per unit",
        "unit rate",
        "preis",
        "einzelpreis",
        "stuckpreis",
        "e preis",
        "ep",
        "prix",
        "prix unitaire",
        "pu",
        "p u",
        "u p",
        "tarif",
        "prijs",
        "stukprijs",
        "eenheidsprijs",
        "prijs per stuk",
        "precio",
        "precio unitario",
        "precio unit",
        "prix unit",
        "price unit",
        "price per item",
        "preis einheit",
        "prijs st",
        "net price",
        "net unit price",
        "unit net price",
    ),
    AMOUNT: (
        "amount",
        "total",
        "line total",
        "total price",
        "net amount",
        "amount net",
        "subtotal",
        "sub total",
        "betrag",
        "gesamt",
        "gesamtpreis",
        "gesamtbetrag",
        "summe",
        "montant",
        "montant ht",
        "total ht",
        "bedrag",
        "totaal",
        "importe",
        "extension",
        "gross",
        "gross amount",
        "net value",
        "value",
        "wert",
        "line amount",
        "ext price",
    ),
    TAX_RATE: (
        "tax",
        "taxes",
        "vat",
        "tva",
        "btw",
        "mwst",
        "ust",
        "iva",
        "gst",
        "igst",
        "tax rate",
        "vat rate",
        "tax %",
        "vat %",
        "steuer",
        "steuersatz",
        "taux",
        "taux tva",
        "tarief",
    ),
    PRODUCT_CODE: (
        "code",
        "sku",
        "ref",
        "reference",
        "art nr",
        "artnr",
        "artikelnummer",
        "artikelnr",
        "item no",
        "item nr",
        "item #",
        "item code",
        "part no",
        "part number",
        "product code",
        "article no",
        "codigo",
        "hsn",
        "ean",
        "upc",
        "product id",
    ),
    UNIT: ("unit", "uom", "unite", "eenheid", "eenh", "einheit", "unidad", "ud", "u m", "me"),
    OTHER: (
        "disc",
        "discount",
        "rabatt",
        "remise",
        "korting",
        "descuento",
        "pos",
        "no",
        "nr",
        "#",
        "line",
        "date",
        "datum",
        "fecha",
    ),
}
# Terms that are only the description when written out (used when two columns claim "description").
_STRONG_DESCRIPTION = frozenset(
    {
        "description",
        "desc",
        "omschrijving",
        "beschreibung",
        "bezeichnung",
        "designation",
        "libelle",
        "descripcion",
    }
)
# A header word after which the next word still belongs to the same column label ("Prijs incl. BTW").
_MODIFIERS = frozenset(
    {"incl", "excl", "inkl", "exkl", "including", "excluding", "ex", "ohne", "mit", "hors", "zonder", "met"}
    | {"sin", "con", "per", "pro", "par", "por", "in", "en", "excluding", "exclusief", "inclusief"}
)
_CURRENCY_TOKENS = frozenset(
    {"eur", "usd", "gbp", "chf", "inr", "%", "#", "ht", "ttc", "net", "netto", "brutto"}
)

_PHRASES: list[tuple[tuple[str, ...], str]] = sorted(
    ((tuple(term.split()), kind) for kind, terms in _TERMS.items() for term in terms),
    key=lambda p: -len(p[0]),
)

# Lines that close the item table: totals, tax and amount-due labels.
_TOTALS = re.compile(
    r"^(?:sub\s*-?\s*total|total|totaal|subtotaal|grand\s+total|net\s+total|gesamt|zwischensumme|summe"
    r"|endbetrag|rechnungsbetrag|sous\s*-?\s*total|montant\s+(?:total|ht|ttc|du)|net\s+a\s+payer|a\s+payer"
    r"|importe\s+total|base\s+imponible|tax|vat|tva|btw|mwst|ust|iva|gst|igst|cgst|sgst|amount\s+due"
    r"|balance|te\s+betalen|exclusief\s+btw|excl\.?\s+btw|netto|brutto|shipping|freight|discount"
    r"|(?:netto|brutto|gesamt|end|rechnungs|zwischen)(?:betrag|summe)|zzgl\.?|inkl\.?\s+(?:mwst|ust)"
    r"|totaalbedrag|btw-?bedrag)\b"
)
# The words that always mean a total, even with more words after them ("TOTAL QTY", "Subtotal excl. VAT").
_STRONG_TOTALS = re.compile(
    r"^(?:sub\s*-?\s*total|total|totaal|subtotaal|grand\s+total|gesamt|zwischensumme|endbetrag"
    r"|rechnungsbetrag|sous\s*-?\s*total|montant\s+total|importe\s+total|amount\s+due|te\s+betalen"
    r"|(?:netto|brutto|gesamt|end|rechnungs|zwischen)(?:betrag|summe)|totaalbedrag)\b"
)
# Lines that are page furniture inside a running table.
_PAGE_FOOTER = re.compile(
    r"\b(?:page|seite|pagina|blad|pag)\.?\s*:?\s*\d+\s*(?:of|/|von|de|van|sur|di)\s*\d+|^\d+\s*/\s*\d+$"
)
# "(continued)", "Suite", "Fortsetzung": only on lines without an amount (a description may say "suite").
_CONTINUED = re.compile(r"\b(?:continued|cont'd|fortsetzung|vervolg|continuacion|suite)\b")
# Words that may follow a carried-forward label: "Ubertrag von Seite 1", "Report page 2".
_CARRIED_TAIL = frozenset(
    {"von", "seite", "page", "from", "de", "la", "van", "pagina", "vorige", "previous", "to", "naar", "next"}
)
_CARRIED = re.compile(
    r"^(?:carried\s+forward|brought\s+forward|c/f|b/f|ubertrag|uebertrag|a\s+reporter|report"
    r"|transport|zu\s+ubertragen|suma\s+y\s+sigue)\b"
)
# "Serial no: X", "Notes: ..." under a row: an attribute of the item, not part of its description.
_ATTRIBUTE = re.compile(r"^[^\W\d_][\w .'/-]{0,30}:\s*\S")
_SECTION = re.compile(r"^[-=*_~#\s]{2,}.*[-=*_~#\s]{2,}$")
_CODE_PREFIX = re.compile(r"^\s*(?:\[([^\]\s]{2,40})\]|\*([^*\s]{2,40})\*)\s*")
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")
_NUMBER_START = re.compile(r"^[(+-]?(?:[$€£₹¥]|[A-Z]{3}\s|Rs\.?\s?|RM\s?)?\s*-?\d")
# Words that may follow a totals label on the same cell ("Total HT :", "Total for this invoice", "TVA 20% :").
_TOTALS_TAIL = frozenset(
    {
        "ht",
        "ttc",
        "net",
        "netto",
        "brutto",
        "due",
        "amount",
        "incl",
        "excl",
        "including",
        "excluding",
        "vat",
        "tax",
        "btw",
        "tva",
        "mwst",
        "ust",
        "iva",
        "gst",
        "for",
        "this",
        "invoice",
        "the",
        "of",
        "to",
        "pay",
        "payable",
        "order",
        "inr",
        "eur",
        "usd",
        "gbp",
        "rs",
        "rm",
        "sum",
        "general",
        "on",
        "at",
        "by",
        "before",
        "after",
        "until",
        "upon",
        "within",
        "days",
        "date",
        "sur",
        "op",
        "auf",
        "bis",
        "le",
        "du",
        "de",
        "la",
        "a",
        "avant",
        "voor",
        "van",
        "der",
        "des",
        "par",
    }
)
_QTY_UNIT = re.compile(r"^\s*([+-]?\d[\d.,' ]*)\s*([^\d\s].{0,15})?\s*$")
_CURRENCY_WORD = re.compile(r"^(?:[$€£₹¥]|[A-Z]{3}|RM|Rs\.?)$")
_MONEY_TEXT = re.compile(r"(?:[$€£₹¥]\s?-?\d|\d[.,]\d{2}\b)")


@dataclass
class TableResult:
    """Line items of one document with their evidence, confidence and table regions."""

    items: list[dict[str, str | None]] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    table_bbox: dict[int, BBox] = field(default_factory=dict)


@dataclass
class Column:
    """One table column: what it holds and the x-extent of its header label."""

    kind: str
    x0: float
    x1: float
    label: str


@dataclass
class _Chunk:
    """Words of one cell on one line: neighbours closer than a column gap."""

    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def bbox(self) -> BBox:
        return union(w.bbox for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1

    @property
    def numeric(self) -> bool:
        return _is_numeric_text(self.text)


@dataclass
class _Row:
    """One classified body line."""

    kind: str  # "item", "text", "total", "skip"
    line: Line
    page: int
    cells: dict[str, list[_Chunk]]
    strong: bool = False
    layout: _Layout | None = None

    @property
    def top(self) -> float:
        return self.line.bbox[1]

    @property
    def bottom(self) -> float:
        return self.line.bbox[3]


@dataclass
class _Item:
    """An item line plus the text lines that belong to it."""

    row: _Row
    mode: str  # "header", "continued" or "headerless"
    before: list[_Row] = field(default_factory=list)
    after: list[_Row] = field(default_factory=list)
    attributes: list[_Row] = field(default_factory=list)

    @property
    def last_y(self) -> float:
        """Centre of the lowest line that belongs to the item."""
        rows = [self.row, *self.after, *self.attributes]
        return max(r.line.y for r in rows)


# ---------------------------------------------------------------------------------------------
# Text helpers


def _fold(text: str) -> str:
    """Lower case without accents, so "Qté", "Désignation" and "Übertrag" match plain terms."""
    nfkd = unicodedata.normalize("NFKD", text)
    return "".join(c for c in nfkd if not unicodedata.combining(c)).lower()


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+|[%#]", _fold(text))


def _is_numeric_text(text: str) -> bool:
    """True for a cell that is a number: "42.00", "$ 42.00", "1.00 kg", "15.00%", "€ -9,32", "12.50-"."""
    t = text.strip()
    if not _NUMBER_START.match(t):
        return False
    if parse_amount(t) is not None or parse_amount(t.rstrip("%").strip()) is not None:
        return True
    m = _QTY_UNIT.match(t)
    # a number followed by one short unit word ("1.00 kg", "2 Units", "15.00 g")
    return bool(m and m.group(2) and parse_amount(m.group(1)) is not None and len(m.group(2).split()) == 1)


def _number_word(w: Word) -> bool:
    t = w.text.strip()
    return bool(re.match(r"^[(+-]?[$€£₹¥]?\d", t)) or bool(re.match(r"^\d", t))


def _split_runs(words: Sequence[Word]) -> list[Word]:
    """Words with spaces inside (OCR text runs) cut into one word per token, boxes shared by characters."""
    out: list[Word] = []
    for w in words:
        text = w.text.strip()
        if " " not in text:
            out.append(w)
            continue
        n = len(text)
        x0, y0, x1, y1 = w.bbox
        for m in re.finditer(r"\S+", text):
            a, b = x0 + (x1 - x0) * m.start() / n, x0 + (x1 - x0) * m.end() / n
            out.append(
                Word(
                    text=m.group(0), bbox=(a, y0, b, y1), page=w.page, conf=w.conf, line=w.line, block=w.block
                )
            )
    return out


def _word_height(words: Sequence[Word]) -> float:
    return median([w.height for w in words]) or 10.0


def _format_decimal(value: Decimal) -> str:
    return format(value, "f")


def _format_rate(value: Decimal) -> str:
    """A rate without trailing zeros: 15.00 -> "15", 0.20 -> "0.2"."""
    normal = value.normalize()
    return format(normal, "f") if normal == normal.to_integral_value() else format(normal, "f").rstrip("0")


# ---------------------------------------------------------------------------------------------
# Chunks and columns


def _chunk_words(words: Sequence[Word], height: float) -> list[_Chunk]:
    """Cut a line's words (left to right) into cells at gaps wider than a word space.

    Two numbers next to each other are two cells even at a word space ("0.00 15.00%"), except
    for a space used as a thousands separator ("1 234,56").
    """
    ws = sorted(words, key=lambda w: w.x0)
    if not ws:
        return []
    chunks: list[list[Word]] = [[ws[0]]]
    for prev, w in itertools.pairwise(ws):
        gap = w.x0 - prev.x1
        split = gap > 0.6 * height
        if not split and _number_word(prev) and _number_word(w) and gap > 0.15 * height:
            thousands = re.fullmatch(r"[(+-]?[$€£₹¥]?\d{1,3}", prev.text) and re.match(
                r"^\d{3}(?:[.,]\d+)?\D*$", w.text
            )
            split = not thousands
        if split:
            chunks.append([w])
        else:
            chunks[-1].append(w)
    return [_Chunk(c) for c in chunks]


def _label_kind(tokens: Sequence[str]) -> str:
    """Kind of a whole column label ("unit price" -> unit_price); the longest matching term wins."""
    best, best_len = UNKNOWN, 0
    for i in range(len(tokens)):
        for phrase, kind in _PHRASES:
            n = len(phrase)
            if n > best_len and tuple(tokens[i : i + n]) == phrase:
                best, best_len = kind, n
    return best


def _header_labels(words: Sequence[Word], height: float) -> list[Column]:
    """Split the words of a candidate header line into column labels by the term lexicon."""
    ws = sorted(words, key=lambda w: w.x0)
    flat: list[tuple[str, int]] = [(tok, i) for i, w in enumerate(ws) for tok in _tokens(w.text)]
    labels: list[tuple[list[int], str]] = []  # (word indices, kind)
    k = 0
    glue_next = False
    while k < len(flat):
        tok, wi = flat[k]
        if labels and (wi in labels[-1][0] or glue_next):
            # the rest of a word already in the label, or the word after a modifier
            if wi not in labels[-1][0]:
                labels[-1][0].append(wi)
            glue_next = tok in _MODIFIERS
            k += 1
            continue
        match = None
        for phrase, kind in _PHRASES:
            n = len(phrase)
            if tuple(t for t, _ in flat[k : k + n]) == phrase:
                match = (n, kind)
                break
        if match is not None:
            n, kind = match
            labels.append((sorted({i for _, i in flat[k : k + n]}), kind))
            glue_next = False
            k += n
            continue
        gap = ws[wi].x0 - ws[labels[-1][0][-1]].x1 if labels else float("inf")
        # "Prijs incl. BTW", "Amount (EUR)": modifiers and currency words stay with the label before them
        if labels and (
            (gap < 1.5 * height and (tok in _MODIFIERS or tok in _CURRENCY_TOKENS))
            or (gap < 0.6 * height and labels[-1][1] == UNKNOWN)
        ):
            labels[-1][0].append(wi)
            glue_next = tok in _MODIFIERS
        else:
            labels.append(([wi], UNKNOWN))
            glue_next = False
        k += 1
    # words without any token ("€", "(", "-") join the label to their left
    covered = {i for idx, _ in labels for i in idx}
    for i in range(len(ws)):
        if i not in covered and labels:
            target = max(
                (lab for lab in labels if lab[0][0] < i), key=lambda lab: lab[0][0], default=labels[0]
            )
            target[0].append(i)
    cols = []
    for idx, kind in labels:
        lw = [ws[i] for i in sorted(set(idx))]
        text = " ".join(w.text for w in lw)
        cols.append(Column(kind=kind, x0=min(w.x0 for w in lw), x1=max(w.x1 for w in lw), label=text))
    return sorted(cols, key=lambda c: c.x0)


def _is_header_line(line: Line) -> list[Column] | None:
    """Columns of ``line`` when it reads as a line-item table header, else None."""
    words = line.words
    if len(words) < 2 or len(words) > 20:
        return None
    if any(re.search(r"\d", w.text) and parse_amount(w.text) is not None for w in words):
        return None  # headers carry no amounts
    height = _word_height(words)
    cols = _header_labels(words, height)
    kinds = {c.kind for c in cols}
    priced = kinds & {QUANTITY, UNIT_PRICE, AMOUNT}
    if DESCRIPTION not in kinds and len(priced) >= 2 and cols[0].kind == UNKNOWN and len(cols) >= 3:
        # "Leistung | Menge | Preis | Betrag" with a description word the lexicon lacks: the first column
        cols[0].kind = DESCRIPTION
        kinds.add(DESCRIPTION)
    if DESCRIPTION not in kinds or not priced:
        return None
    known = sum(len(c.label.split()) for c in cols if c.kind != UNKNOWN)
    if known < 0.6 * len(words):
        return None
    # a header spreads over the page: at least one column gap, not prose ("product price list")
    gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(cols)]
    if not gaps or max(gaps) < 1.5 * height:
        return None
    return _resolve_columns(cols)


def _merge_header_line(cols: list[Column], line: Line, below: bool) -> list[Column] | None:
    """Merge a second header line ("Unit" over "Price") into ``cols``; None if it is no header text.

    ``below`` says whether ``line`` is printed under the header line (its words go after the label).
    """
    if any(re.search(r"\d", w.text) for w in line.words):
        return None
    toks = [t for w in line.words for t in _tokens(w.text)]
    if not toks or _label_kind(toks) == UNKNOWN:
        return None
    merged = [Column(c.kind, c.x0, c.x1, c.label) for c in cols]
    for w in sorted(line.words, key=lambda w: w.x0):
        target = max(merged, key=lambda c: min(c.x1, w.x1) - max(c.x0, w.x0))
        if min(target.x1, w.x1) - max(target.x0, w.x0) <= 0:
            return None  # a word under no column: not the same header
        target.label = f"{target.label} {w.text}" if below else f"{w.text} {target.label}"
        target.x0, target.x1 = min(target.x0, w.x0), max(target.x1, w.x1)
    for c in merged:
        kind = _label_kind(_tokens(c.label))
        if kind != UNKNOWN:
            c.kind = kind
    return _resolve_columns(merged)


def _resolve_columns(cols: list[Column], body: Sequence[Line] = ()) -> list[Column]:
    """Settle ambiguous labels: one description, one amount (the rightmost money column).

    ``body`` are the lines under the header, used to tell which of two text columns holds the
    description.
    """
    cols = [Column(c.kind, c.x0, c.x1, c.label) for c in cols]
    descs = [c for c in cols if c.kind == DESCRIPTION]
    if len(descs) > 1:
        strong = [c for c in descs if set(_tokens(c.label)) & _STRONG_DESCRIPTION]
        if strong:
            for c in descs:
                if c is not strong[0]:
                    c.kind = PRODUCT_CODE  # "Item | Description": the other one is the item number
        elif body:
            # "Product | Title": the column with the most text under it holds the description
            layout = _Layout(cols)
            chars = {id(c): 0 for c in descs}
            for line in body:
                for w in line.words:
                    col = layout.zone_of(w.x0 + 0.5)
                    if id(col) in chars and not _number_word(w):
                        chars[id(col)] += len(w.text)
            keep = max(descs, key=lambda c: chars[id(c)])
            for c in descs:
                if c is not keep:
                    c.kind = OTHER
    amounts = [c for c in cols if c.kind == AMOUNT]
    if not amounts:
        prices = [c for c in cols if c.kind == UNIT_PRICE]
        if len(prices) > 1:
            prices[-1].kind = AMOUNT  # "Price per piece | Price incl. VAT": the last one is the line total
    elif len(amounts) > 1:
        for c in amounts[:-1]:
            c.kind = OTHER
    for kind in (QUANTITY, UNIT_PRICE, TAX_RATE, UNIT, PRODUCT_CODE):
        same = [c for c in cols if c.kind == kind]
        for c in same[1:]:
            c.kind = OTHER
    return cols


@dataclass
class _Layout:
    """Columns of the running table and the boundaries derived from them."""

    columns: list[Column]

    def zone_of(self, x: float) -> Column:
        """The column whose zone (header extent up to the midpoints with its neighbours) holds x."""
        cols = self.columns
        for i, c in enumerate(cols):
            right = (c.x1 + cols[i + 1].x0) / 2 if i + 1 < len(cols) else float("inf")
            if x < right:
                return c
        return cols[-1]

    def column_for_number(self, chunk: _Chunk) -> Column:
        """Numbers go to the column they overlap most; otherwise the zone of their centre."""
        best, best_ov = None, 0.0
        for c in self.columns:
            ov = min(c.x1, chunk.x1) - max(c.x0, chunk.x0)
            if ov > best_ov:
                best, best_ov = c, ov
        if best is not None:
            return best
        return self.zone_of((chunk.x0 + chunk.x1) / 2)

    def cells(self, line: Line) -> dict[str, list[_Chunk]]:
        height = _word_height(line.words)
        out: dict[str, list[_Chunk]] = {}
        prev_kind, prev_x1 = "", float("-inf")
        for ch, forced in self._split_at_columns(_chunk_words(line.words, height)):
            col = self.column_for_number(ch) if ch.numeric else self.zone_of(ch.x0 + 0.5)
            if ch.numeric and col.kind == DESCRIPTION:
                col = self.zone_of(ch.x0 + 0.5)
            kind = forced or col.kind
            wordy = not ch.numeric or (re.search(r"[^\W\d_]", ch.text) and not _MONEY_TEXT.search(ch.text))
            if wordy and prev_kind == DESCRIPTION and ch.x0 - prev_x1 < 1.2 * height:
                kind = DESCRIPTION  # a long description running on under the next column's header
            elif (
                not ch.numeric
                and forced is None
                and kind in NUMERIC_KINDS
                and self.has(DESCRIPTION)
                and len(_WORDS.findall(ch.text)) >= 2
            ):
                # words of text left of the description's header, under a narrow number column
                # ("QUANTITY  DESCRIPTION" over "1  Test for 23 fields"), are the description
                kind = DESCRIPTION
            out.setdefault(kind, []).append(ch)
            prev_kind, prev_x1 = kind, ch.x1
        # a lone currency sign left of a number belongs to the number's cell
        for kind, chunks in list(out.items()):
            if kind in NUMERIC_KINDS:
                continue
            for ch in list(chunks):
                if _CURRENCY_WORD.match(ch.text):
                    right = [
                        (k2, c2) for k2, cs in out.items() if k2 in MONEY_KINDS for c2 in cs if c2.x0 >= ch.x1
                    ]
                    if right:
                        _k2, c2 = min(right, key=lambda kc: kc[1].x0)
                        c2.words[:0] = ch.words
                        chunks.remove(ch)
            if not chunks:
                del out[kind]
        return out

    def _split_at_columns(self, chunks: Sequence[_Chunk]) -> list[tuple[_Chunk, str | None]]:
        """Cut "2 CHICKEN MUFFIN" where a quantity column ends and the description column starts.

        Returns the chunks, each with the column kind it must go to (None: decide by position).
        """
        cols = self.columns
        bounds = [(a.x1 + b.x0) / 2 for a, b in itertools.pairwise(cols) if b.kind == DESCRIPTION]
        out: list[tuple[_Chunk, str | None]] = []
        for ch in chunks:
            cut = None
            for k in range(1, len(ch.words)):
                left, right = ch.words[:k], ch.words[k:]
                lc, rc = (left[0].x0 + left[-1].x1) / 2, (right[0].x0 + right[-1].x1) / 2
                if any(lc < x < rc for x in bounds) and _is_numeric_text(" ".join(w.text for w in left)):
                    cut = k
                    break
            if cut:
                out.extend([(_Chunk(ch.words[:cut]), None), (_Chunk(ch.words[cut:]), DESCRIPTION)])
            else:
                out.append((ch, None))
        return out

    @property
    def description_right(self) -> float:
        """Where the description zone ends (midpoint to the next column)."""
        cols = self.columns
        for i, c in enumerate(cols):
            if c.kind == DESCRIPTION:
                return (c.x1 + cols[i + 1].x0) / 2 if i + 1 < len(cols) else float("inf")
        return cols[0].x1

    def has(self, kind: str) -> bool:
        return any(c.kind == kind for c in self.columns)


# ---------------------------------------------------------------------------------------------
# Body rows


def _line_fold(line: Line) -> str:
    return " ".join(_fold(w.text) for w in line.words)


def _chunk_starts_totals(chunks: Sequence[_Chunk]) -> bool:
    return any(_TOTALS.match(_fold(c.text).strip(" *:.")) for c in chunks if not c.numeric)


def _opens_with_total(chunks: Sequence[_Chunk]) -> bool:
    """The line's text opens with a total word, as its first or second word ("TOTAL QTY:", "TAKEOUT TOTAL")."""
    text = " ".join(_fold(c.text) for c in sorted(chunks, key=lambda c: c.x0) if not c.numeric)
    starts = [m.start() for m in re.finditer(r"(?:^|\s)\S", text)][:2]  # first or second word
    return any(_STRONG_TOTALS.match(text[i:].lstrip()) for i in starts)


def _is_totals_label(text: str) -> bool:
    """A cell that is only a totals label: "Total", "Sous-total HT :", "TVA 20% :", "Total for this invoice"."""
    folded = _fold(text).strip(" *:.")
    m = _TOTALS.match(folded)
    if not m:
        return False
    rest = re.findall(r"[a-z]+", re.sub(r"\d+(?:[.,]\d+)?\s*%?", " ", folded[m.end() :]))
    return all(tok in _TOTALS_TAIL or tok in MONTHS for tok in rest)


def _is_carried(chunks: Sequence[_Chunk]) -> bool:
    """A carried-forward line: "Carried forward", "Übertrag von Seite 1", "À reporter" (not "Transport to site")."""
    text = " ".join(_fold(c.text) for c in chunks if not c.numeric).strip(" *:.")
    m = _CARRIED.match(text)
    if not m:
        return False
    rest = re.findall(r"[a-z]+", text[m.end() :])
    return all(tok in _CARRIED_TAIL for tok in rest)


def _totals_with_amount(chunks: Sequence[_Chunk]) -> bool:
    """A text cell that is a totals label with its amount set close by ("Subtotal $ 112.00")."""
    for c in chunks:
        if c.numeric or not _TOTALS.match(_fold(c.text).strip(" *:.")):
            continue
        last = c.words[-1].text
        # OCR may glue the label to its amount: "Subtotal$112.00"
        if _MONEY_TEXT.search(last) and (parse_amount(last) is not None or find_amounts(last)):
            return True
    return False


def _classify(line: Line, layout: _Layout, page: int) -> _Row:
    cells = layout.cells(line)
    text_chunks = [c for cs in cells.values() for c in cs if not c.numeric]
    numbers = {k: [c for c in cs if c.numeric] for k, cs in cells.items() if k in NUMERIC_KINDS}
    numbers = {k: cs for k, cs in numbers.items() if cs}
    folded = _line_fold(line)
    has_qty_price = bool(numbers.get(QUANTITY)) and bool(numbers.get(UNIT_PRICE))
    money = [c for k in (AMOUNT, UNIT_PRICE) for c in numbers.get(k, []) if _money(c.text) is not None]
    furniture = _PAGE_FOOTER.search(folded) or (_CONTINUED.search(folded) and not money)
    if (furniture or _is_carried(text_chunks)) and not has_qty_price:
        return _Row("skip", line, page, cells, layout=layout)
    labelled = bool(text_chunks) and all(_is_totals_label(c.text) for c in text_chunks)
    # a totals word that opens a description ("Tax consulting") is an item; set under the numbers it is a total
    right_label = _chunk_starts_totals([c for c in text_chunks if c.x0 >= layout.description_right])
    # "Total 1 278.61 319.00" sums the columns: a bare totals label wins even over qty and price
    if (money and labelled) or (
        ((money and (right_label or _opens_with_total(text_chunks))) or _totals_with_amount(text_chunks))
        and not has_qty_price
    ):
        return _Row("total", line, page, cells, layout=layout)
    amount_ok = any(_money(c.text) is not None for c in numbers.get(AMOUNT, []))
    # a row with quantity and price but no printed amount ("incl.", "-") is still an item
    is_item = amount_ok or has_qty_price or (not layout.has(AMOUNT) and bool(money))
    if is_item:
        desc = cells.get(DESCRIPTION, [])
        strong = bool(desc) and sum(1 for cs in numbers.values() if cs) >= 2
        return _Row("item", line, page, cells, strong=strong, layout=layout)
    return _Row("text", line, page, cells, layout=layout)


def _running_furniture(pages: Sequence[Page], page_lines: Sequence[Sequence[Line]]) -> frozenset[str]:
    """Lines printed alike on two or more pages near their top or bottom edge: running heads and
    footers (the seller's address and bank details under every page), never table rows."""
    if len(pages) < 2:
        return frozenset()
    seen: dict[str, set[int]] = {}
    for page, lines in zip(pages, page_lines, strict=True):
        for line in lines:
            y0, y1 = line.bbox[1], line.bbox[3]
            if y1 < 0.12 * page.height or y0 > 0.85 * page.height:
                seen.setdefault(_line_fold(line), set()).add(page.number)
    return frozenset(text for text, on in seen.items() if len(on) >= 2)


def _body_rows(
    lines: Sequence[Line],
    start: int,
    layout: _Layout,
    page: int,
    need_strong_start: bool,
    furniture: frozenset[str] = frozenset(),
) -> tuple[list[_Row], int, bool, _Layout]:
    """Classify the lines of one page from ``start`` until the table ends.

    Returns the rows (items, text and barriers), the index of the first line after the table,
    whether the table was closed by a totals block (so it does not run on to the next page),
    and the columns in force at the end (a repeated header may redefine them).
    """
    rows: list[_Row] = []
    closed = False
    since_close = 0
    last_bottom: float | None = None
    item_tops: list[float] = []
    i = start
    while i < len(lines):
        line = lines[i]
        height = _word_height(line.words)
        header_cols = _is_header_line(line)
        if header_cols is not None:
            if rows and any(r.kind == "item" for r in rows) and closed:
                return rows, i, True, layout  # a new table starts here
            layout = _Layout(header_cols)  # a repeated header re-establishes the columns
            last_bottom = line.bbox[3]
            i += 1
            continue
        if furniture and _line_fold(line) in furniture:
            i += 1
            continue  # a running head or footer
        row = _classify(line, layout, page)
        if row.kind == "skip":
            i += 1
            continue
        if need_strong_start and not (row.kind == "item" and row.strong):
            i += 1
            continue
        need_strong_start = False
        if last_bottom is not None:
            pitch = median([b - a for a, b in itertools.pairwise(item_tops)]) if len(item_tops) > 2 else 0
            if row.top - last_bottom > max(5 * height, 2.5 * pitch):
                return rows, i, False, layout  # a wide gap: whatever follows is not this table
        if row.kind == "total":
            if closed:
                return rows, i, True, layout  # two totals lines: the totals block
            closed, since_close = True, 0
            rows.append(row)
            last_bottom = row.bottom
            i += 1
            continue
        if closed:
            since_close += 1
            if row.kind == "item" and row.strong and since_close <= 3:
                closed = False  # a section subtotal inside the table; the items go on
            elif since_close > 3 or row.kind == "item":
                return rows, i, True, layout
            else:
                rows.append(row)
                last_bottom = row.bottom
                i += 1
                continue
        rows.append(row)
        if row.kind == "item":
            item_tops.append(row.top)
        last_bottom = row.bottom
        i += 1
    # a single total as the last thing on a page may be a page subtotal: the table may go on
    return rows, i, closed and since_close > 0, layout


def _leading(rows: Sequence[_Row]) -> float:
    """The tightest centre-to-centre distance between consecutive body lines: the text leading."""
    centres = sorted(r.line.y for r in rows)
    heights = [_word_height(r.line.words) for r in rows]
    floor = 0.5 * (median(heights) or 1.0)
    steps = [b - a for a, b in itertools.pairwise(centres) if b - a > floor]
    return min(steps) if steps else float("inf")


def _attach(rows: Sequence[_Row], mode: str) -> list[_Item]:
    """Turn classified rows into items, giving each text line to the item it is set tight against.

    "Tight" is measured on line centres against the table's own leading (the closest two body
    lines), so it holds for PDF word boxes and for the taller boxes of OCR alike.
    """
    items: list[_Item] = []
    pending: list[_Row] = []
    prev: _Item | None = None
    leading = _leading(rows)

    def tight(dist: float, h: float, slack: float) -> bool:
        # within one line height is tight whatever the leading estimate: OCR'd line centres
        # jitter by a few pixels, and the leading is the smallest distance between any two lines
        return dist <= min(1.7 * h, max(slack * leading, h))

    def flush(next_row: _Row | None) -> list[_Row]:
        """Hand the pending text lines out; returns those that start ``next_row``'s item."""
        remaining = list(pending)
        pending.clear()
        # forward: text lines tight under the previous item continue it
        while remaining and prev is not None:
            t = remaining[0]
            h = _word_height(t.line.words)
            dist_prev = t.line.y - prev.last_y
            last = len(remaining) == 1 and next_row is not None
            dist_next = next_row.line.y - t.line.y if (last and next_row is not None) else float("inf")
            if tight(dist_prev, h, 1.25) and dist_prev <= dist_next + 0.1 * h:
                _add_text(prev, t)
                remaining.pop(0)
            else:
                break
        # backward: text over an item line without a description is that item's description
        before: list[_Row] = []
        if next_row is not None and not _has_description(next_row):
            y = next_row.line.y
            for t in reversed(remaining):
                h = _word_height(t.line.words)
                desc = " ".join(c.text for c in _desc_chunks(t, whole_line=True))
                if tight(y - t.line.y, h, 1.5) and not _ATTRIBUTE.match(desc) and not _is_section(t):
                    before.insert(0, t)
                    y = t.line.y
                else:
                    break
        # whatever is left are notes and section headers: not items
        return before

    for row in rows:
        if row.kind == "text":
            pending.append(row)
            continue
        if row.kind == "total":
            flush(None)
            prev = None  # nothing joins an item across a subtotal
            continue
        before = flush(row)
        item = _Item(row=row, mode=mode, before=before)
        items.append(item)
        prev = item
    flush(None)
    return items


def _has_description(row: _Row) -> bool:
    """Whether an item line prints words in its description column (not just a price there)."""
    return any(not (c.numeric and _MONEY_TEXT.search(c.text)) for c in row.cells.get(DESCRIPTION, []))


def _is_section(row: _Row) -> bool:
    return bool(_SECTION.match(row.line.text.strip()))


def _add_text(item: _Item, row: _Row) -> None:
    """Append a text line under ``item``: to its description, or as an attribute line."""
    chunks = _desc_chunks(row, whole_line=True)
    desc = " ".join(c.text for c in chunks)
    own = [w for c in _desc_chunks(item.row, whole_line=True) for w in c.words]
    # a line in a clearly smaller type than the item's own text is a note ("Price is inclusive of ...")
    smaller = bool(own) and _word_height([w for c in chunks for w in c.words]) < 0.75 * _word_height(own)
    if _ATTRIBUTE.match(desc.strip()) or _is_section(row) or smaller:
        item.attributes.append(row)  # part of the row's extent, not of its description
    else:
        item.after.append(row)


# ---------------------------------------------------------------------------------------------
# Values


def _desc_chunks(row: _Row, whole_line: bool) -> list[_Chunk]:
    chunks = row.cells.get(DESCRIPTION, [])
    if not chunks and whole_line:
        chunks = [c for cs in row.cells.values() for c in cs]
    return sorted(chunks, key=lambda c: c.x0)


def _cell(row: _Row, kind: str) -> _Chunk | None:
    chunks = row.cells.get(kind, [])
    if not chunks:
        return None
    return _Chunk([w for c in sorted(chunks, key=lambda c: c.x0) for w in c.words])


def _qty_and_unit(
    cell: _Chunk,
) -> tuple[tuple[str, list[Word], str] | None, tuple[str, list[Word], str] | None]:
    """The quantity and the unit of a "40 Stk" cell as (value, words, printed text); None when absent."""
    m = _QTY_UNIT.match(cell.text)
    qty = parse_amount(m.group(1).strip()) if m else None
    if m is None or qty is None:
        return None, None
    num_words = [w for w in cell.words if re.search(r"\d", w.text)]
    quantity = (_format_decimal(qty), num_words or cell.words, m.group(1).strip())
    if not m.group(2):
        return quantity, None
    unit_words = [w for w in cell.words if not re.search(r"\d", w.text)]
    return quantity, (m.group(2).strip(), unit_words or cell.words, m.group(2).strip())


def _item_values(item: _Item, layout_kinds: set[str]) -> dict[str, tuple[str, list[Word], str]]:
    """Field -> (normalised value, supporting words, printed text) for one item."""
    out: dict[str, tuple[str, list[Word], str]] = {}
    row = item.row
    lines: list[list[_Chunk]] = []
    for r in item.before:
        lines.append(_desc_chunks(r, whole_line=True))
    # a price printed in the description column is no part of the description
    lines.append(
        [c for c in _desc_chunks(row, whole_line=False) if not (c.numeric and _MONEY_TEXT.search(c.text))]
    )
    for r in item.after:
        lines.append(_desc_chunks(r, whole_line=True))
    lines = [ln for ln in lines if ln]
    code_cell = _cell(row, PRODUCT_CODE)
    if code_cell is not None:
        out[PRODUCT_CODE] = (code_cell.text.strip(), code_cell.words, code_cell.text)
    if lines:
        first = lines[0]
        first_text = " ".join(c.text for c in first)
        m = _CODE_PREFIX.match(first_text)
        if m and PRODUCT_CODE not in out:
            code = m.group(1) or m.group(2)
            code_words = [w for c in first for w in c.words][:1]
            out[PRODUCT_CODE] = (code, code_words, code_words[0].text if code_words else code)
        desc_lines = [" ".join(c.text for c in ln) for ln in lines]
        desc_words = [w for ln in lines for c in ln for w in c.words]
        if m:
            desc_lines[0] = first_text[m.end() :]
            desc_words = desc_words[1:] if len(first[0].words) >= 1 else desc_words
        desc = "\n".join(t.strip() for t in desc_lines if t.strip())
        if desc:
            out[DESCRIPTION] = (desc, desc_words, " ".join(desc_lines))
    for kind in (AMOUNT, UNIT_PRICE):
        cell = _cell(row, kind)
        if cell is not None:
            value = _money(cell.text)
            if value is not None:
                out[kind] = (_format_decimal(value), cell.words, cell.text)
    qcell = _cell(row, QUANTITY)
    if qcell is not None:
        qty, unit = _qty_and_unit(qcell)
        if qty is not None:
            out[QUANTITY] = qty
            if unit is not None and UNIT not in layout_kinds and unit[0].lower() not in {"x", "×"}:
                out[UNIT] = unit
    ucell = _cell(row, UNIT)
    if ucell is not None and ucell.text.strip():
        qty, unit = _qty_and_unit(ucell)
        if qty is not None and unit is not None and out.get(QUANTITY, (None,))[0] in (None, qty[0]):
            # "40 Stk" under the unit header: on a scan, word boxes shared out along an OCR line
            # can put the quantity's digits past the column edge; the number is the quantity
            out[QUANTITY], out[UNIT] = qty, unit
        else:
            out[UNIT] = (ucell.text.strip(), ucell.words, ucell.text)
    tcell = _cell(row, TAX_RATE)
    if tcell is not None:
        pm = _PERCENT.search(tcell.text)
        rate = parse_amount(pm.group(1)) if pm else None
        if rate is None and row.layout is not None and _rate_column(row.layout):
            # "VAT %" over a bare "21": the header says it is a rate; a tax amount column does not
            rate = parse_amount(tcell.text.strip())
            rate = rate if rate is not None and 0 <= rate <= 100 else None
        if rate is not None:
            out[TAX_RATE] = (_format_rate(rate), tcell.words, tcell.text)
    return out


def _rate_column(layout: _Layout) -> bool:
    """Whether the tax column's label announces a percentage ("VAT %", "Tax rate", "Taux", "Satz")."""
    for c in layout.columns:
        if c.kind == TAX_RATE:
            toks = set(_tokens(c.label))
            return bool(
                toks & {"%", "rate", "taux", "satz", "steuersatz", "tarief", "tasa", "percent", "pct"}
            )
    return False


def _money(text: str) -> Decimal | None:
    """The amount of a money cell; in a cell with words ("Rs 1939 x 1 Night") the first money-like number."""
    value = parse_amount(text)
    if value is None:
        found = find_amounts(text)
        marked = [v for v, raw in found if _MONEY_TEXT.search(raw) or re.match(r"^(?:Rs|RM|[A-Z]{3})", raw)]
        value = marked[0] if marked else (found[0][0] if found else None)
    return value


_MODE_CONFIDENCE = {"header": 0.9, "continued": 0.8, "headerless": 0.6}


def _emit(items: Sequence[_Item], layout_kinds: Sequence[set[str]], result: TableResult) -> None:
    for item, kinds in zip(items, layout_kinds, strict=True):
        values = _item_values(item, kinds)
        if AMOUNT not in values and UNIT_PRICE not in values and QUANTITY not in values:
            continue
        idx = len(result.items)
        record: dict[str, str | None] = dict.fromkeys(LINE_ITEM_FIELDS)
        base = _MODE_CONFIDENCE[item.mode]
        consistent = _arithmetic(values)
        for name, (value, words, printed) in values.items():
            record[name] = value
            page_words = [w for w in words if w.page == words[0].page] if words else []
            page = item.row.page
            conf = base * (sum(w.conf for w in words) / len(words) if words else 1.0)
            if name in (QUANTITY, UNIT_PRICE, AMOUNT) and consistent is not None:
                conf = min(1.0, conf + 0.05) if consistent else conf * 0.8
            if name == DESCRIPTION and (item.before or item.after):
                conf *= 0.95  # joined lines are a judgement call
            key = f"line_items.{idx}.{name}"
            result.evidence[key] = Evidence(
                page=page,
                bbox=union(w.bbox for w in page_words) if page_words else item.row.line.bbox,
                text=printed.strip(),
                score=round(sum(w.conf for w in words) / len(words), 4) if words else 1.0,
            )
            result.confidence[key] = round(max(0.0, min(1.0, conf)), 4)
        result.items.append(record)


def _arithmetic(values: dict[str, tuple[str, list[Word], str]]) -> bool | None:
    """qty x unit price = amount within rounding; None when a term is missing."""
    if not all(k in values for k in (QUANTITY, UNIT_PRICE, AMOUNT)):
        return None
    q, p, a = (Decimal(values[k][0]) for k in (QUANTITY, UNIT_PRICE, AMOUNT))
    return abs(q * p - a) <= max(Decimal("0.01"), abs(a) * Decimal("0.005"))


# ---------------------------------------------------------------------------------------------
# Documents


def extract_line_items(pages: Sequence[Page]) -> TableResult:
    """Read the line-item table(s) of one document.

    ``pages`` are the document's pages in order, with words in page coordinates. Returns the
    items (keys ``schemas.invoice.LINE_ITEM_FIELDS``; money as decimal strings, tax rates as
    percent numbers, text as printed), evidence and confidence per ``line_items.{i}.{field}``,
    and the table region per page number. A document without a table gives an empty result.
    """
    result = TableResult()
    all_items: list[_Item] = []
    kinds_per_item: list[set[str]] = []
    carry: _Layout | None = None
    page_lines = [group_lines(_split_runs(page.words)) for page in pages]
    furniture = _running_furniture(pages, page_lines)
    for page, lines in zip(pages, page_lines, strict=True):
        pos = 0
        while pos < len(lines):
            start, layout, mode, need_strong = _find_start(lines, pos, carry)
            if layout is None:
                break
            rows, end, final, layout_end = _body_rows(
                lines, start, layout, page.number, need_strong, furniture
            )
            items = _attach(rows, mode)
            if items:
                header_top = lines[start - 1].bbox if start > 0 and mode == "header" else None
                _grow_bbox(result, page.number, items, header_top)
            all_items.extend(items)
            kinds_per_item.extend({c.kind for c in layout_end.columns} for _ in items)
            carry = None if final else layout_end
            pos = max(end, start + 1)
            if not final:
                break  # the table runs to the end of this page
            carry = None
    _emit(all_items, kinds_per_item, result)
    if not result.items:
        _headerless(pages, result)
    _log.debug("line items: %d on %d pages", len(result.items), len(result.table_bbox))
    return result


def _find_start(
    lines: Sequence[Line], pos: int, carry: _Layout | None
) -> tuple[int, _Layout | None, str, bool]:
    """Where the table body starts on this page: after a header, or at the top with carried columns."""
    for i in range(pos, len(lines)):
        cols = _is_header_line(lines[i])
        if cols is None:
            continue
        start = i + 1
        # a header may run over two lines ("Unit" over "Price")
        if start < len(lines):
            nxt = lines[start]
            if nxt.bbox[1] - lines[i].bbox[3] < 0.5 * _word_height(lines[i].words):
                merged = _merge_header_line(cols, nxt, below=True)
                if merged is not None:
                    cols, start = merged, start + 1
        if i > 0:
            above = lines[i - 1]
            if lines[i].bbox[1] - above.bbox[3] < 0.5 * _word_height(lines[i].words):
                merged = _merge_header_line(cols, above, below=False)
                if merged is not None:
                    cols = merged
        if sum(1 for c in cols if c.kind == DESCRIPTION) > 1:
            cols = _resolve_columns(cols, lines[start : start + 8])
        return start, _Layout(cols), "header", False
    if carry is not None and pos == 0:
        return 0, carry, "continued", True
    return len(lines), None, "header", False


def _grow_bbox(result: TableResult, page: int, items: Sequence[_Item], header: BBox | None) -> None:
    boxes = [
        r.line.bbox for it in items for r in (*it.before, it.row, *it.after, *it.attributes) if r.page == page
    ]
    if header is not None:
        boxes.append(header)
    if page in result.table_bbox:
        boxes.append(result.table_bbox[page])
    if boxes:
        result.table_bbox[page] = union(boxes)


# ---------------------------------------------------------------------------------------------
# Tables without a header row


@dataclass
class _Charge:
    """A "description ... amount" line of a statement."""

    row: _Row
    indent: float
    amount: Decimal
    total: bool


def _charge_line(line: Line, page: int) -> _Charge | None:
    height = _word_height(line.words)
    chunks = _chunk_words(line.words, height)
    if len(chunks) < 2:
        return None
    last = chunks[-1]
    text_chunks = chunks[:-1]
    if not last.numeric or any(c.numeric for c in text_chunks):
        return None
    if not _MONEY_TEXT.search(last.text):
        return None  # money has decimals or a currency sign; counts and ids do not
    amount = parse_amount(last.text)
    desc = " ".join(c.text for c in text_chunks)
    if amount is None or not re.search(r"[^\W\d_]{2}", desc):
        return None
    if last.x0 - text_chunks[-1].x1 < 2 * height:
        return None  # the amount sits in a column, apart from the text
    cells = {DESCRIPTION: text_chunks, AMOUNT: [last]}
    row = _Row("item", line, page, cells)
    is_total = bool(_TOTALS.match(_fold(desc).strip(" *:.")))
    return _Charge(row, text_chunks[0].x0, amount, is_total)


def _headerless(pages: Sequence[Page], result: TableResult) -> None:
    """Statement-style rows without a header, kept only when their amounts add up to a printed total."""
    doc_totals: set[Decimal] = set()
    blocks: list[list[_Charge]] = []
    for page in pages:
        lines = group_lines(_split_runs(page.words))
        current: list[_Charge] = []
        for line in lines:
            ch = _charge_line(line, page.number)
            if ch is not None and ch.total:
                doc_totals.add(ch.amount)
            if ch is None:
                if current:
                    blocks.append(current)
                current = []
                continue
            tol = 0.5 * _word_height(line.words)  # right edges of OCR boxes wobble by a few pixels
            if current and abs(ch.row.cells[AMOUNT][0].x1 - current[-1].row.cells[AMOUNT][0].x1) > tol:
                blocks.append(current)
                current = []
            current.append(ch)
        if current:
            blocks.append(current)
        # totals printed as "TOTAL AMOUNT DUE ... $4.11" anywhere on the page count too
        for line in lines:
            folded = _line_fold(line)
            if re.search(r"\b(?:total|totaal|gesamt|amount\s+due|balance|montant|importe)\b", folded):
                amounts = [parse_amount(w.text) for w in line.words if _MONEY_TEXT.search(w.text)]
                doc_totals.update(a for a in amounts if a is not None)
    accepted: list[list[_Charge]] = []
    for block in blocks:
        top = _top_level(block)
        if len(top) < 2:
            continue
        total = sum((c.amount for c in top), Decimal(0))
        if total not in doc_totals:
            continue
        accepted.append(top)
    accepted.sort(key=len, reverse=True)
    kept: list[list[_Charge]] = []
    for top in accepted:
        total = sum((c.amount for c in top), Decimal(0))
        if any(sum((c.amount for c in k), Decimal(0)) == total for k in kept):
            continue  # a summary of a breakdown already kept
        kept.append(top)
    items = [_Item(row=c.row, mode="headerless") for top in kept for c in top]
    for top in kept:
        for c in top:
            _grow_bbox(result, c.row.page, [_Item(row=c.row, mode="headerless")], None)
    _emit(items, [{DESCRIPTION, AMOUNT}] * len(items), result)


def _top_level(block: Sequence[_Charge]) -> list[_Charge]:
    """The least-indented charge lines up to a totals line at that level; deeper lines are breakdowns."""
    body = [c for c in block if not c.total]
    if not body:
        return []
    indent = min(c.indent for c in body)
    tol = 0.25 * median([_word_height(c.row.line.words) for c in block])
    out: list[_Charge] = []
    for c in block:
        if c.total and c.indent <= indent + tol:
            break
        if not c.total and abs(c.indent - indent) <= tol:
            out.append(c)
    return out
