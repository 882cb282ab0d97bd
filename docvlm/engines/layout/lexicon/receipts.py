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
    r"\b(?:gst|tax|vat|sst)\s+(?:summary|analysis|code|breakdown)",  # the header of a tax summary table
    re.IGNORECASE,
)
CASH_LABEL = re.compile(r"\b(?:cash(?:\s+tendered)?|tendered|paid|tunai)\b", re.IGNORECASE)
CHANGE_LABEL = re.compile(r"\b(?:change|kembali|baki)\b", re.IGNORECASE)

# Lines on a receipt header that are not the merchant's name or address.
RECEIPT_NOT_ADDRESS = re.compile(
    r"tax\s*invoice|\b(?:tel(?:ephone|efon)?|fax|phone|h/p|hp|mobile|whats\s*apps?|\w*(?:care|hot|help)\s*line|"
    r"gst|sst|reg|roc|co\.?\s*reg|company\s+reg|invoice|receipt|"
    r"cash\s+bill|date|doc|document|cashier|e-?mail|www|http|website|bill\s+no|table|order|guest)\b|@|"
    r"\+\d{2,3}[\s-]?\d{2}|"  # an international phone number
    r"^\(?[a-z]{0,3}\s*\d{4,}[\s-]*[a-z]?\)?$",
    re.IGNORECASE,
)
# How a receipt's address line starts without a street word: a house or plot number, a lot, a
# level, a unit, a building ("12, Jalan ...", "PT1234, Seksyen 2", "B-1-05, Plaza ...", "Wisma ...")
RECEIPT_ADDRESS_START = re.compile(
    r"^(?:no\.?\s*\d|(?:[a-z]{1,3}-)*[a-z]{0,3}\d+[\w/-]*\s*,|lot\b|level\b|unit\b|wisma\b|menara\b|plaza\b|block\b)",
    re.IGNORECASE,
)
# ... and how an address line that also holds a stop word may still open the address: a house
# number, a lot, a level ("No. 8", "12,", "Lot 5")
RECEIPT_ADDRESS_NUMBER = re.compile(r"^(?:no\.?\s*\d|\d|lot|level)", re.IGNORECASE)
# A phone label with its number, inside a line ("..., State, TEL NO.: 01-234 5678")
RECEIPT_PHONE_LABEL = re.compile(
    r"\b(?:tel(?:ephone|efon)?|phone|fax|h/p|hp|mobile|whats\s*apps?)\b\s*(?:no\.?)?\s*[:.]?\s*[+(]?\d",
    re.IGNORECASE,
)
# A short label, a colon and a number alone on a line ("SITE: 1234", "STORE: 12"): a keyed field
RECEIPT_KEYED_NUMBER = re.compile(r"^[^\W\d_][\w .#/-]{0,18}:\s*[\d\s./-]+$")
# A greeting or a thank-you: a till's courtesy line, never the merchant's name
COURTESY_LINE = re.compile(
    r"thank\s*you|\bthanks\b|\btq\b|terima\s*kasih|\bwelcome\b|selamat\s+datang|come\s+again|visit\s+us|"
    r"please\s+come|danke|vielen\s+dank|willkommen|merci|bienvenue|bedankt|welkom|gracias|bienvenid[oa]s?",
    re.IGNORECASE,
)
# A company's registration number alone on a line, maybe behind its label ("(123456-X)",
# "CO REG NO: 123456-X", "COMPANY NO(123456-X)", "BR NO.: (123456-H)")
REGISTRATION_LINE = re.compile(
    r"^\(?\s*(?:co\.?\s*reg\w*\s*(?:no)?\s*[:.]?\s*|company\s+no\.?\s*[:.]?\s*|roc\s*(?:no)?\.?\s*[:.]?\s*|"
    r"[a-z]{1,4}\.?\s*no\.?\s*[:.]?\s*)?"
    r"\(?\s*[a-z]{0,3}\s*\d{4,}\s*[-–]?\s*[a-z]?\s*\)?$",
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

# What a till receipt prints that an invoice does not, by kind; a document is judged by how many
# kinds it shows (``receipts.receipt_signal``), so no one word decides it.
RECEIPT_CONTENT: dict[str, re.Pattern[str]] = {
    # the till and its cash handling
    "till": re.compile(
        r"\b(?:cash(?:ier)?|change|tendered|kembali|counter|kasse|kassierer|caisse|caissier|kassa|caja|"
        r"cajero|receipt\s*(?:no|#)|bon\s*(?:nr|no)|till|pos\s*(?:no|id)?|shift|table\s*(?:no)?|pax)\b",
        re.IGNORECASE,
    ),
    # the card terminal's slip
    "card_terminal": re.compile(
        r"\b(?:approval(?:\s*code)?|appr\.?\s*code|auth(?:ori[sz]ation)?\.?\s*(?:code|no)|tid|mid|"
        r"terminal(?:\s*id)?|batch\s*(?:no|#)?|trace\s*(?:no|#)?|visa|master\s*card|mastercard|amex|maestro|"
        r"debit|credit\s*card|card\s*(?:no|type|number)|contactless|pin\s*verified|rrn|ec[-\s]?karte|girocard|"
        r"carte\s*bancaire|pinpas)\b|[*x]{4,}\s*\d{4}\b",
        re.IGNORECASE,
    ),
    # the tax summary block of a till print (rates by code)
    "tax_summary": re.compile(
        r"\b(?:gst|sst|vat|tax|mwst|ust|tva|btw|iva)\s*summary\b|\bsummary\b.{0,20}\b(?:gst|sst|tax|vat)\b|"
        r"\bamount\s*\(\s*rm\s*\)|\b(?:sr|zr|zrl|s|z|a|b)\s*[=@:]\s*\d{1,2}(?:\.\d+)?\s*%|\btax\s*code\b|"
        r"\bincl\.?\s*(?:gst|vat|mwst|tva|btw)\b|\bgst\s*@\s*\d",
        re.IGNORECASE,
    ),
    # the till's closing lines
    "thanks": re.compile(
        r"thank\s*you|terima\s*kasih|come\s+again|please\s+come|danke|vielen\s+dank|merci|bedankt|gracias|"
        r"goods\s+sold|not\s+(?:returnable|refundable|exchangeable)|no\s+refund",
        re.IGNORECASE,
    ),
    # the time of day a till stamps next to the date
    "till_time": re.compile(
        r"(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s*[ap]\.?m\.?)?(?![\d:])", re.IGNORECASE
    ),
    # item counts of a till total
    "item_count": re.compile(
        r"\btotal\s+(?:qty|items?|quantity|pcs)\b|\bno\.?\s*of\s*items?\b|\bitem\s*count\b|\bqty\s*total\b|"
        r"\banzahl\s+artikel\b|\bnombre\s+d.articles\b",
        re.IGNORECASE,
    ),
}
# A customer block: invoices name whom they bill; receipts almost never do.
CUSTOMER_BLOCK = re.compile(
    r"\b(?:bill(?:ed)?\s+to|invoice\s+to|sold\s+to|ship\s+to|deliver\s+to|customer\s*(?:name|no|number|id)?\s*:|"
    r"client\s*:|kunde\s*:|kundennummer|rechnungsempf[äa]nger|factur[ée]\s+[àa]|klant\s*:|cliente\s*:|"
    r"attn\.?|attention)\b",
    re.IGNORECASE,
)
#: kinds of receipt content that make a document a receipt whatever its shape (without a customer block)
RECEIPT_CONTENT_MIN = 3
#: kinds that make a tall strip a receipt even beside one invoice word ("BILL TO" on a restaurant bill)
RECEIPT_CONTENT_STRONG = 4
