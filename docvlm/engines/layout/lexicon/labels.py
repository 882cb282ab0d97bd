"""Printed labels that announce header fields and parties.

Languages: EN, DE, FR, NL, ES, IT, PT, the Nordic ones (SV, DA, NO, FI), PL, CS, HU, and the MY/IN
receipts' English.

Each entry is a regular-expression fragment matched case-insensitively on a line with accents kept
(accented and plain spellings are both listed); ``compile_label`` makes the patterns the rules use.
"""

from __future__ import annotations

import re

_NO = r"(?:no\.?|nr\.?|n[º°o]\.?|#|num(?:ber|éro|ero|mer)?\.?|number)"

# Header labels for identifier, date and party fields, strongest spellings first.
# Each value is (regex fragment, strength): strength ranks labels of one field against each other.
HEADER_LABELS: dict[str, list[tuple[str, float]]] = {
    "invoice_number": [
        (rf"invoice\s*{_NO}", 1.0),
        (r"inv\.?\s*(?:no\.?|#|nr\.?)", 0.9),
        (r"invoice\s*id", 1.0),
        (r"rechnungs[\s-]?(?:nummer|nr\.?|no\.?)", 1.0),
        (rf"rechnung[\s-]*{_NO}", 1.0),
        (r"n[º°o]\.?\s*(?:de\s+)?factur[ae]", 1.0),
        (rf"factur[ae]\s*{_NO}", 1.0),
        (r"num[ée]ro\s+de\s+facture", 1.0),
        (r"factuur\s*(?:nummer|nr\.?|no\.?)", 1.0),
        (r"factuurnummer", 1.0),
        (r"n[º°o]\.?\s*(?:de\s+)?factura", 1.0),
        (r"n[úu]mero\s+de\s+factura", 1.0),
        (rf"fattura\s*{_NO}", 1.0),
        (rf"fatura\s*(?:{_NO}|n\.[º°])", 1.0),
        (r"n[úu]mero\s+(?:da|de)\s+fatura", 1.0),
        (
            r"faktura(?:nummer|nr\.?|numer)|faktura\s*(?:nr\.?|no\.?|#|numer)|nr\.?\s+faktury|[čc][íi]slo\s+faktury",
            1.0,
        ),
        (r"laskun?\s*(?:numero|nro\.?|nr\.?)|laskunumero", 1.0),
        (r"sz[áa]mla\s*(?:sorsz[áa]m|sz[áa]m)|sz[áa]mlasz[áa]m", 1.0),
        (rf"bill\s*{_NO}", 0.8),
        (rf"receipt\s*{_NO}", 0.8),
        (rf"tax\s+invoice\s*{_NO}", 1.0),
        (rf"document\s*{_NO}", 0.6),
        (rf"doc\.?\s*{_NO}", 0.6),
        (rf"beleg[\s-]*{_NO}", 0.7),
        (r"beleg(?:nummer|nr\.?)|dokument(?:en)?(?:nummer|nr\.?)|document\s+number", 0.8),
        (rf"voucher\s*(?:{_NO})?|n[º°o]\.?\s*(?:de\s+)?pi[èe]ce|pi[èe]ce\s*{_NO}", 0.6),
        (rf"booking\s*(?:id|{_NO})", 0.4),
        (rf"reference\s*{_NO}", 0.3),
    ],
    "invoice_date": [
        (r"invoice\s*date", 1.0),
        (r"date\s+of\s+invoice", 1.0),
        (r"date\s+(?:de\s+)?(?:la\s+)?facture", 1.0),
        (r"rechnungs-?datum", 1.0),
        (r"factuurdatum", 1.0),
        (r"fecha\s+(?:de\s+)?(?:la\s+)?factura", 1.0),
        (r"data\s+(?:della\s+|da\s+)?fattura", 1.0),
        (
            r"fakturadat(?:um|o)|data\s+(?:wystawienia|faktury)|datum\s+vystaven[íi]|laskun\s+p[äa]iv[äa](?:ys|m[äa][äa]r[äa])",
            1.0,
        ),
        (r"sz[áa]mla\s+kelte|kelte", 0.9),
        (
            r"ausstellungsdatum|date\s+d['’]\s*[ée]mission|fecha\s+(?:de\s+)?emisi[óo]n|data\s+(?:de\s+|di\s+)?emiss(?:[ãa]o|ione)",
            0.9,
        ),
        (r"issue\s*date|date\s+of\s+issue|issued\s+on", 0.9),
        (r"bill\s*date|receipt\s*date", 0.8),
        (r"beleg[\s-]?datum|dokument[\s-]?datum|document\s+date", 0.85),
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
            r"f[öo]rfallo(?:dag|datum)|forfaldsdato|forfalls?dato|termin\s+p[łl]atno[śs]ci|er[äa]p[äa]iv[äa]",
            1.0,
        ),
        (r"datum\s+splatnosti|fizet[ée]si\s+hat[áa]rid[őo]|hat[áa]rid[őo]", 1.0),
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
    r"rechnungs(?:aus)?steller|leistungserbringer|auftragnehmer|invoicer|issuer|prestataire|"
    r"account\s+holder|beneficiary|payee|kontoinhaber|titulaire(?:\s+du\s+compte)?|rekeninghouder|"
    r"titular(?:\s+de\s+la\s+cuenta)?|in\s+favou?r\s+of|payable\s+to"
)
CUSTOMER_LABELS = (
    r"bill(?:ed)?\s+to|invoice\s+to|invoiced\s+to|sold\s+to|customer|client|buyer|billing\s+address|"
    r"bill\s+to\s+address|ship\s+to|shipping\s+address|deliver(?:y|ed)?\s+to|recipient|attn|"
    r"rechnungsadresse|rechnungsempf[äa]nger|kunde|empf[äa]nger|lieferadresse|k[äa]ufer|leistungsempf[äa]nger|"
    r"factur[ée]\s+[àa](?!\s+(?:r[ée]gler|payer))|adresse\s+de\s+facturation|destinataire|livr[ée]\s+[àa]|acheteur|"
    r"delivery\s+address|adresse\s+de\s+livraison|lieferanschrift|"
    r"factuuradres|factuur\s+aan|klant|afnemer|geleverd\s+aan|rechnung\s+an|"
    r"facturar\s+a|cliente|comprador|enviar\s+a|destinatario|"
    r"guest\s+name|"
    r"to(?=\s*:)"  # "TO:" over an addressee; a bare "to" is a word of a sentence
)
# Ship-to blocks are customer blocks too, but the bill-to block is preferred for the customer party.
SHIP_LABELS = (
    r"ship\s+to|shipping\s+address|deliver(?:y|ed)?\s+to|lieferadresse|livr[ée]\s+[àa]|enviar\s+a|"
    r"delivery\s+address|adresse\s+de\s+livraison|lieferanschrift"
)

TAX_ID_LABELS = (
    r"vat\s*(?:reg(?:istration)?\.?\s*)?(?:no\.?|number|id|#)|vat[\s-]*id|vat/tin|"
    r"(?:n[º°o]\.?\s*(?:de\s+)?)?tva(?:\s+intra[\w.]*)?|"
    r"ust[\s.-]*id[\s.-]*nr\.?|ust[\s.-]*idnr\.?|ust[\s.-]*ident(?:ifikations)?[\s.-]*nr\.?|ust[\s.-]*id|umsatzsteuer[\s-]*id(?:entifikationsnummer)?|"
    r"steuer[\s-]*(?:nr\.?|nummer)|st\.?[\s-]*nr\.?|"
    r"btw[\s-]*(?:nummer|nr\.?|id)|btw|vat|"
    r"nif(?:/cif)?|cif(?:/nif)?|n\.?i\.?f\.?|c\.?i\.?f\.?|partita\s+iva|p\.?\s?iva|"
    r"gstin|gst\s*(?:reg(?:istration)?\.?\s*)?(?:id|no\.?|#)(?:\s*no\.?)?|gst\s+reg\s+#|"
    r"sst\s*(?:reg(?:istration)?\.?\s*)?(?:id|no\.?)|"
    r"tax\s*(?:id|no\.?|number|reg(?:istration)?\s*(?:no\.?|number))|tin|abn|ein|siret|siren|"
    # Nordic, Polish, Czech, Austrian/Swiss, Mexican and Italian tax numbers
    r"moms[\s.-]*reg(?:istrerings)?[\s.-]*(?:nr\.?|nummer)|momsnr\.?|cvr(?:[\s.-]*nr\.?)?|mva(?:[\s.-]*nr\.?)?|"
    r"y-tunnus|alv[\s.-]*(?:nro|numero)|nip|uid(?:[\s.-]*nr\.?)?|di[čc]|rfc|codice\s+fiscale|"
    r"ad[óo]sz[áa]m"
)
IBAN_LABELS = r"iban|bank\s+account|bankrekening|rekeningnummer|konto|compte|cuenta|account\s+no\.?"
EMAIL_LABELS = r"e-?mail|courriel|correo"
PHONE_LABELS = r"tel(?:ephone|efon|éfono|efone)?\.?|t[ée]l\.?|phone|ph\.?|mobile|mob\.?|fon|handy|gsm|tlf"
CURRENCY_LABELS = (
    r"currency|w[äa]hrung|devise|valuta|moneda|divisa|(?:all\s+)?amounts\s+in|betr[äa]ge\s+in|montants\s+en|"
    r"bedragen\s+in|importes\s+en|prices\s+in|preise\s+in"
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
#: matches where any of the tax id, IBAN, e-mail and phone labels does: one search a segment finds those
#: that hold none of them (most segments)
PARTY_ID_LABEL_RE = re.compile(
    "|".join(p.pattern for p in (TAX_ID_LABEL_RE, IBAN_LABEL_RE, EMAIL_LABEL_RE, PHONE_LABEL_RE)),
    re.IGNORECASE,
)
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
# ... and the buyer's word ending the text right before a tax-id label ("Customer VAT Number")
CUSTOMER_WORD_BEFORE_RE = re.compile(
    r"\b(?:customer|client|buyer|kunden?|klant|acheteur|cliente)\s*$", re.IGNORECASE
)

# A document title followed by its number ("Invoice INV/2023/0008").
# A title that names its number, and maybe its date ("Handelsrechnung Nr. TX-17 vom 30.10.2018",
# "Gutschrift (Selbst ausgestellte Rechnung) Nr. 4711", "Facture n° FA-9 du 2 mai 2024")
TITLE_REFERENCE = re.compile(
    r"(?:\b[^\W\d_]*(?:rechnung|gutschrift)|\b(?:invoice|facture|factuur|factura|fattura|avoir|credit\s+note))\b"
    r"(?:\s+\S+){0,4}?\s+(?:nr\b|no\b|n[°º]|nummer\b|number\b|num[ée]ro\b|#)\s*[.:#]?\s*"
    r"(?P<id>[^\s,;]*\d[^\s,;]*)(?:\s+(?:vom|von|du|of|dated|del|van|issued\s+(?:at|on))\b(?P<date>.*))?",
    re.IGNORECASE,
)
# the date of a title set on the line under it ("vom 31.10.2018")
TITLE_DATE_LINE = re.compile(r"\s*(?:vom|von|du|of|dated|del|van)\b", re.IGNORECASE)
TITLE_NUMBER = re.compile(
    r"(?:invoice|factuur|facture|rechnung|factura|fattura|avoir|gutschrift|credit\s+note|#)\s*[:#]?\s*",
    re.IGNORECASE,
)
# a title set alone ("FACTURE", "INVOICE"), whose number follows on a line under it ("N°F-2024-14")
TITLE_ALONE = re.compile(
    r"\s*(?:invoice|tax\s+invoice|factuur|facture|rechnung|factura|fattura|avoir|gutschrift|credit\s+note)\s*$",
    re.IGNORECASE,
)
NUMBER_SIGN = re.compile(r"\s*(?:n[°º]|no\.?|nr\.?|#|number|nummer|num[ée]ro)\s*[:.]?\s*", re.IGNORECASE)

# a short label, a colon and a code: a keyed field line ("Nummer : 12345676", "Kunden-Nr.: K-17")
KEYED_LINE = re.compile(
    r"\s*[^\W\d_][\w .-]{0,24}?\s*:\s*[#\w./-]*\d[#\w./ -]*$"
    # a label that says it holds a number, whatever it holds ("Nummer : Liselotte M.")
    r"|\s*[\w.-]*(?:nummer|number|nr|no)\.?\s*:\s*\S.*$",
    re.IGNORECASE,
)
# The keyed lines of a party block, a form-like block or table ("Name: X", "Straße  Hafenweg 3",
# "PLZ / Ort: 20457 Hamburg", "Raison sociale : X"): the label says which part of the party its value
# is. Read only inside a party block, and only as a whole segment or before a colon.
PARTY_NAME_LABEL = re.compile(
    r"\s*(?:(?:company|business|legal|trading|registered|firm)\s+name|name|firma|firmenname|firmierung|"
    r"unternehmen|raison\s+sociale|d[ée]nomination(?:\s+sociale)?|nom|soci[ée]t[ée]|entreprise|naam|"
    r"bedrijfsnaam|handelsnaam|nombre|raz[óo]n\s+social|empresa|ragione\s+sociale|denominazione)\s*",
    re.IGNORECASE,
)
PARTY_ADDRESS_LABEL = re.compile(
    r"\s*(?:(?:street\s+|postal\s+|mailing\s+|billing\s+)?address|adresse|adres|anschrift|direcci[óo]n|"
    r"indirizzo|stra(?:ß|ss)e(?:\s*(?:/|und|,)\s*(?:hausnummer|haus-?nr\.?|nr\.?))?|street|rue|calle|straat|"
    r"via|plz(?:\s*(?:/|,|und)?\s*ort)?|ort|post\s*code|postal\s+code|zip(?:\s+code)?|city|town|ville|"
    r"code\s+postal|c[óo]digo\s+postal|ciudad|plaats|citt[àa]|cap|land|country|pays|pa[íi]s|state|"
    r"province|provincia|region)\s*",
    re.IGNORECASE,
)

# what turns a party label into another field's label: "Customer VAT Number", "Client No."
PARTY_FIELD = re.compile(r"\s*(?:no\b|nr\b|n[°º]|number|nummer|num[ée]ro|id\b|ref|#|code\b)", re.IGNORECASE)

# Words right before "date" that make it another date than the invoice's ("Due date", "Order date")
OTHER_DATE_BEFORE = re.compile(
    r"(?:due|order|delivery|ship\w*|check[\s-]?(?:in|out)|start|end|print\w*|lever\w*|liefer\w*|bestell\w*|"
    r"payment|paid|service|supply|leistungs|birth|expiry|valid\w*|auftrags?|versand\w*|druck\w*|original|"
    r"related|referenced)[\s-]*$"
)
# Words right after "date" that make it another date ("Date of birth", "Date de livraison", "Fecha de entrega")
OTHER_DATE_AFTER = re.compile(
    r"(?:of\s+birth|due|"
    r"d[e']\s*(?:la\s+|l['’]\s*)?(?:livraison|commande|d[ée]but|fin|prestation|exp[ée]dition|r[ée]ception)|"
    r"de(?:l)?\s+(?:la\s+)?(?:entrega|pedido|env[íi]o|inicio)|"
    r"di\s+consegna|dell['’]\s*ordine|"
    r"associ[ée]e|d['’]\s*origine|initiale|originale|rectifi[ée]e)\b"
)

# Registration or national tax-number labels (a VAT id elsewhere on the page is preferred)
NATIONAL_TAX_LABEL = re.compile(r"(?:siret|siren|st\.?|steuer|tin|ein|abn|cin)", re.IGNORECASE)

# Seller labels of the payment block (the account holder), weaker than "Sold by"
PAYEE_LABEL = re.compile(
    r"(?:account|beneficiary|payee|kontoinhaber|titulaire|rekeninghouder|titular|in\s+favou?r|payable)",
    re.IGNORECASE,
)

# Words that tell a label's language (the features carry it with the label's class); first match wins.
LABEL_LANGUAGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "de",
        re.compile(
            r"rechnung|datum|betrag|summe|steuer|mwst|ust|netto|brutto|kunde|lieferant|bestell|f[äa]llig|zahl|"
            r"beleg|nummer|gesamt|anschrift|empf[äa]nger|leistung",
            re.IGNORECASE,
        ),
    ),
    (
        "fr",
        re.compile(
            r"factur|montant|tva|date\s+d|[ée]ch[ée]ance|client|fournisseur|num[ée]ro|n[°º]|total\s+ht|ttc|"
            r"commande|pi[èe]ce|r[ée]f[ée]rence|adresse|payer",
            re.IGNORECASE,
        ),
    ),
    (
        "nl",
        re.compile(r"factuur|bedrag|btw|klant|vervaldatum|totaal|datum|betalen|referentie", re.IGNORECASE),
    ),
    (
        "es",
        re.compile(
            r"factura|fecha|importe|iva|cliente|vencimiento|pedido|n[úu]mero|proveedor", re.IGNORECASE
        ),
    ),
    ("it", re.compile(r"fattura|data|importo|scadenza|totale|partita", re.IGNORECASE)),
    (
        "en",
        re.compile(
            r"invoice|date|amount|total|tax|vat|due|bill|customer|order|number|no\b|balance|receipt|ship|sold",
            re.IGNORECASE,
        ),
    ),
)
LANGUAGE_CODES: tuple[str, ...] = ("", "de", "fr", "nl", "es", "it", "en")

# Payment terms that give the due date as a number of days after the invoice date ("Zahlbar innerhalb
# 30 Tagen netto", "Net 30", "Payment due within 30 days", "30 jours net", "à 30 jours"): the day
# count is group "days" of one of these, on a sentence that speaks of payment (PAYMENT_WORDS)
TERMS_DAYS = re.compile(
    r"(?<![\d,.\-–])(?P<days>\d{1,3})\s*(?:tage[n]?|tg\.?|days?|jours?|d[íi]as|giorni|dagen|dni|dn[íi]|"
    r"dagar|dage|dager|p[äa]iv[äa][äa])\b(?!\s*[-–]\s*\d)|"
    r"\bnet(?:to)?\s*(?P<net>\d{1,3})\b(?![.,]\d)",
    re.IGNORECASE,
)
PAYMENT_WORDS = re.compile(
    r"\b(?:pay\w*|zahl\w*|netto|net|due|f[äa]llig\w*|terms?|paiement|r[èe]glement|payable|[ée]ch[ée]ance|"
    r"pago|plazo|pagamento|betaling|betal\w*|p[łl]atno\w*|splatnost\w*|maksu\w*|conditions)\b",
    re.IGNORECASE,
)
# a clause about an early-payment discount, an end-of-month rule or a delivery time: its days are no due date
TERMS_NOT_DUE = re.compile(
    r"skonto|discount|escompte|sconto|descuento|korting|rabatt|%|fin\s+de\s+mois|end\s+of\s+(?:the\s+)?month|"
    r"monatsende|deliver\w*|liefer\w*|livraison|versand|shipping|business\s+days|working\s+days|werktag\w*",
    re.IGNORECASE,
)
# payment due on receipt of the invoice: the due date is the invoice date
TERMS_AT_ONCE = re.compile(
    r"\b(?:zahlbar\s+sofort|sofort\s+(?:zahlbar|f[äa]llig)|(?:due|payable)\s+(?:up)?on\s+receipt|"
    r"payable\s+immediately|due\s+immediately|(?:à|a|d[èe]s)\s+r[ée]ception|paiement\s+comptant|"
    r"al\s+contado|a\s+vista|bij\s+ontvangst)\b",
    re.IGNORECASE,
)
