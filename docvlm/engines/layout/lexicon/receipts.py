"""Receipt vocabulary: till-receipt cues, total lines, cash/change, merchant-header lines."""

from __future__ import annotations

import re

RECEIPT_CUES = re.compile(
    r"\b(?:cash|change|tendered|cashier|kasse|caissier|rounding|rounded|thank\s+you|come\s+again|"
    r"terima\s+kasih|receipt|till|pos|member|table|qty|subtotal|sub-total|gst|sst|"
    r"goods\s+sold|not\s+returnable|refundable|exchangeable|bon|ticket|kassenbon|bonnetje)\b",
    re.IGNORECASE,
)

# Receipt total lines, from most to least preferred; the final amount a customer pays.
RECEIPT_TOTAL_LABELS: list[tuple[re.Pattern[str], float]] = [
    (
        re.compile(
            r"\b(?:round(?:ed|ing)?\s*total|total\s*round(?:ed|ing)?|rounded\s+amount)\b", re.IGNORECASE
        ),
        1.0,
    ),
    (re.compile(r"\bgrand\s+total\b", re.IGNORECASE), 0.95),
    (re.compile(r"\bnett?\s*total\b|\btotal\s+nett?\b", re.IGNORECASE), 0.95),
    (
        re.compile(
            r"\btotal\b.*\b(?:incl\w*|inclusive)\b|\btotal\s+sales\b|\btotal\s+payable\b|\bamount\s+due\b",
            re.IGNORECASE,
        ),
        0.9,
    ),
    (re.compile(r"\btotal\s*amount\b|\btotal\s*\(\s*rm\s*\)|\btotal\s*rm\b", re.IGNORECASE), 0.85),
    (re.compile(r"\btotal\b|\bjumlah\b|\bamount\b", re.IGNORECASE), 0.7),
]
RECEIPT_TOTAL_EXCLUDE = re.compile(
    r"sub[\s-]*total|\btotal\s+(?:qty|quantity|items?|pcs|points|disc\w*|saving\w*|excl\w*|gst|tax|sst)\b|"
    r"\bexcl\w*|\bqty\b|\bitems?\b|\bchange\b|\bcash\b|\btendered\b|\bpoints?\b|\bdisc(?:ount)?\b|"
    r"\bgst\s+summary|\btax\s+summary",
    re.IGNORECASE,
)
CASH_LABEL = re.compile(r"\b(?:cash(?:\s+tendered)?|tendered|paid|tunai)\b", re.IGNORECASE)
CHANGE_LABEL = re.compile(r"\b(?:change|kembali|baki)\b", re.IGNORECASE)

# Lines on a receipt header that are not the merchant's name or address.
RECEIPT_NOT_ADDRESS = re.compile(
    r"tax\s*invoice|\b(?:tel|fax|phone|h/p|hp|gst|sst|reg|roc|co\.?\s*reg|company\s+reg|invoice|receipt|"
    r"cash\s+bill|date|doc|document|cashier|e-?mail|www|http|website|bill\s+no|table|order|guest)\b|@|"
    r"^\(?[a-z]{0,3}\s*\d{4,}[\s-]*[a-z]?\)?$",
    re.IGNORECASE,
)
REGISTRATION_LINE = re.compile(
    r"^\(?\s*(?:co\.?\s*reg\w*\s*(?:no)?\s*[:.]?\s*|company\s+no\.?\s*[:.]?\s*|roc\s*(?:no)?\.?\s*[:.]?\s*)?"
    r"[a-z]{0,3}\s*\d{4,}\s*[-–]?\s*[a-z]?\s*\)?$",
    re.IGNORECASE,
)

# Words printed on invoices and never on till receipts.
INVOICE_ONLY = re.compile(
    r"\b(?:bill\s+to|invoice\s+to|due\s+date|payment\s+terms|iban|rechnungsadresse|factur[ée]\s+[àa]|"
    r"factuuradres|vervaldatum|f[äa]llig|[ée]ch[ée]ance|vencimiento|ship\s+to)\b",
    re.IGNORECASE,
)

# Words of a receipt's totals block, matched with one OCR slip allowed ("Subtotai", "T0TAL").
TOTALS_BLOCK_WORDS = ("subtotal", "total", "rounding", "balance", "change", "tendered", "amount")
