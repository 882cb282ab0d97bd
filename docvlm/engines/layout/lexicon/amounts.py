"""Amount labels: which words left of an amount announce subtotal, tax, total or amount due."""

from __future__ import annotations

import re

# Amount labels: the text left of an amount on a line is classified by these, first match wins.
AMOUNT_EXCLUDE = re.compile(
    r"\b(?:total\s+(?:qty|quantity|items?|pcs|units?|points|discount|savings?|weight)|"
    r"qty|quantity|items?\s+count|no\.?\s+of\s+items|change|kembali|baki|tendered|cash|"
    r"rounding|round(?:ing)?\s*adj\w*|adjustment|disc(?:ount)?|voucher|deposit|points?|credits?|"
    r"paid|pre-?paid|prepayment|already\s+paid|payment\s+received|received|visa|master\s*card|card|"
    r"\w*bezahlt\w*|(?:bereits\s+)?gezahlt\w*|"
    r"\w*rabatt?\w*|remise|korting\w*|descuento|sconto|desconto|alennus|sleva|kedvezm[ée]ny|"
    r"previous\s+balance|opening\s+balance|balance\s+(?:forward|brought\s+forward)|carried\s+forward|"
    r"brought\s+forward|[üu]bertrag|[àa]\s+reporter|acompte|anzahlung|vorauszahlung|aanbetaling|anticipo|"
    # document-level allowances and charges (EN 16931 BT-107/108), and instalments already invoiced
    r"\w*zuschl[äa]g\w*|\w*abschl[äa]g\w*|allowances?|"
    r"unit\s+price|price|rate|prix|preis|prijs|precio)\b",
    re.IGNORECASE,
)
_INCL = r"(?:incl\.?|inkl\.?|einschl\.?|einschlie(?:ß|ss)lich|inkluderet|including|inclusive|included|ttc|toutes\s+taxes|avec|met|con|iva\s+incluido)"
_TAXWORD = r"(?:tax|taxes|taxe|vat|tva|btw|mwst|ust|iva|gst|sst|igst|cgst|sgst|utgst|moms|mva|alv|dph|ptu|[áa]fa|ddv|pdv|kdv|[a-zäöüß]*steuer(?!\s*-?\s*(?:nr|nummer|id))|impuesto|imposto)"  # Umsatz-, Mehrwert-, Versicherungsteuer; not "Steuer-Nr."
# A tax rate's label, not an amount's: the tax word with a "%" and no number ("MwSt-%", "VAT %", "% IVA"),
# or a word for "rate" beside it ("Taux de TVA", "Tipo IVA", "MwSt-Satz"). Only a label holding no digit is
# read so: "TVA au taux de 20 %" and "VAT 20%" announce the tax amount that follows them.
RATE_LABEL = re.compile(
    rf"\b{_TAXWORD}[\s.\-]*%|^\s*%\s*{_TAXWORD}\b|"
    rf"\b(?:taux|tipo|al[íi]quota|tasa|tarief|percentage|pourcentage|porcentaje|percentuale|prozentsatz)\b|"
    rf"\b{_TAXWORD}[\s.\-]*satz\b",
    re.IGNORECASE,
)
# An amount's word: a label holding one beside a rate's ("MwSt-Betrag  MwSt-%") still announces an amount
AMOUNT_WORD = re.compile(
    r"betrag|bedrag|bel[øo]b|bel[øo]p|belopp|\b(?:amount|montant|importe|importo|total|summe|summa|kwota|[čc][áa]stka)\b",
    re.IGNORECASE,
)
# Column headers of a line-item table, which a totals table's header row never holds
ITEM_COLUMN = re.compile(
    r"\b(?:qty|quantity|menge|anzahl|qt[ée]|quantit[ée]|cantidad|aantal|quantit[àa]|unit|price|preis|prix|"
    r"precio|prijs|prezzo|description|bezeichnung|artikel\w*|d[ée]signation|descripci[óo]n|omschrijving|"
    r"descrizione)\b",
    re.IGNORECASE,
)
AMOUNT_LABELS: list[tuple[str, re.Pattern[str], float]] = [
    # (field, pattern, strength): strength ranks labels of the same field
    (
        "amount_due",
        re.compile(
            r"\b(?:amount\s+due|balance\s+due|total\s+due|amount\s+payable|total\s+payable|balance|"
            r"open\s+amount|amount\s+outstanding|outstanding\s+(?:amount|balance)|remaining\s+(?:amount|balance)|"
            r"residual(?:\s+amount)?|restant\s+d[ûu]|due\s+payable|"
            r"te\s+betalen|nog\s+te\s+betalen|net\s+[àa]\s+payer|reste\s+[àa]\s+payer|[àa]\s+payer|"
            r"zu\s+zahlen|zahlbetrag|zahlungsbetrag|f[äa]lliger\s+(?:zahlungs)?betrag|zu\s+zahlender\s+betrag|"
            r"offener\s+betrag|restbetrag|noch\s+offen|"
            r"a\s+pagar|importe\s+a\s+pagar|total\s+a\s+pagar|saldo|da\s+pagare|please\s+pay|"
            r"att\s+betala|[åa]\s+betale|at\s+betale|do\s+zap[łl]aty|k\s+[úu]hrad[ěe]|maksettava|fizetend[őo])\b",
            re.IGNORECASE,
        ),
        1.0,
    ),
    (
        "total",
        re.compile(
            rf"\b(?:total|totaal|gesamt\w*|summe|endbetrag|rechnungsbetrag|bruttobetrag|montant|importe|"
            rf"betrag|bedrag|amount|totale|totalt|summa|brutto|razem|yhteens[äa]|celkem)\b.*\b{_INCL}\b|\b{_INCL}\b.*\b{_TAXWORD}\b",
            re.IGNORECASE,
        ),
        1.0,
    ),
    (
        "subtotal",
        re.compile(
            r"\b(?:sub[\s-]?total|subtotaal|sous[\s-]?total|zwischensumme|teilsumme|"
            r"lines?\s+total|total\s+(?:of\s+)?lines|sum\s+of\s+lines|positionssumme|warensumme|summe\s+waren|"
            r"(?:gesamt)?summe\s+(?:der\s+|aller\s+)?positionen|nettosumme|summe\s+(?:der\s+)?nettobetr[äa]ge|"
            r"sum\s+of\s+(?:invoice\s+)?line\s+net\s+amounts?|without|"
            r"total\s+h\.?t\.?|montant\s+h\.?t\.?|h\.?t\.?|hors\s+taxes?|"
            r"total\s+net|net\s+total|net\s+amount|nettobetrag|netto\w*|summe\s+netto|"
            r"base\s+imponible|taxable\s+(?:amount|value)|untaxed|before\s+tax|pre[\s-]?tax|"
            r"excl\.?|exkl\.?|eks\.?|ekskl\.?|excluding|exclusief|exclusive|zonder|ohne|sans|sin|"
            r"uden|utan|uten|senza|sem|bez|veroton|imponibile|nett[óo]|z[áa]klad(?:\s+dan[ěe])?)\b"
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
            r"rounded\s+total|total\s+rounded|nett\s+total|total\s+sales|total\s+ttc|gross\s+(?:total|amount)|total\s+gross|"
            r"rechnungsbetrag|rechnungssumme|gesamtbetrag|endbetrag|bruttobetrag|bruttosumme|gesamtsumme|"
            r"montant\s+total|montant\s+ttc|net\s+[àa]\s+payer|"
            r"totaalbedrag|totaal\s+bedrag|importe\s+total|total\s+factura|totale\s+fattura|"
            r"totalbel[øo]b|totalbel[øo]p|totalbelopp|kwota\s+brutto|warto[śs][ćc]\s+brutto|"
            r"celkem\s+k\s+[úu]hrad[ěe]|yhteens[äa]|[öo]sszesen|brutto)\b",
            re.IGNORECASE,
        ),
        1.0,
    ),
    (
        "total",
        re.compile(
            r"\b(?:total|totaal|gesamt|summe|totale|montant|importe|amount|totalt|summa|suma|i\s+alt|razem|celkem)\b",
            re.IGNORECASE,
        ),
        0.7,
    ),
]

# Labels with a second reading, tried by the arithmetic: an invoice's "Net total" is before tax, a
# till's "Net Total" is what was paid (after rounding).
AMOUNT_SECOND_READING: list[tuple[re.Pattern[str], str, float]] = [
    (re.compile(r"\bnet\s+total\b", re.IGNORECASE), "total", 0.9),
]

# Currencies written out as words ("US Dollars", "euros"), and the ISO code each word stem names.
CURRENCY_NAME_RE = re.compile(
    r"\b(?:US\s+Dollars?|euros?|rupees?|ringgit|pounds?\s+sterling)\b", re.IGNORECASE
)
CURRENCY_NAMES = {"dollar": "USD", "euro": "EUR", "rupee": "INR", "ringgit": "MYR", "pound": "GBP"}

# "Total incl. ...", "VAT excl. ...": a total or tax label that an excluded word does not cancel
TOTAL_INCL_EXCL = re.compile(
    r"\b(?:total|totaal|subtotal|tax|vat|btw|tva|gst)\b.*\b(?:incl|excl)", re.IGNORECASE
)
DUE_LABEL = re.compile(r"\b(?:amount\s+due|balance\s+due|total\s+due)\b", re.IGNORECASE)
TOTAL_WORD = re.compile(r"\btotal\b", re.IGNORECASE)

# A statement that the invoice carries no VAT: a small business's exemption, an exempt supply, or the
# buyer owing the tax (reverse charge), in the wording the VAT laws give it (EN 16931 exemption reasons)
VAT_EXEMPT = re.compile(
    r"§\s*19\s*(?:abs\.?\s*\d\s*)?UStG|§\s*13b\s*UStG|kleinunternehmer\w*|"
    r"(?:umsatz)?steuer(?:befreit|frei)\w*|von\s+der\s+(?:umsatz|mehrwert)steuer\s+befreit|"
    r"keine\s+(?:umsatz|mehrwert)steuer|steuerschuldnerschaft\s+des\s+leistungsempf[äa]ngers|"
    r"\bTVA\s+non\s+applicable|\bart(?:icle|\.)?\s*293\s*B\b|exon[ée]r[ée]e?s?\s+de\s+TVA|"
    r"exon[ée]ration\s+de\s+TVA|franchise\s+en\s+base|autoliquidation|"
    r"\b(?:VAT|tax)[\s-]+exempt\w*|\bexempt\s+from\s+(?:VAT|tax)|\breverse[\s-]+charge|"
    r"\bnot\s+subject\s+to\s+VAT|\boutside\s+the\s+scope\s+of\s+VAT|"
    r"\bbtw\s+verlegd|\bvrijgesteld\s+van\s+btw|kleineondernemersregeling|"
    r"\bexent[oa]\s+de\s+IVA|inversi[óo]n\s+del\s+sujeto\s+pasivo|\besente\s+IVA|"
    r"inversione\s+contabile|regime\s+forfettario",
    re.IGNORECASE,
)

# Rounding-adjustment lines (cash rounded to 5 cents).
ROUNDING_LABEL = re.compile(
    r"\b(?:round(?:ing)?\s*(?:adj\w*|diff\w*)?|rundung\w*|arrondi\w*|redondeo|afronding|pembundaran)\b",
    re.IGNORECASE,
)
