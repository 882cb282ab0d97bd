"""Words of names and addresses: document-title words, company legal forms, street words, postcodes, legal footers."""

from __future__ import annotations

import re

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
        "honoraires",  # "note d'honoraires", a fee note
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
# a salutation set alone on the line over an addressee's name ("Herrn" over "Max Muster")
SALUTATION = re.compile(
    r"(?:herrn?|frau|mr|mrs|ms|miss|monsieur|madame|mademoiselle|m|mme|mlle|dhr|mevr|sr|sra|srta|sig|sig\.ra)\.?",
    re.IGNORECASE,
)
# the title of a credit note (a document that refunds or corrects an invoice)
CREDIT_NOTE_TITLE = re.compile(
    r"^\s*(?:credit\s+(?:note|memo)|gutschrift|rechnungskorrektur|stornorechnung|avoir|facture\s+d'avoir|"
    r"creditnota|creditfactuur|nota\s+de\s+cr[ée]dito|factura\s+rectificativa|abono|nota\s+di\s+credito)\b",
    re.IGNORECASE,
)
COMPANY_SUFFIX = re.compile(
    r"(?:\b(?:sdn\.?\s*b[a-z]{2}|s/b|bhd|berhad|enterprise|enterprises|trading|ltd|limited|llc|llp|inc|"
    r"corp(?:oration)?|co|company|gmbh|ag|kg|kgaa|ohg|ug|e\.?\s?k|e\.\s?v|a\.\s?g|e\.?\s?g|s\.?a\.?s?|s\.?a\.?r\.?l|sarl|sas|eurl|"
    r"b\.?\s?v|n\.?\s?v|v\.?o\.?f|s\.?l|s\.?l\.?u|s\.?p\.?a|s\.?r\.?l|plc|pty|pvt|pte|oy|ab|as|aps|"
    r"restaurant|restoran|hardware|stationery|store|mart|supermarket|bakery|cafe|kedai|gallery|"
    r"services|solutions|group|holdings|industries|international)\b\.?)\s*[,.]?$",
    re.IGNORECASE,
)

# Receipt cues: words printed on till receipts and rarely on invoices.
# Address words: a line with these (or a postcode) is an address line, not a name.
ADDRESS_WORDS = re.compile(
    r"\b(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|blvd|boulevard|suite|floor|building|block|lot|"
    r"jalan|jln|taman|lorong|bandar|kawasan|persiaran|no\.?|p\.?o\.?\s*box|"
    r"stra(?:ss|ß)e|str\.?|weg|platz|gasse|allee|rue|avenue|boulevard|chemin|place|all[ée]e|"
    r"straat|laan|plein|gracht|calle|avenida|plaza|carrer|via|piazza|corso)\b",
    re.IGNORECASE,
)
# German and Dutch street names are compounds ("Hauptstraße 5", "Lindenweg 3", "Kerkstraat 1")
STREET_COMPOUND = re.compile(
    r"\w(?:stra(?:ss|ß)e|str\.|weg|platz|gasse|allee|ring|damm|straat|laan|plein|gracht)\s*\d", re.IGNORECASE
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

# Words that show a '$' is not the US dollar (other dollar countries, their tax names and places).
OTHER_DOLLAR_COUNTRY = re.compile(
    r"\b(?:GST|HST|PST|QST|ABN|ACN|NZBN|SST|RM|Malaysia|Singapore|Australia|Canada|New Zealand|Hong Kong|"
    r"Jalan|Sdn\.?\s*Bhd|Pte\.?\s*Ltd|Pty\.?\s*Ltd)\b",
    re.IGNORECASE,
)

US_COUNTRY = re.compile(r"\b(?:USA|United States|U\.S\.A\.|US Dollars?)\b")

# a line that dates a version of something (a form, a stylesheet, a code list): no invoice's date
VERSION_LINE = re.compile(r"\b(?:version|revision)\b", re.IGNORECASE)
# a uniform resource name ("urn:cen.eu:en16931:2017", a specification's id), not a document's number
URN = re.compile(r"urn:", re.IGNORECASE)
# an elided French article before a word ("d'honoraires", "l'acheteur")
ELISION = re.compile(r"^[dl][’']", re.IGNORECASE)

# A country's name closing a line: the last line of a postal address ("..., 12345 Town,
# Malaysia"); what a receipt prints under it (a branch, a mall) is not part of the address.
COUNTRY_AT_END = re.compile(
    r"\b(?:malaysia|singapore|indonesia|thailand|philippines|vietnam|viet\s+nam|india|china|japan|korea|"
    r"hong\s+kong|taiwan|australia|new\s+zealand|canada|usa|u\.s\.a|united\s+states(?:\s+of\s+america)?|"
    r"united\s+kingdom|u\.?k|england|scotland|ireland|germany|deutschland|austria|[öo]sterreich|"
    r"switzerland|schweiz|suisse|svizzera|france|belgium|belgique|belgi[ëe]|netherlands|nederland|"
    r"luxembourg|luxemburg|spain|espa[ñn]a|portugal|italy|italia|denmark|danmark|sweden|sverige|norway|"
    r"norge|finland|suomi|poland|polska|czech\s+republic|czechia|hungary|greece|turkey|t[üu]rkiye|"
    r"brazil|brasil|mexico|m[ée]xico|argentina|chile|south\s+africa|united\s+arab\s+emirates|uae)\W*$",
    re.IGNORECASE,
)
