"""Multilingual label lexicon of the layout engine: which printed labels announce which field.

Each entry is a regular-expression fragment matched case-insensitively on a line of text with
accents kept (both accented and plain spellings are listed). The module exposes compiled
patterns; nothing here looks at pages.
Languages: EN, DE, FR, NL, ES, IT, PT plus common Malaysian / Indian receipt wording.
"""

from __future__ import annotations

import logging
import re

_log = logging.getLogger(__name__)

# "No", "No.", "Nr", "Nº", "N°", "#", "Number", "Num" after a noun
_NO = r"(?:no\.?|nr\.?|n[º°o]\.?|#|num(?:ber|éro|ero|mer)?\.?|number)"

# Header labels for identifier, date and party fields, strongest spellings first.
# Each value is (regex fragment, strength): strength ranks labels of one field against each other.
HEADER_LABELS: dict[str, list[tuple[str, float]]] = {
    "invoice_number": [
        (rf"invoice\s*{_NO}", 1.0),
        (r"inv\.?\s*(?:no\.?|#|nr\.?)", 0.9),
        (r"invoice\s*id", 1.0),
        (r"rechnungs[\s-]?(?:nummer|nr\.?|no\.?)", 1.0),
        (rf"rechnung\s*{_NO}", 1.0),
        (r"n[º°o]\.?\s*(?:de\s+)?factur[ae]", 1.0),
        (rf"factur[ae]\s*{_NO}", 1.0),
        (r"num[ée]ro\s+de\s+facture", 1.0),
        (r"factuur\s*(?:nummer|nr\.?|no\.?)", 1.0),
        (r"factuurnummer", 1.0),
        (r"n[º°o]\.?\s*(?:de\s+)?factura", 1.0),
        (r"n[úu]mero\s+de\s+factura", 1.0),
        (rf"fattura\s*{_NO}", 1.0),
        (rf"bill\s*{_NO}", 0.8),
        (rf"receipt\s*{_NO}", 0.8),
        (rf"tax\s+invoice\s*{_NO}", 1.0),
        (rf"document\s*{_NO}", 0.6),
        (rf"doc\.?\s*{_NO}", 0.6),
        (rf"beleg\s*{_NO}", 0.7),
        (rf"booking\s*(?:id|{_NO})", 0.4),
        (rf"reference\s*{_NO}", 0.3),
    ],
    "invoice_date": [
        (r"invoice\s*date", 1.0),
        (r"date\s+of\s+invoice", 1.0),
        (r"date\s+(?:de\s+)?(?:la\s+)?facture", 1.0),
        (r"rechnungsdatum", 1.0),
        (r"factuurdatum", 1.0),
        (r"fecha\s+(?:de\s+)?(?:la\s+)?factura", 1.0),
        (r"data\s+(?:della\s+|da\s+)?fattura", 1.0),
        (r"issue\s*date|date\s+of\s+issue|issued\s+on", 0.9),
        (r"bill\s*date|receipt\s*date", 0.8),
        (r"datum", 0.6),
        (r"fecha", 0.6),
        (r"date", 0.6),
        (r"data", 0.4),
    ],
    "due_date": [
        (r"due\s*date|payment\s+due|date\s+due|due\s+on|pay\s+by", 1.0),
        (r"f[äa]lligkeit(?:sdatum)?|f[äa]llig(?:\s+am)?|zahlbar\s+bis", 1.0),
        (r"(?:date\s+d['’]\s*)?[ée]ch[ée]ance", 1.0),
        (r"vervaldatum|vervaldag|uiterste\s+betaaldatum", 1.0),
        (r"(?:fecha\s+de\s+)?vencimiento", 1.0),
        (r"scadenza|data\s+de\s+vencimento", 1.0),
        (
            r"zahlungsziel|date\s+limite(?:\s+de\s+paiement)?|betalen\s+(?:voor|v[óo][óo]r)|fecha\s+l[íi]mite",
            0.9,
        ),
        (r"due", 0.6),
    ],
    "purchase_order": [
        (rf"p\.?\s?o\.?\s*{_NO}", 1.0),
        (r"purchase\s+order(?:\s*" + _NO + r")?", 1.0),
        (r"your\s+(?:order|ref(?:erence)?)(?:\s*" + _NO + r")?", 0.7),
        (r"uw\s+(?:referentie|kenmerk|order(?:nummer)?|bestelling)", 0.7),
        (r"ihre\s+(?:bestellung|referenz|zeichen|auftragsnummer)", 0.7),
        (r"votre\s+(?:r[ée]f[ée]rence|commande)", 0.7),
        (r"su\s+(?:referencia|pedido)", 0.7),
        (r"bestell(?:nummer|nr\.?|ung)", 0.8),
        (r"(?:bon\s+de\s+)?commande(?:\s*" + _NO + r")?", 0.7),
        (r"inkoop(?:order)?(?:nummer)?", 0.8),
        (r"(?:orden\s+de\s+compra|pedido)(?:\s*" + _NO + r")?", 0.8),
        (rf"order\s*(?:id|{_NO})", 0.4),
        (r"ordernummer", 0.4),
    ],
}

# Labels that announce the seller / buyer party block.
VENDOR_LABELS = (
    r"sold\s+by|seller|vendor|supplier|from|service\s+provider|issued\s+by|bill\s+from|"
    r"verk[äa]ufer|lieferant|absender|fournisseur|vendeur|[ée]metteur|leverancier|verkoper|"
    r"proveedor|vendido\s+por|emisor|fornitore|"
    r"account\s+holder|beneficiary|payee|kontoinhaber|titulaire(?:\s+du\s+compte)?|rekeninghouder|"
    r"titular(?:\s+de\s+la\s+cuenta)?|in\s+favou?r\s+of|payable\s+to"
)
CUSTOMER_LABELS = (
    r"bill(?:ed)?\s+to|invoice\s+to|invoiced\s+to|sold\s+to|customer|client|buyer|billing\s+address|"
    r"bill\s+to\s+address|ship\s+to|shipping\s+address|deliver(?:y|ed)?\s+to|recipient|attn|"
    r"rechnungsadresse|rechnungsempf[äa]nger|kunde|empf[äa]nger|lieferadresse|"
    r"factur[ée]\s+[àa]|adresse\s+de\s+facturation|destinataire|livr[ée]\s+[àa]|acheteur|"
    r"factuuradres|factuur\s+aan|klant|afnemer|geleverd\s+aan|rechnung\s+an|"
    r"facturar\s+a|cliente|comprador|enviar\s+a|destinatario|"
    r"guest\s+name"
)
# Ship-to blocks are customer blocks too, but the bill-to block is preferred for the customer party.
SHIP_LABELS = r"ship\s+to|shipping\s+address|deliver(?:y|ed)?\s+to|lieferadresse|livr[ée]\s+[àa]|enviar\s+a"

TAX_ID_LABELS = (
    r"vat\s*(?:reg(?:istration)?\.?\s*)?(?:no\.?|number|id|#)|vat/tin|"
    r"(?:n[º°o]\.?\s*(?:de\s+)?)?tva(?:\s+intra[\w.]*)?|"
    r"ust[\s.-]*id[\s.-]*nr\.?|ust[\s.-]*idnr\.?|ust[\s.-]*id|umsatzsteuer[\s-]*id(?:entifikationsnummer)?|"
    r"steuer[\s-]*(?:nr\.?|nummer)|st\.?[\s-]*nr\.?|"
    r"btw[\s-]*(?:nummer|nr\.?|id)|btw|vat|"
    r"nif(?:/cif)?|cif(?:/nif)?|n\.?i\.?f\.?|c\.?i\.?f\.?|partita\s+iva|p\.?\s?iva|"
    r"gstin|gst\s*(?:reg(?:istration)?\.?\s*)?(?:id|no\.?|#)(?:\s*no\.?)?|gst\s+reg\s+#|"
    r"sst\s*(?:reg(?:istration)?\.?\s*)?(?:id|no\.?)|"
    r"tax\s*(?:id|no\.?|number|reg(?:istration)?\s*(?:no\.?|number))|tin|abn|ein|siret|siren"
)
IBAN_LABELS = r"iban|bank\s+account|bankrekening|rekeningnummer|konto|compte|cuenta|account\s+no\.?"
EMAIL_LABELS = r"e-?mail|courriel|correo"
PHONE_LABELS = r"tel(?:ephone|efon|éfono|efone)?\.?|t[ée]l\.?|phone|ph\.?|mobile|mob\.?|fon|handy|gsm|tlf"
CURRENCY_LABELS = r"currency|w[äa]hrung|devise|valuta|moneda|divisa"

# Amount labels: the text left of an amount on a line is classified by these, first match wins.
AMOUNT_EXCLUDE = re.compile(
    r"\b(?:total\s+(?:qty|quantity|items?|pcs|units?|points|discount|savings?|weight)|"
    r"qty|quantity|items?\s+count|no\.?\s+of\s+items|change|kembali|baki|tendered|cash|"
    r"rounding|round(?:ing)?\s*adj\w*|adjustment|disc(?:ount)?|voucher|deposit|points?|credits?|"
    r"paid|payment\s+received|received|visa|master\s*card|card|"
    r"rabatt|remise|korting|descuento|"
    r"previous\s+balance|opening\s+balance|balance\s+(?:forward|brought\s+forward)|carried\s+forward|"
    r"brought\s+forward|[üu]bertrag|[àa]\s+reporter|acompte|anzahlung|vorauszahlung|aanbetaling|anticipo|"
    r"unit\s+price|price|rate|prix|preis|prijs|precio)\b",
    re.IGNORECASE,
)
_INCL = r"(?:incl\.?|inkl\.?|including|inclusive|included|ttc|toutes\s+taxes|avec|met|con|iva\s+incluido)"
_TAXWORD = r"(?:tax|taxes|vat|tva|btw|mwst|ust|iva|gst|sst|igst|cgst|sgst|utgst|umsatzsteuer|mehrwertsteuer|impuesto|imposto)"
AMOUNT_LABELS: list[tuple[str, re.Pattern[str], float]] = [
    # (field, pattern, strength): strength ranks labels of the same field
    (
        "amount_due",
        re.compile(
            r"\b(?:amount\s+due|balance\s+due|total\s+due|amount\s+payable|total\s+payable|balance|"
            r"te\s+betalen|nog\s+te\s+betalen|net\s+[àa]\s+payer|reste\s+[àa]\s+payer|[àa]\s+payer|"
            r"zu\s+zahlen|zahlbetrag|offener\s+betrag|restbetrag|"
            r"a\s+pagar|importe\s+a\s+pagar|total\s+a\s+pagar|saldo|da\s+pagare|please\s+pay)\b",
            re.IGNORECASE,
        ),
        1.0,
    ),
    (
        "total",
        re.compile(
            rf"\b(?:total|totaal|gesamt\w*|summe|endbetrag|rechnungsbetrag|bruttobetrag|montant|importe|"
            rf"betrag|bedrag|amount|totale)\b.*\b{_INCL}\b|\b{_INCL}\b.*\b{_TAXWORD}\b",
            re.IGNORECASE,
        ),
        1.0,
    ),
    (
        "subtotal",
        re.compile(
            r"\b(?:sub[\s-]?total|subtotaal|sous[\s-]?total|zwischensumme|teilsumme|"
            r"total\s+h\.?t\.?|montant\s+h\.?t\.?|h\.?t\.?|hors\s+taxes?|"
            r"total\s+net|net\s+amount|nettobetrag|netto\w*|summe\s+netto|"
            r"base\s+imponible|taxable\s+(?:amount|value)|untaxed|before\s+tax|pre[\s-]?tax|"
            r"excl\.?|exkl\.?|excluding|exclusief|exclusive|zonder|ohne|sans|sin)\b"
            r"|\b(?:total|totaal)\s+(?:excl|exkl|ex)\b",
            re.IGNORECASE,
        ),
        1.0,
    ),
    (
        "tax_total",
        re.compile(
            rf"\b(?:total\s+)?{_TAXWORD}\b|\b(?:sales\s+tax|service\s+tax|gov(?:ernment)?\s+tax|"
            rf"montant\s+tva|btw[\s-]?bedrag|steuerbetrag|cuota\s+iva)\b",
            re.IGNORECASE,
        ),
        1.0,
    ),
    (
        "total",
        re.compile(
            r"\b(?:grand\s+total|total\s+amount|invoice\s+total|total\s+invoice|total\s+for\s+this\s+invoice|"
            r"rounded\s+total|total\s+rounded|nett?\s+total|total\s+sales|total\s+ttc|"
            r"rechnungsbetrag|gesamtbetrag|endbetrag|bruttobetrag|gesamtsumme|"
            r"montant\s+total|montant\s+ttc|net\s+[àa]\s+payer|"
            r"totaalbedrag|totaal\s+bedrag|importe\s+total|total\s+factura|totale\s+fattura)\b",
            re.IGNORECASE,
        ),
        1.0,
    ),
    (
        "total",
        re.compile(r"\b(?:total|totaal|gesamt|summe|totale|montant|importe|amount)\b", re.IGNORECASE),
        0.7,
    ),
]

# Words that make a line a document title rather than a name.
DOC_TITLE_WORDS = frozenset(
    [
        "invoice",
        "invoices",
        "tax",
        "retail",
        "commercial",
        "proforma",
        "pro-forma",
        "credit",
        "debit",
        "note",
        "bill",
        "receipt",
        "statement",
        "quotation",
        "quote",
        "original",
        "copy",
        "duplicate",
        "simplified",
        "rechnung",
        "gutschrift",
        "facture",
        "avoir",
        "factuur",
        "creditnota",
        "factura",
        "recibo",
        "fattura",
        "ricevuta",
        "nota",
        "payment",
        "cash",
        "sales",
        "order",
    ]
)

# Company legal-form suffixes (vendor names on invoices and receipts end with these).
COMPANY_SUFFIX = re.compile(
    r"(?:\b(?:sdn\.?\s*b[a-z]{2}|s/b|bhd|berhad|enterprise|enterprises|trading|ltd|limited|llc|llp|inc|"
    r"corp(?:oration)?|co|company|gmbh|ag|kg|ohg|ug|e\.?\s?k|s\.?a\.?s?|s\.?a\.?r\.?l|sarl|sas|eurl|"
    r"b\.?\s?v|n\.?\s?v|v\.?o\.?f|s\.?l|s\.?l\.?u|s\.?p\.?a|s\.?r\.?l|plc|pty|pvt|pte|oy|ab|as|aps|"
    r"restaurant|restoran|hardware|stationery|store|mart|supermarket|bakery|cafe|kedai|gallery|"
    r"services|solutions|group|holdings|industries|international)\b\.?)\s*[,.]?$",
    re.IGNORECASE,
)

# Receipt cues: words printed on till receipts and rarely on invoices.
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

# Address words: a line with these (or a postcode) is an address line, not a name.
ADDRESS_WORDS = re.compile(
    r"\b(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|blvd|boulevard|suite|floor|building|block|lot|"
    r"jalan|jln|taman|lorong|bandar|kawasan|persiaran|no\.?|p\.?o\.?\s*box|"
    r"stra(?:ss|ß)e|str\.?|weg|platz|gasse|allee|rue|avenue|boulevard|chemin|place|all[ée]e|"
    r"straat|laan|plein|gracht|calle|avenida|plaza|carrer|via|piazza|corso)\b",
    re.IGNORECASE,
)
POSTCODE = re.compile(r"\b\d{4,6}\b|\b\d{4}\s?[A-Z]{2}\b|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
US_STATE_ZIP = re.compile(
    r"\b(?:AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|"
    r"NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC)\s*,?\s+\d{5}(?:-\d{4})?\b"
)
LEGAL_FOOTER = re.compile(
    r"\b(?:capital|registered\s+office|regd\.?\s+office|si[èe]ge\s+social|rcs|rsc|siret|siren|kvk|"
    r"handelsregister|amtsgericht|hrb|hra|gesch[äa]ftsf[üu]hrer|registro\s+mercantil|company\s+no|cin|"
    r"registered\s+in|inscrite?)\b",
    re.IGNORECASE,
)


def compile_label(fragment: str) -> re.Pattern[str]:
    """A label fragment as a pattern that must start at a word boundary and is followed by a separator.

    The match ends after any trailing ``:``/``#``/``-``/``.`` so the value starts right after it.
    """
    return re.compile(rf"(?<![\w])(?:{fragment})(?![\w])\s*[:#.\-–]*\s*", re.IGNORECASE)


HEADER_PATTERNS: dict[str, list[tuple[re.Pattern[str], float]]] = {
    name: [(compile_label(frag), strength) for frag, strength in entries]
    for name, entries in HEADER_LABELS.items()
}
VENDOR_LABEL_RE = compile_label(VENDOR_LABELS)
CUSTOMER_LABEL_RE = compile_label(CUSTOMER_LABELS)
SHIP_LABEL_RE = compile_label(SHIP_LABELS)
TAX_ID_LABEL_RE = compile_label(
    rf"(?:{TAX_ID_LABELS})(?:\s+(?:klant|client|cliente|customer|kunde|acheteur))?"
)
IBAN_LABEL_RE = compile_label(IBAN_LABELS)
EMAIL_LABEL_RE = compile_label(EMAIL_LABELS)
PHONE_LABEL_RE = compile_label(PHONE_LABELS)
CURRENCY_LABEL_RE = compile_label(CURRENCY_LABELS)
ANY_HEADER_LABEL_RE = re.compile(
    "|".join(
        [frag for entries in HEADER_LABELS.values() for frag, _ in entries]
        + [VENDOR_LABELS, CUSTOMER_LABELS, TAX_ID_LABELS, r"iban|bic|swift", EMAIL_LABELS]
    ),
    re.IGNORECASE,
)
# any identifier / date / reference label of HEADER_LABELS, as one pattern (one search per line)
FIELD_LABEL_RE = compile_label("|".join(frag for entries in HEADER_LABELS.values() for frag, _ in entries))
# a tax-id label naming the customer ("BTW-nummer klant", "N° TVA client", "NIF cliente")
CUSTOMER_WORD_RE = re.compile(
    r"\b(?:klant|client|cliente|customer|kunde|buyer|acheteur|afnemer)\b", re.IGNORECASE
)
