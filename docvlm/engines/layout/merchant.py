"""A till receipt's merchant: its name and its postal address, read off the top of the receipt.

In: the ``PageLines`` of a document taken for a receipt, and the ``HeaderResult`` to fill. Out:
``vendor.name`` (the top line with a company legal form, else the first text line) and
``vendor.address`` (the address-like lines under it) put into the result, their confidence the
chance that OCR read every word right.

The address starts at the first address-like line under the name and runs on until a blank gap,
a line of another kind (phone, tax id, registration, date, a keyed field) or a country's name.
A phone label inside a line ends the address there ("12345 Town, State, Tel: 01-234 5678").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from docvlm import parsers
from docvlm.datamodel import Evidence
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import _LETTERS, Candidate, HeaderResult
from docvlm.engines.layout.text import PageLines, TextLine
from docvlm.geometry import union

_log = logging.getLogger(__name__)

# a registration number after the name, bracketed or as digits and a check letter, maybe with a
# comma after it ("... SDN BHD (123456-X),", "... SDN BHD 123456-X")
_TRAILING_REG = re.compile(r"\s*(?:\([^()]*\d{4,}[^()]*\)|\b\d{4,}\s*-\s*[A-Z])\s*[,.;]?\s*$")
_LEADING_CODE = re.compile(r"^#\s*\d+\s+")  # a store or till number before the name ("#0012 ...")
_HOUSE_NUMBER = re.compile(r"^no\.?\s*\d", re.IGNORECASE)  # "NO 3, 5 & 7," has few letters
_ASIDE = re.compile(r"^\([^()]*\)$")  # a line wholly in brackets: a branch or a registration aside
_MAX_LINES = 5
_HEAD_SHARE = 0.45  # the share of the printed height searched for the merchant
_HEAD_LINES = 14


def is_address_line(text: str) -> bool:
    t = text.strip()
    return bool(lx.ADDRESS_WORDS.search(t) or lx.POSTCODE.search(t) or lx.RECEIPT_ADDRESS_START.match(t))


def skip_line(text: str) -> bool:
    """Lines at the top of a receipt that are neither the merchant nor its address."""
    t = text.strip()
    if len(_LETTERS.findall(t)) < 3 and not _HOUSE_NUMBER.match(t):
        return True
    return bool(
        lx.REGISTRATION_LINE.match(t) or (t.startswith("(") and re.fullmatch(r"\(?[^()]*\d{5,}[^()]*\)?", t))
    )


def stop_line(text: str) -> bool:
    """Lines that end the merchant's address (phone, tax ids, title, date, a keyed number...)."""
    t = text.strip()
    if lx.RECEIPT_NOT_ADDRESS.search(t) or lx.RECEIPT_KEYED_NUMBER.match(t) or parsers.find_dates(t):
        return True
    return bool(t.startswith("(") and re.search(r"\d{4,}", t))


def all_words_right(lines: Sequence[TextLine]) -> float:
    """Chance that every word of the lines was read exactly: the product of the OCR word confidences.

    Text-layer words have confidence 1.0, so this only lowers the confidence of OCR'd text.
    """
    p = 1.0
    for tl in lines:
        for w in tl.words:
            p *= max(0.0, min(1.0, w.conf))
    return p


def extract_merchant(pls: Sequence[PageLines], res: HeaderResult) -> None:
    """Put the merchant's name and address of a receipt into ``res`` (see the module docstring)."""
    pl = pls[0]
    cut = pl.text_box[1] + _HEAD_SHARE * (pl.text_box[3] - pl.text_box[1])
    head = [tl for tl in pl.lines if tl.bbox[1] <= cut][:_HEAD_LINES]
    name_i = _name_line(head)
    if name_i is None:
        return
    name_lines = [head[name_i]]
    # a name broken over two lines ("HARDWARE &" / "ELECTRICAL")
    if re.search(r"(?:&|\band|-)\s*$", head[name_i].text) and name_i + 1 < len(head):
        name_lines.append(head[name_i + 1])
    elif name_i > 0 and _only_legal_form(head[name_i].text) and not _not_name(head[name_i - 1].text):
        name_lines.insert(0, head[name_i - 1])  # the legal form set under the name ("BOOK SHOP" / "SDN BHD")
        name_i -= 1
    name = " ".join(tl.text.strip() for tl in name_lines)
    name = _LEADING_CODE.sub("", _TRAILING_REG.sub("", name) or name) or name
    ev = Evidence(head[name_i].page, union(tl.bbox for tl in name_lines), name, 1.0)
    conf = (0.8 if lx.COMPANY_SUFFIX.search(name) else 0.6) * all_words_right(name_lines)
    res.put(Candidate("vendor.name", name, ev, conf))

    addr = _address(head[name_i + len(name_lines) :])
    if addr:
        text = " ".join(tl.text[:end].strip() for tl, end in addr)
        box = union(tl.bbox if end == len(tl.text) else tl.box(0, end) for tl, end in addr)
        aev = Evidence(addr[0][0].page, box, text, 1.0)
        res.put(Candidate("vendor.address", text, aev, 0.75 * all_words_right([tl for tl, _ in addr])))
    else:
        res.drop("vendor.address")


def _only_legal_form(text: str) -> bool:
    """Whether a line holds only legal-form words (and maybe bracketed words): "SDN BHD", "CO. (M) SDN BHD"."""
    t = re.sub(r"\([^()]*\)", " ", _TRAILING_REG.sub("", text.strip()) or text.strip()).strip()
    found = False
    while (m := lx.COMPANY_SUFFIX.search(t)) is not None and m.end() > m.start():
        found, t = True, t[: m.start()].rstrip(" ,.&")
    return found and not _LETTERS.search(t)


def _not_name(text: str) -> bool:
    t = text.strip()
    return skip_line(t) or stop_line(t) or is_address_line(t)


def _name_line(head: Sequence[TextLine]) -> int | None:
    """The merchant's line: the first with a company legal form, else the first text line."""
    first_text: int | None = None
    for i, tl in enumerate(head):
        # a registration number in brackets after the name ("... SDN BHD (123456-X)") is not part of it
        t = _TRAILING_REG.sub("", tl.text.strip()) or tl.text.strip()
        suffix = lx.COMPANY_SUFFIX.search(t) is not None
        if skip_line(t) or parsers.find_dates(t) or (stop_line(t) and not suffix):
            continue
        if lx.COURTESY_LINE.search(t):
            continue  # "THANK YOU FOR SHOPPING WITH US", "WELCOME"
        if is_address_line(t) and not suffix:
            break
        if first_text is None:
            first_text = i
        if suffix:
            return i
    return first_text


def _address(lines: Sequence[TextLine]) -> list[tuple[TextLine, int]]:
    """The address lines among ``lines`` (those under the name), each with where its text ends."""
    addr: list[tuple[TextLine, int]] = []
    for tl in lines:
        t = tl.text.strip()
        if not addr:
            if _first_line(t):
                addr.append((tl, len(tl.text)))
            continue
        last = addr[-1][0]
        if tl.bbox[1] - last.bbox[3] > 1.5 * max(tl.height, last.height):
            break  # a blank gap closes the address block
        phone = lx.RECEIPT_PHONE_LABEL.search(tl.text)
        if phone and is_address_line(head := tl.text[: phone.start()].rstrip(" ,;:-")):
            addr.append((tl, len(head)))  # "12345 TOWN, STATE, TEL NO.: 01-234 5678"
            break
        if stop_line(t) or skip_line(t):
            break
        addr.append((tl, len(tl.text)))
        if len(addr) >= _MAX_LINES or lx.COUNTRY_AT_END.search(t):
            break  # a country's name ends the address
    return addr


def _first_line(t: str) -> bool:
    """Whether a line can open the address: an address line that is no aside, date or skipped line,
    and holds no stop word unless it starts with a house number ("No 8, Jalan ... Tel")."""
    if _ASIDE.match(t) or parsers.find_dates(t) or skip_line(t) or not is_address_line(t):
        return False
    return not stop_line(t) or lx.RECEIPT_ADDRESS_NUMBER.match(t) is not None
