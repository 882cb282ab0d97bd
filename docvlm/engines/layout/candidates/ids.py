"""Party identifiers: tax ids, IBAN, e-mail and phone from their labels (customer ones inside the bill-to block)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from docvlm import parsers
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import Candidate, HeaderResult, _in_regions
from docvlm.engines.layout.candidates.labels import find_value
from docvlm.engines.layout.candidates.values import Reader, read_email, read_iban, read_phone, read_tax_id
from docvlm.engines.layout.text import PageLines

_log = logging.getLogger(__name__)

_LABEL_BOUNDARY = re.compile(r"[\s(,;|]$|\s[–-]$")

_LEGAL_LINE_BONUS = 0.1


def extract_party_ids(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """Tax ids, IBAN, e-mail and phone from their labels; inside a customer block they are the customer's."""
    regions = res.customer_regions
    specs: tuple[tuple[re.Pattern[str], Reader, str, float], ...] = (
        (lx.TAX_ID_LABEL_RE, read_tax_id, "tax_id", 0.8),
        (lx.IBAN_LABEL_RE, read_iban, "iban", 0.9),
        (lx.EMAIL_LABEL_RE, read_email, "email", 0.85),
        (lx.PHONE_LABEL_RE, read_phone, "phone", 0.8),
    )
    for pl in pls:
        for tl in pl.lines:
            for a0, b0 in tl.segments:
                if not lx.PARTY_ID_LABEL_RE.search(tl.text, a0, b0):
                    continue  # none of the four labels is in this segment
                for pat, reader, field_name, base in specs:
                    for m in pat.finditer(tl.text, a0, b0):
                        # a label starts its segment or a word: after a space, a bracket or a separator
                        # ("... – TVA FR..."); inside a token it is part of a value ("US-TAXID-7890123")
                        if m.start() > a0 and not _LABEL_BOUNDARY.search(tl.text[a0 : m.start()]):
                            continue
                        found = find_value(pl, tl, m.start(), m.end(), reader, dayfirst)
                        if found is None:
                            continue
                        value, ev, _ = found
                        # "BTW-nummer klant:" names the buyer even outside the bill-to block
                        # ... and so does "Customer VAT Number", the buyer's word right before the label
                        customer_label = field_name == "tax_id" and bool(
                            lx.CUSTOMER_WORD_RE.search(m.group(0))
                            or lx.CUSTOMER_WORD_BEFORE_RE.search(tl.text, max(a0, m.start() - 12), m.start())
                        )
                        in_block = _in_regions(tl.page, ev.bbox, regions)
                        owner = "customer" if in_block or customer_label else "vendor"
                        if owner == "customer" and field_name != "tax_id":
                            continue
                        path = f"{owner}.{field_name}"
                        score = base
                        if field_name == "tax_id" and lx.NATIONAL_TAX_LABEL.match(m.group(0)):
                            score = 0.6  # a registration or national tax number: a VAT id on the page wins
                        if field_name == "tax_id" and owner == "vendor" and lx.LEGAL_FOOTER.search(tl.text):
                            score += _LEGAL_LINE_BONUS  # the seller's legal mentions carry its own ids
                        if field_name == "iban" and not parsers.iban_is_valid(value):
                            score = 0.4  # IBAN-shaped but the checksum fails
                        if path not in res.values or res.confidence.get(path, 0) < score:
                            res.put(Candidate(path, value, ev, score))
    # unlabelled IBAN / e-mail anywhere outside the customer block
    for pl in pls:
        for tl in pl.lines:
            if "vendor.iban" not in res.values:
                for m in parsers.IBAN_PATTERN.finditer(tl.text):
                    compact = m.group(0).replace(" ", "")
                    if parsers.iban_is_valid(compact) and not _in_regions(tl.page, tl.bbox, regions):
                        res.put(Candidate("vendor.iban", compact, tl.evidence(m.start(), m.end()), 0.75))
                        break
            if "vendor.email" not in res.values:
                em = parsers.EMAIL_PATTERN.search(tl.text)
                if em and not _in_regions(tl.page, tl.box(em.start(), em.end()), regions):
                    res.put(Candidate("vendor.email", em.group(0), tl.evidence(em.start(), em.end()), 0.5))
