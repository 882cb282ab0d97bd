"""Party blocks: the blocks under bill-to labels, the letter-style addressee block, and the name tests."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from docvlm import parsers
from docvlm.datamodel import BBox, Evidence
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.amounts import classify_amount_label
from docvlm.engines.layout.candidates.base import _HAS_DIGIT, _LETTERS, _URL, Candidate, HeaderResult
from docvlm.engines.layout.candidates.labels import _is_label_segment
from docvlm.engines.layout.candidates.values import amount_spans, read_email, read_phone
from docvlm.engines.layout.text import PageLines, TextLine
from docvlm.geometry import h_overlap, median, union, v_overlap

_log = logging.getLogger(__name__)

_ATTENTION = re.compile(r"^(?:attn|c/o|z\.?\s?hd\.?)\s*[:.]?\s*", re.IGNORECASE)
_PHONE_LABEL_START = re.compile(r"(?:" + lx.PHONE_LABELS + r")\b")
_BANK_LABEL_START = re.compile(r"(?:iban|bic|swift)\b")
_ADDRESS_LABEL = re.compile(
    r"[\w ]{0,20}(?:address|adresse|adres|anschrift|direcci[óo]n)\s*:\s*", re.IGNORECASE
)
_LABEL_TAIL = re.compile(r"(?:address|adresse|adres|details?|name|nom|naam|nombre)\s*:?\s*", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_PAGE_WORD = re.compile(r"^(?:page|seite|pagina)\b", re.IGNORECASE)
_DIGIT_START = re.compile(r"^\d")
_TOKEN = re.compile(r"\S+")
_NOT_WORD_CHAR = re.compile(r"[^\w-]")
_SLASH_OR_BAR = re.compile(r"[/|]")


# ---------------------------------------------------------------------------------------------
# Parties


@dataclass
class Block:
    """A stack of lines under (or right of) a party label, or around a vendor name."""

    lines: list[tuple[TextLine, int, int]]  # (line, start, end) of the block's text on each line
    label: str = ""

    def region(self) -> tuple[int, BBox]:
        tl0 = self.lines[0][0]
        return tl0.page, union(tl.box(a, b) for tl, a, b in self.lines)


# a code or number: one token with a digit ("GE2020211", "CUST-00456", "4711")
_ID_LIKE = re.compile(r"[#\w./-]*\d[#\w./-]*")


_JOINED_LABEL = re.compile(r"\s*/\s*[^\W\d_][\w-]*\s*:\s*")


def keyed_line(tl: TextLine, a: int, b: int) -> bool:
    """Whether ``tl.text[a:b]`` is a keyed field line, its value maybe in the next segment
    ("Nummer   : 12345676" set as two columns)."""
    if lx.KEYED_LINE.match(tl.text[a:b]):
        return True
    si = tl.seg_at(max(a, b - 1))
    if si + 1 < len(tl.segments):
        c0, c1 = tl.segments[si + 1]
        if tl.text[c0:c1].lstrip().startswith(":"):
            return lx.KEYED_LINE.match(f"{tl.text[a:b]} {tl.text[c0:c1]}") is not None
    return False


def _names_a_field(rest: str) -> bool:
    """Whether the words after a party label make it a field's label (its number, VAT id, reference)."""
    return bool(lx.PARTY_FIELD.match(rest) or lx.TAX_ID_LABEL_RE.match(rest.strip()))


def label_is_name(rest: str) -> bool:
    """Whether the text after a label word is only a legal form: then it is a company's name
    ("Lieferant GmbH", "Supplier Ltd"), not a label."""
    rest = rest.strip()
    return bool(rest) and lx.COMPANY_SUFFIX.match(rest) is not None


def _party_label(text: str) -> bool:
    """A segment that starts with a seller or buyer label (and is not a name such as "Supplier Ltd")."""
    m = lx.CUSTOMER_LABEL_RE.match(text) or lx.VENDOR_LABEL_RE.match(text)
    return m is not None and not label_is_name(text[m.end() :])


def _label_value_span(tl: TextLine, label_end: int, seg_end: int) -> tuple[int, int] | None:
    """Where a party label's value starts on its own line: rest of its segment, else the next segment."""
    if tl.text[label_end:seg_end].strip():
        return label_end, seg_end
    si = tl.seg_at(label_end - 1)
    if si + 1 < len(tl.segments):
        a0, b0 = tl.segments[si + 1]
        text = tl.text[a0:b0]
        # without a colon the label may be one of several column headers ("BILL TO   PAYMENT DETAILS")
        colon = ":" in tl.text[tl.segments[si][0] : label_end]
        # a date, or an amount label with its amount, there is another column's field
        # ("TOTAL AMOUNT DUE ON August 3, 2014", "Amount due   $4.11")
        rest = tl.text[a0:]
        # a word followed by a code is another column's field ("Kundennummer   GE2020211")
        then = tl.text[slice(*tl.segments[si + 2])].strip() if si + 2 < len(tl.segments) else ""
        keyed = bool(then) and not _HAS_DIGIT.search(text) and _ID_LIKE.fullmatch(then) is not None
        other_field = bool(
            lx.FIELD_LABEL_RE.search(text)  # "Facture N° 2024-045" right of "Facturé à :"
            or parsers.find_dates(text)
            or (classify_amount_label(text) and amount_spans(rest))
            or len(_LETTERS.findall(text)) < 2  # a bare amount or number ("$4.11")
            or keyed
        )
        if not _is_label_segment(text) and not other_field and (colon or not text.isupper()):
            return a0, b0
    return None


def party_field(tl: TextLine, a: int, b: int) -> tuple[str, int] | None:
    """A keyed line of a party block ("Name: X", "Straße  Hafenweg 3", a form-like party table):
    which part of the party it holds ("name" or "address") and where in ``tl.text`` its value starts.

    The label (``lx.PARTY_NAME_LABEL``, ``lx.PARTY_ADDRESS_LABEL``) is a whole word before a colon,
    or a whole segment with the value in a later one; a line that only starts with such a word
    ("Name Brothers Ltd", "Via Roma 1") is no keyed line."""
    text = tl.text
    for kind, pat in (("name", lx.PARTY_NAME_LABEL), ("address", lx.PARTY_ADDRESS_LABEL)):
        m = pat.match(text, a, b)
        if m is None:
            continue
        lab_end = a + len(text[a : m.end()].rstrip())
        if m.end() < b and text[m.end()] == ":":  # "Name:", "Raison sociale :"
            end = m.end() + 1
        elif any(s1 == lab_end for _, s1 in tl.segments):
            end = lab_end
        else:
            continue
        value = end + len(text[end:b]) - len(text[end:b].lstrip())
        if value < b and text[value] == ":":  # "Name   : X", the colon set apart
            value += 1
            value += len(text[value:b]) - len(text[value:b].lstrip())
        if value < b and (_LETTERS.search(text, value, b) or _HAS_DIGIT.search(text, value, b)):
            return kind, value
    return None


def _with_value(tl: TextLine, seg: tuple[int, int]) -> tuple[int, int]:
    """A party block's line: a segment that is only a keyed line's label takes the next segment,
    its value ("Name" | "Nordwind GmbH")."""
    si = tl.seg_at(seg[0])
    if (
        si + 1 < len(tl.segments)
        and party_field(tl, seg[0], seg[1]) is None
        and party_field(tl, seg[0], tl.segments[si + 1][1]) is not None
    ):
        return seg[0], tl.segments[si + 1][1]
    return seg


# an identifier alone on a line, two letters and six digits or more: a VAT id ("DE123456789",
# "FR 12 345678901") or a location number ("GLN 4000001987658"): the party's id, no part of its address
_ID_ALONE = re.compile(r"[A-Z]{2}[\s.-]?(?=(?:[\dA-Z][\s.]?){8,14}$)(?=(?:\D*\d){6})[\dA-Z][\dA-Z\s.]*")


# "Name, Street 1, 12345 Town" on one line: the name ends at the first comma that an address part
# follows (a house number, a postcode or a street word), with a digit somewhere after it
_INLINE_ADDRESS = re.compile(r",\s*(?=[^,]*(?:\d|" + lx.ADDRESS_WORDS.pattern + r"))(?=.*\d)", re.IGNORECASE)


def inline_address(text: str) -> tuple[int, int] | None:
    """Where the name ends and the address starts in a one-line "name, address" value, or None."""
    m = _INLINE_ADDRESS.search(text)
    if m is None or len(_LETTERS.findall(text[: m.start()])) < 2:
        return None
    return m.start(), m.end()


_TABLE_SEGMENTS = 5  # a line of this many short columns is a table's, not a party block's


_PERSON = re.compile(rf"{lx.SALUTATION.pattern}\s+[^\W\d_]", re.IGNORECASE)


def _legal_form_line(block: Block, i: int) -> tuple[TextLine, int, int] | None:
    """Block line ``i`` when it is the end of a company's name: a legal form at its end, no digit,
    a few words (the rest of a two-line name, or the company under a contact person)."""
    if i >= len(block.lines):
        return None
    tl, a, b = block.lines[i]
    raw = tl.text[a:b]
    text = raw.strip()
    if _HAS_DIGIT.search(text) or len(text.split()) > 6 or not lx.COMPANY_SUFFIX.search(text):
        return None
    if not _name_ok(text):
        return None
    start = a + len(raw) - len(raw.lstrip())
    return tl, start, start + len(text)


def _table_line(tl: TextLine) -> bool:
    """A table's header or row: five columns or more, each of one or two words."""
    return len(tl.segments) >= _TABLE_SEGMENTS and all(len(tl.text[a:b].split()) <= 2 for a, b in tl.segments)


def _block_below(
    pl: PageLines, tl: TextLine, x0: float, x1: float, first: tuple[int, int] | None, max_lines: int = 6
) -> Block:
    """Lines stacked under a label (same column, small gaps), stopping at a gap or another label."""
    lines: list[tuple[TextLine, int, int]] = []
    if first is not None and tl.text[first[0] : first[1]].strip():
        lines.append((tl, first[0], first[1]))
    prev_bottom = tl.bbox[3]
    h = tl.height
    for nxt in pl.lines[tl.index + 1 :]:
        if len(lines) >= max_lines:
            break
        # a label may sit a little further above its block, and a letterhead name (larger type)
        # above its address, than the lines of a block sit apart
        if not lines:
            limit = 2.2
        elif lines[-1][0] is tl:
            limit = 2.2 if tl.height > 1.15 * nxt.height else 1.6
        else:
            limit = 1.6
        if nxt.bbox[1] - prev_bottom > limit * max(h, nxt.height):
            break
        if lines and _table_line(nxt):
            break  # a table's header or row under the block ends it
        seg = None
        for a0, b0 in nxt.segments:
            sbox = nxt.box(a0, b0)
            if sbox[0] <= x1 + h and sbox[2] >= x0 - h and abs(sbox[0] - x0) < max(6 * h, (x1 - x0)):
                seg = (a0, b0)
                break
        if seg is None:
            continue  # a line of another column
        seg = _with_value(nxt, seg)
        text = nxt.text[seg[0] : seg[1]]
        if _is_label_segment(text) and lines and party_field(nxt, *seg) is None:
            break
        if _party_label(text):
            break
        lines.append((nxt, seg[0], seg[1]))
        prev_bottom = nxt.bbox[3]
    return Block(lines)


def _party_from_block(block: Block, prefix: str, score: float, res: HeaderResult, dayfirst: bool) -> None:
    """Name = first usable line of the block; address = following address lines; plus contacts."""
    name_done = False
    addr: list[tuple[TextLine, int, int]] = []
    salutation: tuple[TextLine, int, int] | None = None  # "Herrn" alone over the name: part of it
    joined = -1  # the block line already taken into the name
    for i, (tl, a, b) in enumerate(block.lines):
        text = tl.text[a:b].strip()
        if not text or i == joined:
            continue
        low = text.lower()
        field = party_field(tl, a, b)
        if field is not None:  # "Name: X", "Straße: Y": the label says which part the value is
            kind, v = field
            if kind == "address":
                addr.append((tl, v, b))
                continue
            if name_done:
                break  # a second name: another party's, or a contact's
            end = b
            if (cut := inline_address(tl.text[v:b])) is not None:
                addr.append((tl, v + cut[1], b))
                end = v + cut[0]
            name = tl.text[v:end].strip().rstrip(" ,;:")
            res.put(
                Candidate(
                    f"{prefix}.name", name, tl.evidence(v, v + len(tl.text[v:end].rstrip(" ,;:"))), score
                )
            )
            name_done = True
            continue
        if not name_done and lx.PARTY_NAME_LABEL.fullmatch(text.rstrip(":")):
            continue  # "Firma" alone over a company's name in the address window
        if not name_done and salutation is None and lx.SALUTATION.fullmatch(text):
            salutation = (tl, a, b)
            continue
        if not name_done:
            if text.startswith("(") and text.endswith(")"):
                continue  # a parenthesised remark, not the name
            if keyed_line(tl, a, b):
                continue  # the party's number in its register ("Nummer : 12345676"), not its name
            if _ID_ALONE.fullmatch(text) or lx.TAX_ID_LABEL_RE.match(text):
                continue  # the party's VAT id or location number over its name
            t2 = _ATTENTION.sub("", text)
            off = a + (len(text) - len(t2)) + (len(tl.text[a:b]) - len(tl.text[a:b].lstrip()))
            if len(_LETTERS.findall(t2)) < 2:
                continue
            name = t2.rstrip(" ,;:")
            if (cut := inline_address(name)) is not None:
                addr.append((tl, off + cut[1], b))
                name = name[: cut[0]].rstrip(" ,;:")
            ev = tl.evidence(off, off + len(name))
            nxt = _legal_form_line(block, i + 1)
            if nxt is not None and not lx.COMPANY_SUFFIX.search(name):
                ntl, na, nb = nxt
                joined = i + 1
                if salutation is None and _PERSON.match(name):
                    # a contact person over the company ("Frau Petra Keller" / "Lindenhof Möbel KG"):
                    # the company is the party
                    name, ev = ntl.text[na:nb].strip(), ntl.evidence(na, nb)
                else:
                    # a name set on two lines, the second ending in its legal form
                    name = f"{name} {ntl.text[na:nb].strip()}"
                    ev = Evidence(tl.page, union([ev.bbox, ntl.box(na, nb)]), name, 1.0)
            if salutation is not None:
                stl, sa, sb = salutation
                name = f"{stl.text[sa:sb].strip()} {name}"
                ev = Evidence(tl.page, union([stl.box(sa, sb), ev.bbox]), name, 1.0)
            res.put(Candidate(f"{prefix}.name", name, ev, score))
            name_done = True
            continue
        if lx.SALUTATION.fullmatch(text):
            break  # "Herrn" alone under a party's lines opens the next block: the addressee
        if parsers.EMAIL_PATTERN.search(text):
            r = read_email(text)
            if r and f"{prefix}.email" not in res.values and prefix == "vendor":
                res.put(Candidate(f"{prefix}.email", r[0], tl.evidence(a + r[1], a + r[2]), 0.8))
            break
        if _PHONE_LABEL_START.match(low) or _URL.search(text):
            break
        if not _LETTERS.search(text) and (r := read_phone(text)) is not None:
            # a bare phone number under the name belongs to the party, not to its address
            if f"{prefix}.phone" not in res.values:
                res.put(Candidate(f"{prefix}.phone", r[0], tl.evidence(a + r[1], a + r[2]), 0.7))
            break
        if lx.TAX_ID_LABEL_RE.match(text) or _BANK_LABEL_START.match(low) or _ID_ALONE.fullmatch(text):
            break
        if lx.FIELD_LABEL_RE.search(text):
            break  # "Order ID: ...", "Invoice Date: ..." end the address
        if (
            prefix == "vendor"
            and not addr
            and _sentence_like(text)
            and not (_HAS_DIGIT.search(text) or lx.ADDRESS_WORDS.search(text))
        ):
            break  # a slogan right under the seller's logo ("Annonces légales et formalités en ligne")
        m = _ADDRESS_LABEL.match(text)
        if m:
            a += m.end() + (len(tl.text[a:b]) - len(tl.text[a:b].lstrip()))
        addr.append((tl, a, b))
    # an address has a house number, a postcode or a street word somewhere
    if addr and not any(
        _HAS_DIGIT.search(tl.text[a:b]) or lx.ADDRESS_WORDS.search(tl.text[a:b]) for tl, a, b in addr
    ):
        addr = []
    if addr:
        text = ", ".join(tl.text[a:b].strip().rstrip(",") for tl, a, b in addr)
        box = union(tl.box(a, b) for tl, a, b in addr)
        ev = Evidence(page=addr[0][0].page, bbox=box, text=text, score=1.0)
        res.put(Candidate(f"{prefix}.address", text, ev, score - 0.1))


def extract_customer(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """The buyer: the block under the first bill-to style label (ship-to only when no bill-to).

    A buyer already read from the address window under a return-address line is kept."""
    if "customer.name" in res.values:
        return
    found: list[tuple[int, Block]] = []
    for pl in pls[:1]:
        for tl in pl.lines:
            for a0, b0 in tl.segments:
                m = lx.CUSTOMER_LABEL_RE.match(tl.text, a0, b0)
                if not m:
                    continue
                rest = tl.text[m.end() : b0]
                if label_is_name(rest) or _names_a_field(rest) or _sentence_like(rest):
                    continue  # a name, another field's label, or prose ("Invoice to pay by transfer...")
                label_end = m.end()
                # the rest of the label phrase ("Address:") is part of the label
                extra = _LABEL_TAIL.match(tl.text[label_end:b0])
                if extra:
                    label_end += extra.end()
                # a second label joined by a slash ("Käufer/Leistungsempfänger:") is still the label
                joined = _JOINED_LABEL.match(tl.text, label_end, b0)
                if joined:
                    label_end = joined.end()
                lbox = tl.box(a0, label_end)
                first = _label_value_span(tl, label_end, b0)
                block = _block_below(pl, tl, lbox[0], max(lbox[2], lbox[0] + 8 * tl.height), first)
                if not block.lines:
                    continue
                is_ship = bool(lx.SHIP_LABEL_RE.match(tl.text, a0, b0))
                found.append((1 if is_ship else 0, block))
                res.customer_regions.append(block.region())
                res.customer_regions.append((tl.page, tl.box(a0, label_end)))
    if not found:
        return
    found.sort(key=lambda x: x[0])
    _party_from_block(found[0][1], "customer", 0.7, res, dayfirst)
    if "customer.address" not in res.values:
        # a "Customer name:" line has no address under it; take the bill-to (else ship-to) block's
        for _, block in found[1:]:
            tmp = HeaderResult()
            _party_from_block(block, "customer", 0.6, tmp, dayfirst)
            if "customer.address" in tmp.values:
                res.values["customer.address"] = tmp.values["customer.address"]
                res.evidence["customer.address"] = tmp.evidence["customer.address"]
                res.confidence["customer.address"] = tmp.confidence["customer.address"]
                break


def _field_or_contact(text: str) -> bool:
    return bool(
        _is_label_segment(text)
        or lx.FIELD_LABEL_RE.search(text)
        or ":" in text
        or parsers.EMAIL_PATTERN.search(text)
        or _URL.search(text)
    )


def _postal_line(text: str) -> bool:
    """A postcode-and-town line ("69100 Villeurbanne", "Scranton PA 18503", "1025 RX Amsterdam")."""
    if parsers.find_dates(text) or any(a.has_currency for a in amount_spans(text)):
        return False
    m = lx.US_STATE_ZIP.search(text) or lx.POSTCODE.search(text)
    return m is not None and len(_LETTERS.findall(text.replace(m.group(0), ""))) >= 3


def extract_unlabelled_customer(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """The addressee block of a letter-style invoice that names no "Bill to": a stack of 3-6
    lines in the upper half of page 1 that starts with a name and holds a postcode-and-town line,
    carries no labels, dates or amounts, and is not the seller's block (run after the vendor).
    """
    if "customer.name" in res.values or not pls or not pls[0].lines:
        return
    pl = pls[0]
    top, bottom = pl.text_box[1], pl.text_box[3]
    limit = top + 0.5 * (bottom - top)
    seller = [res.evidence[k] for k in ("vendor.name", "vendor.address") if k in res.evidence]
    for tl in pl.lines:
        if tl.bbox[1] > limit:
            break
        for a, b in tl.segments:
            box = tl.box(a, b)
            # every segment may start the block: a slogan or title may sit right above the name
            block = _block_below(pl, tl, box[0], box[2], (a, b))
            texts = [line.text[s:e].strip() for line, s, e in block.lines]
            # the block ends at the first label, field, contact or sentence under it, or where
            # the type size changes (a slogan, a title)
            h0 = block.lines[0][0].height
            n = next(
                (
                    i
                    for i, (t, (line, _, _)) in enumerate(zip(texts, block.lines, strict=True))
                    if _field_or_contact(t)
                    or _sentence_like(t)
                    or not 0.77 <= line.height / h0 <= 1.3
                    or (i > 0 and lx.SALUTATION.fullmatch(t))  # "Herrn": the next block, the addressee's
                ),
                len(texts),
            )
            block, texts = Block(block.lines[:n]), texts[:n]
            if not 3 <= len(texts) <= 6 or not _name_ok(texts[0]):
                continue
            if _strip_title_words(texts[0]) != (0, len(texts[0])) or texts[0] == res.values.get(
                "vendor.name"
            ):
                continue  # "FACTUUR.", or the seller's own name
            if not any(_postal_line(t) for t in texts[1:]):
                continue
            page, region = block.region()
            if any(
                ev.page == page and h_overlap(ev.bbox, region) > 0 and v_overlap(ev.bbox, region) > 0
                for ev in seller
            ):
                continue
            _party_from_block(block, "customer", 0.5, res, dayfirst)
            res.customer_regions.append((page, region))
            return


_HOST = re.compile(r"@([\w.-]+)|(?:https?://)?(?:www\.)?([\w-]+(?:\.[\w-]+)*\.[a-z]{2,4})\b", re.IGNORECASE)
# what every match of ``_HOST`` holds: an "@" or a dot before a letter; a line without either is skipped
_HOST_HINT = re.compile(r"@|\.[a-z]", re.IGNORECASE)


def _domains(pls: Sequence[PageLines]) -> list[str]:
    out: list[str] = []
    for pl in pls:
        for tl in pl.lines:
            if not _HOST_HINT.search(tl.text):
                continue
            for m in _HOST.finditer(tl.text):
                host = (m.group(1) or m.group(2) or "").lower()
                parts = host.split(".")
                if len(parts) >= 2:
                    out.append(_NON_ALNUM.sub("", parts[-2]))
    return out


def _name_ok(text: str) -> bool:
    """A plausible party name: letters, not a label, not an address, date, contact or amount line."""
    t = text.strip()
    if len(_LETTERS.findall(t)) < 2 or len(t) > 80 or t.startswith("("):
        return False  # too short or long, or a parenthesised remark
    if parsers.EMAIL_PATTERN.search(t) or _URL.search(t) or parsers.find_dates(t):
        return False
    if _is_label_segment(t) or _PAGE_WORD.match(t) or lx.PARTY_FIELD.fullmatch(t.rstrip(".:# ")):
        return False  # a label, a page number, or a number's label left of a title ("Nr.", "No.")
    if _DIGIT_START.match(t) or (lx.ADDRESS_WORDS.search(t) and not lx.COMPANY_SUFFIX.search(t)):
        return False
    if _ID_ALONE.fullmatch(t):
        return False  # a VAT id or a location number ("GLN 4000001000005")
    if _sentence_like(t) or (classify_amount_label(t) and not lx.COMPANY_SUFFIX.search(t)):
        return False  # a slogan, or an amount label such as "Gesamtbetrag"
    return not amount_spans(t) or bool(lx.COMPANY_SUFFIX.search(t))


@functools.lru_cache(maxsize=8192)
def _strip_title_words(text: str) -> tuple[int, int] | None:
    """Span of ``text`` left after trimming document-title words and identifiers from both ends."""
    toks = list(_TOKEN.finditer(text))

    def drop(m: re.Match[str]) -> bool:
        if _HAS_DIGIT.search(m.group(0)):
            return True
        # an elided article belongs to its word ("d'honoraires", "l'avoir")
        parts = [
            _NOT_WORD_CHAR.sub("", lx.ELISION.sub("", p)).lower() for p in _SLASH_OR_BAR.split(m.group(0))
        ]
        return all(not p or p in lx.DOC_TITLE_WORDS for p in parts)

    i, j = 0, len(toks)
    while i < j and drop(toks[i]):
        i += 1
    while j > i and drop(toks[j - 1]):
        j -= 1
    if i >= j:
        return None
    return toks[i].start(), toks[j - 1].end()


def _sentence_like(text: str) -> bool:
    """A slogan or a sentence: three or more words, mostly lower-case after the first."""
    words = [w for w in text.split() if _LETTERS.search(w)]
    if len(words) < 3 or (len(words) == 3 and not text.rstrip().endswith((".", "!", "?"))):
        return False
    lower = sum(1 for w in words[1:] if w[0].islower())
    return lower > (len(words) - 1) / 2


_PROMINENT = 1.3  # a segment this many times the page's median text height is letterhead / logo text


def _seg_height(tl: TextLine, a: int, b: int) -> float:
    """Median height of the words of a segment."""
    hs = [w.height for w, s in zip(tl.words, tl.starts, strict=True) if a <= s < b]
    return median(hs) if hs else tl.height


def _logo_continuation(
    pl: PageLines, tl: TextLine, a: int, b: int, big: float
) -> tuple[TextLine, int, int] | None:
    """The segment right under a prominent segment that continues it (a logo set on two lines)."""
    box = tl.box(a, b)
    h = box[3] - box[1]
    for nxt in pl.lines[tl.index + 1 : tl.index + 3]:
        for c0, c1 in nxt.segments:
            sbox = nxt.box(c0, c1)
            if sbox[1] - box[3] > 0.6 * h or h_overlap(box, sbox) < 0.5:
                continue
            sh = _seg_height(nxt, c0, c1)
            text = nxt.text[c0:c1]
            if sh >= big and 0.6 <= sh / max(h, 1e-6) <= 1.5 and _strip_title_words(text) == (0, len(text)):
                return nxt, c0, c1
    return None


def _block_top(pl: PageLines, tl: TextLine, x0: float, x1: float) -> tuple[TextLine, int, int] | None:
    """Walk up the column from ``tl`` while lines are stacked tight; the first line's segment."""
    cur = tl
    best: tuple[TextLine, int, int] | None = None
    for prev in reversed(pl.lines[: tl.index]):
        if cur.bbox[1] - prev.bbox[3] > 1.6 * max(cur.height, prev.height):
            break
        seg = None
        for a0, b0 in prev.segments:
            sbox = prev.box(a0, b0)
            if sbox[0] <= x1 and sbox[2] >= x0 and abs(sbox[0] - x0) < 4 * prev.height:
                seg = (a0, b0)
        if seg is None:
            continue  # a line of another column
        best = (prev, seg[0], seg[1])
        cur = prev
    return best
