"""Generate docvlm's redistributable sample invoices and receipts, each with its ground truth.

One ``DocSpec`` drives both outputs, so the document and its labels cannot disagree:
``make_document(spec, dir)`` renders the PDF (or the scan-like image) and ``ground_truth(spec)``
builds the ``{"source", "document_type", "data"}`` record whose ``data`` is
``schemas.invoice.Invoice(...).model_dump(mode="json")``. A field the document does not print is
``null``.

Usage::

    python samples/generate.py                                  # the committed samples -> samples/
    python samples/generate.py --out /tmp/s                     # the same samples elsewhere
    python samples/generate.py --batch 1000 --out /tmp/batch    # N random documents (+ ground_truth/)

Needs only pymupdf, pillow, numpy, opencv-python-headless and pydantic (for the schema). Text that
is not Latin-1 (such as "€") is drawn with DejaVu Sans, found on the system, in matplotlib's data
directory, or at ``$DOCVLM_SAMPLES_FONT_DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import random
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import pymupdf
from PIL import Image

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:  # running as a script from a checkout without `pip install -e .`
    sys.path.insert(0, str(_REPO))

from docvlm.errors import DocvlmError, ValidationFailed  # noqa: E402
from schemas.invoice import Invoice  # noqa: E402

_log = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parent
CENT = Decimal("0.01")
A4 = (595.28, 841.89)
TILL_WIDTH = 226.77  # 80 mm till roll
# Fixed PDF metadata so regeneration gives the same bytes.
_FIXED_DATE = "D:20240101000000Z"
_METADATA = {
    "producer": "docvlm samples/generate.py",
    "creator": "docvlm samples/generate.py",
    "creationDate": _FIXED_DATE,
    "modDate": _FIXED_DATE,
}

Layout = Literal["classic", "stacked", "till"]
ItemField = Literal["product_code", "quantity", "unit", "unit_price", "tax_rate"]


# ---------------------------------------------------------------------------------------------
# Spec


@dataclass(frozen=True)
class PartySpec:
    """A vendor or customer as printed; ``None`` fields are not printed (and are null in the truth)."""

    name: str
    address: tuple[str, ...] = ()  # printed lines; the truth joins them with ", "
    tax_id: str | None = None
    iban: str | None = None  # compact; printed in groups of four
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ItemSpec:
    """One line item. ``description`` lines are separated by "\\n"; the truth joins them with a space."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    unit: str | None = None
    tax_rate: Decimal = Decimal(0)
    product_code: str | None = None

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)


@dataclass(frozen=True)
class LocaleSpec:
    """How the document writes words, dates, numbers and the currency."""

    lang: str  # en de fr nl es
    date_style: str  # iso dmy_dot dmy_slash dmy_dash us long long_us
    number_style: str  # us de fr ch plain
    currency: str  # ISO 4217
    currency_style: str = "symbol_before"  # symbol_before symbol_after code_before code_after none


@dataclass(frozen=True)
class ScanSpec:
    """Scan-like raster output: the rendered page degraded as a cheap scanner or phone would."""

    long_side: int  # pixels of the longer image side
    angle: float  # degrees, counter-clockwise
    blur: float  # Gaussian sigma in pixels
    noise: float  # Gaussian noise sigma in grey levels
    contrast: float  # 1.0 keeps black/white, lower values wash the page out
    seed: int
    fmt: Literal["jpg", "png"] = "jpg"


@dataclass(frozen=True)
class DocSpec:
    """Everything needed to render one document and to write its ground truth."""

    stem: str
    document_type: Literal["invoice", "receipt"]
    layout: Layout
    locale: LocaleSpec
    invoice_number: str
    invoice_date: dt.date
    vendor: PartySpec
    items: tuple[ItemSpec, ...]
    customer: PartySpec | None = None
    due_date: dt.date | None = None
    purchase_order: str | None = None
    columns: tuple[ItemField, ...] = ("quantity", "unit_price")  # optional table columns that print
    prepaid: Decimal = Decimal(0)  # already paid; when > 0 the amount due is printed
    show_amount_due: bool = False
    cash: Decimal | None = None  # receipts: cash tendered (CASH / CHANGE lines)
    time: str | None = None  # receipts: printed time of day
    notes: str | None = None  # free text under the totals; not part of the truth
    font: Literal["helv", "cour", "dejavu"] = "helv"
    scan: ScanSpec | None = None

    @property
    def file_name(self) -> str:
        return f"{self.stem}.{self.scan.fmt}" if self.scan else f"{self.stem}.pdf"


@dataclass(frozen=True)
class Totals:
    """The document's computed money figures (what the totals block prints)."""

    subtotal: Decimal
    tax_by_rate: tuple[tuple[Decimal, Decimal, Decimal], ...]  # (rate, base, tax) sorted by rate
    tax_total: Decimal
    total: Decimal
    amount_due: Decimal | None
    change: Decimal | None


def money(value: Decimal) -> Decimal:
    """Round half-up to cents, as invoicing software does."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def compute_totals(spec: DocSpec) -> Totals:
    """Subtotal = Σ amounts, tax per rate on the rate's base, total = subtotal + tax."""
    subtotal = sum((it.amount for it in spec.items), Decimal("0.00"))
    bases: dict[Decimal, Decimal] = {}
    for it in spec.items:
        bases[it.tax_rate] = bases.get(it.tax_rate, Decimal("0.00")) + it.amount
    groups = tuple((r, b, money(b * r / 100)) for r, b in sorted(bases.items()))
    tax_total = sum((g[2] for g in groups), Decimal("0.00"))
    total = subtotal + tax_total
    amount_due = total - spec.prepaid if (spec.prepaid > 0 or spec.show_amount_due) else None
    change = spec.cash - total if spec.cash is not None else None
    return Totals(subtotal, groups, tax_total, total, amount_due, change)


def check_spec(spec: DocSpec) -> None:
    """Reject specs that would print an inconsistent document."""
    if not spec.items:
        raise ValidationFailed(f"{spec.stem}: a document needs at least one line item")
    if spec.due_date is not None and spec.due_date < spec.invoice_date:
        raise ValidationFailed(f"{spec.stem}: due date {spec.due_date} is before {spec.invoice_date}")
    for party in (spec.vendor, spec.customer):
        if party is not None and party.iban is not None and not iban_valid(party.iban):
            raise ValidationFailed(f"{spec.stem}: IBAN {party.iban} fails the mod-97 check")
    totals = compute_totals(spec)
    if not Decimal(0) <= spec.prepaid <= totals.total:
        raise ValidationFailed(f"{spec.stem}: prepaid {spec.prepaid} is outside 0..{totals.total}")
    if spec.cash is not None and spec.cash < totals.total:
        raise ValidationFailed(f"{spec.stem}: cash {spec.cash} is less than the total {totals.total}")
    if spec.layout == "till" and (spec.customer is not None or spec.vendor.iban is not None):
        raise ValidationFailed(f"{spec.stem}: a till receipt prints no customer and no IBAN")


# ---------------------------------------------------------------------------------------------
# Identifiers


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of a compact IBAN."""
    s = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s):
        return False
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def make_iban(country: str, bban: str) -> str:
    """Build a valid IBAN: the two check digits are 98 - (BBAN + country + "00") mod 97."""
    rearranged = (bban + country + "00").upper()
    check = 98 - int("".join(str(int(c, 36)) for c in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


def format_iban(iban: str) -> str:
    """Print an IBAN in groups of four."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    # French RIB key; the account here is numeric
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"


def _es_control(bank: str, branch: str, account: str) -> str:
    # Spanish CCC control digits (weights 1 2 4 8 5 10 9 7 3 6, mod 11)
    def digit(s: str) -> str:
        weights = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)
        d = 11 - sum(int(c) * w for c, w in zip(s, weights, strict=True)) % 11
        return str({10: 1, 11: 0}.get(d, d))

    return digit("00" + bank + branch) + digit(account)


def random_iban(rng: random.Random, country: str) -> str:
    """A valid, made-up IBAN for ``country`` (DE FR NL ES GB BE IT AT, else DE)."""

    def num(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    def alpha(n: int) -> str:
        return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(n))

    if country == "FR":
        bank, branch, account = num(5), num(5), num(11)
        return make_iban("FR", bank + branch + account + _fr_rib_key(bank, branch, account))
    if country == "ES":
        bank, branch, account = num(4), num(4), num(10)
        return make_iban("ES", bank + branch + _es_control(bank, branch, account) + account)
    if country == "NL":
        return make_iban("NL", alpha(4) + num(10))
    if country == "GB":
        return make_iban("GB", alpha(4) + num(14))
    if country == "BE":
        body = num(10)
        return make_iban("BE", body + f"{int(body) % 97 or 97:02d}")
    if country == "IT":
        return make_iban("IT", alpha(1) + num(10) + num(12))
    if country == "CH":
        return make_iban("CH", num(5) + num(12))
    if country == "AT":
        return make_iban("AT", num(16))
    return make_iban("DE", num(18))


# ---------------------------------------------------------------------------------------------
# Locale formatting

_CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
_SEPARATORS = {"us": (",", "."), "de": (".", ","), "fr": (" ", ","), "ch": ("'", "."), "plain": ("", ".")}
_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
}


def format_number(value: Decimal, style: str, places: int = 2) -> str:
    """Write ``value`` with the grouping and decimal separators of ``style`` ("de": 1.234,56)."""
    thousands, decimal = _SEPARATORS[style]
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    digits = f"{abs(q):.{places}f}"
    whole, _, frac = digits.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = thousands.join(groups) + (decimal + frac if frac else "")
    return "-" + text if q < 0 else text


def format_quantity(value: Decimal, style: str) -> str:
    """Quantities and rates: no grouping, only the decimals they need ("1,5", "2", "5,5")."""
    normal = value.normalize()
    places = max(0, -normal.as_tuple().exponent)  # type: ignore[operator]
    return format_number(value, "plain" if style in ("us", "ch", "plain") else "de", places)


def format_money(value: Decimal, loc: LocaleSpec) -> str:
    """An amount with the currency as the locale writes it ("1.234,56 €", "$1,234.56", "1 234,56 EUR")."""
    number = format_number(value, loc.number_style)
    symbol = _CURRENCY_SYMBOLS.get(loc.currency)
    style = loc.currency_style
    if symbol is None and style.startswith("symbol"):
        style = "code_before" if style == "symbol_before" else "code_after"
    if style == "symbol_before":
        return f"{symbol}{number}" if symbol in ("$", "£") else f"{symbol} {number}"
    if style == "symbol_after":
        return f"{number} {symbol}"
    if style == "code_before":
        return f"{loc.currency} {number}"
    if style == "code_after":
        return f"{number} {loc.currency}"
    return number


def format_date(value: dt.date, loc: LocaleSpec) -> str:
    """A date in the locale's style: iso, dmy_dot, dmy_slash, dmy_dash, us, long, long_us."""
    d, m, y = value.day, value.month, value.year
    style = loc.date_style
    if style == "iso":
        return value.isoformat()
    if style == "dmy_dot":
        return f"{d:02d}.{m:02d}.{y}"
    if style == "dmy_slash":
        return f"{d:02d}/{m:02d}/{y}"
    if style == "dmy_dash":
        return f"{d:02d}-{m:02d}-{y}"
    if style == "us":
        return f"{m:02d}/{d:02d}/{y}"
    month = _MONTHS.get(loc.lang, _MONTHS["en"]).split()[m - 1]
    if style == "long_us":
        return f"{month} {d}, {y}"
    if style == "long":
        if loc.lang == "de":
            return f"{d}. {month} {y}"
        if loc.lang == "es":
            return f"{d} de {month} de {y}"
        return f"{d} {month} {y}"
    raise DocvlmError(f"unknown date style {style!r}")


def format_rate(rate: Decimal, loc: LocaleSpec) -> str:
    """A tax rate: "19 %" in French and German typography, "21%" otherwise."""
    text = format_quantity(rate, loc.number_style)
    return f"{text} %" if loc.lang in ("de", "fr") else f"{text}%"


# Labels per language; keys are used by the renderers.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "INVOICE",
        "number": "Invoice No.",
        "date": "Invoice Date",
        "due": "Due Date",
        "po": "PO Number",
        "bill_to": "Bill To",
        "payment": "Payment Details",
        "description": "Description",
        "quantity": "Qty",
        "unit": "Unit",
        "unit_price": "Unit Price",
        "amount": "Amount",
        "tax_rate": "Tax",
        "product_code": "Item #",
        "subtotal": "Subtotal",
        "tax": "VAT",
        "tax_total": "Total VAT",
        "total": "Total",
        "paid": "Paid",
        "amount_due": "Amount Due",
        "page": "Page {n} of {total}",
        "continued": "Continued on next page",
        "tax_id": "VAT No.",
        "customer_tax_id": "Customer VAT No.",
        "iban": "IBAN",
        "email": "Email",
        "phone": "Phone",
        "notes": "Notes",
        "amounts_in": "All amounts in {currency}",
        "receipt": "Receipt #",
        "receipt_date": "Date",
        "cash": "CASH",
        "change": "CHANGE",
        "thanks": "THANK YOU FOR SHOPPING WITH US",
        "items_count": "ITEMS SOLD",
        "keep": "PLEASE KEEP YOUR RECEIPT",
    },
    "de": {
        "invoice": "RECHNUNG",
        "number": "Rechnungsnr.",
        "date": "Rechnungsdatum",
        "due": "Fällig am",
        "po": "Bestellnr.",
        "bill_to": "Rechnungsempfänger",
        "payment": "Bankverbindung",
        "description": "Beschreibung",
        "quantity": "Menge",
        "unit": "Einheit",
        "unit_price": "Einzelpreis",
        "amount": "Betrag",
        "tax_rate": "MwSt.",
        "product_code": "Art.-Nr.",
        "subtotal": "Nettobetrag",
        "tax": "zzgl. MwSt.",
        "tax_total": "MwSt. gesamt",
        "total": "Gesamtbetrag",
        "paid": "Anzahlung erhalten",
        "amount_due": "Zahlbetrag",
        "page": "Seite {n} von {total}",
        "continued": "Fortsetzung auf der nächsten Seite",
        "tax_id": "USt-IdNr.",
        "customer_tax_id": "Ihre USt-IdNr.",
        "iban": "IBAN",
        "email": "E-Mail",
        "phone": "Tel.",
        "notes": "Hinweise",
        "amounts_in": "Alle Beträge in {currency}",
        "receipt": "Bon-Nr.",
        "receipt_date": "Datum",
        "cash": "BAR",
        "change": "RÜCKGELD",
        "thanks": "VIELEN DANK FÜR IHREN EINKAUF",
        "items_count": "ANZAHL ARTIKEL",
        "keep": "BITTE BON AUFBEWAHREN",
    },
    "fr": {
        "invoice": "FACTURE",
        "number": "N° de facture",
        "date": "Date de facture",
        "due": "Date d'échéance",
        "po": "Bon de commande",
        "bill_to": "Facturé à",
        "payment": "Coordonnées bancaires",
        "description": "Désignation",
        "quantity": "Qté",
        "unit": "Unité",
        "unit_price": "Prix unit. HT",
        "amount": "Montant HT",
        "tax_rate": "TVA",
        "product_code": "Réf.",
        "subtotal": "Total HT",
        "tax": "TVA",
        "tax_total": "Total TVA",
        "total": "Total TTC",
        "paid": "Acompte versé",
        "amount_due": "Net à payer",
        "page": "Page {n} / {total}",
        "continued": "Suite page suivante",
        "tax_id": "N° TVA intracom.",
        "customer_tax_id": "N° TVA client",
        "iban": "IBAN",
        "email": "E-mail",
        "phone": "Tél.",
        "notes": "Remarques",
        "amounts_in": "Montants exprimés en {currency}",
        "receipt": "Ticket n°",
        "receipt_date": "Date",
        "cash": "ESPÈCES",
        "change": "RENDU",
        "thanks": "MERCI DE VOTRE VISITE",
        "items_count": "NOMBRE D'ARTICLES",
        "keep": "CONSERVEZ VOTRE TICKET",
    },
    "nl": {
        "invoice": "FACTUUR",
        "number": "Factuurnummer",
        "date": "Factuurdatum",
        "due": "Vervaldatum",
        "po": "Uw referentie",
        "bill_to": "Factuur aan",
        "payment": "Betaalgegevens",
        "description": "Omschrijving",
        "quantity": "Aantal",
        "unit": "Eenheid",
        "unit_price": "Prijs",
        "amount": "Bedrag",
        "tax_rate": "BTW",
        "product_code": "Artikelnr.",
        "subtotal": "Subtotaal",
        "tax": "BTW",
        "tax_total": "Totaal BTW",
        "total": "Totaal",
        "paid": "Reeds betaald",
        "amount_due": "Te betalen",
        "page": "Pagina {n} van {total}",
        "continued": "Vervolg op volgende pagina",
        "tax_id": "BTW-nummer",
        "customer_tax_id": "BTW-nummer klant",
        "iban": "IBAN",
        "email": "E-mail",
        "phone": "Tel.",
        "notes": "Opmerkingen",
        "amounts_in": "Alle bedragen in {currency}",
        "receipt": "Bonnr.",
        "receipt_date": "Datum",
        "cash": "CONTANT",
        "change": "WISSELGELD",
        "thanks": "BEDANKT VOOR UW BEZOEK",
        "items_count": "AANTAL ARTIKELEN",
        "keep": "BEWAAR UW KASSABON",
    },
    "es": {
        "invoice": "FACTURA",
        "number": "Nº de factura",
        "date": "Fecha de factura",
        "due": "Fecha de vencimiento",
        "po": "Nº de pedido",
        "bill_to": "Cliente",
        "payment": "Datos bancarios",
        "description": "Descripción",
        "quantity": "Cant.",
        "unit": "Unidad",
        "unit_price": "Precio unit.",
        "amount": "Importe",
        "tax_rate": "IVA",
        "product_code": "Código",
        "subtotal": "Base imponible",
        "tax": "IVA",
        "tax_total": "Total IVA",
        "total": "Total factura",
        "paid": "Anticipo recibido",
        "amount_due": "Importe a pagar",
        "page": "Página {n} de {total}",
        "continued": "Continúa en la página siguiente",
        "tax_id": "NIF",
        "customer_tax_id": "NIF cliente",
        "iban": "IBAN",
        "email": "Email",
        "phone": "Tel.",
        "notes": "Observaciones",
        "amounts_in": "Importes en {currency}",
        "receipt": "Ticket nº",
        "receipt_date": "Fecha",
        "cash": "EFECTIVO",
        "change": "CAMBIO",
        "thanks": "GRACIAS POR SU VISITA",
        "items_count": "ARTÍCULOS",
        "keep": "CONSERVE SU TICKET",
    },
}


def _labels(spec: DocSpec) -> dict[str, str]:
    labels = LABELS[spec.locale.lang]
    if spec.locale.lang == "en" and spec.locale.currency == "USD":  # US invoices charge sales tax, not VAT
        labels = {**labels, "tax": "Sales Tax", "tax_total": "Total Sales Tax", "tax_id": "Tax ID"}
    return labels


# ---------------------------------------------------------------------------------------------
# What prints, shared by the renderer and the ground truth so the two cannot disagree


def printed_item_fields(spec: DocSpec, item: ItemSpec) -> frozenset[str]:
    """The line-item fields that the document prints for ``item``."""
    if spec.layout == "till":
        # a till prints "2 x 3.19" under the description only when more than one was bought
        extra = {"quantity", "unit_price"} if item.quantity != 1 else set()
        return frozenset({"description", "amount", *extra})
    fields = {"description", "amount", *spec.columns}
    if item.unit is None:
        fields.discard("unit")
    if item.product_code is None:
        fields.discard("product_code")
    return frozenset(fields)


def ground_truth(spec: DocSpec) -> dict[str, Any]:
    """The truth record for ``spec``: {"source", "document_type", "data": Invoice JSON}."""
    check_spec(spec)
    totals = compute_totals(spec)

    def party(p: PartySpec | None) -> dict[str, Any]:
        if p is None:
            return {}
        return {
            "name": p.name,
            "address": ", ".join(p.address) or None,
            "tax_id": p.tax_id,
            "iban": p.iban,
            "email": p.email,
            "phone": p.phone,
        }

    items = []
    for it in spec.items:
        shown = printed_item_fields(spec, it)
        values = {
            "description": " ".join(it.description.split("\n")),
            "quantity": it.quantity,
            "unit": it.unit,
            "unit_price": it.unit_price,
            "amount": it.amount,
            "tax_rate": it.tax_rate,
            "product_code": it.product_code,
        }
        items.append({k: (v if k in shown else None) for k, v in values.items()})
    data = Invoice.model_validate(
        {
            "invoice_number": spec.invoice_number,
            "invoice_date": spec.invoice_date,
            "due_date": spec.due_date,
            "purchase_order": spec.purchase_order,
            "currency": spec.locale.currency,
            "vendor": party(spec.vendor),
            "customer": party(spec.customer),
            "subtotal": totals.subtotal,
            "tax_total": totals.tax_total,
            "total": totals.total,
            "amount_due": totals.amount_due,
            "line_items": items,
        }
    )
    return {
        "source": spec.file_name,
        "document_type": spec.document_type,
        "data": data.model_dump(mode="json"),
    }


# ---------------------------------------------------------------------------------------------
# Fonts and drawing


def _find_dejavu() -> Path | None:
    dirs = [os.environ.get("DOCVLM_SAMPLES_FONT_DIR", ""), "/usr/share/fonts/truetype/dejavu"]
    try:
        import matplotlib  # optional: only a place to find DejaVu fonts

        dirs.append(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf"))
    except ImportError:
        pass
    for d in dirs:
        if d and (Path(d) / "DejaVuSans.ttf").is_file():
            return Path(d)
    return None


@dataclass
class _Fonts:
    """Regular and bold faces: Base-14 names, or DejaVu files registered on each page."""

    regular: str
    bold: str
    files: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, pymupdf.Font] = field(default_factory=dict)

    def font(self, bold: bool) -> pymupdf.Font:
        name = self.bold if bold else self.regular
        if name not in self._cache:
            self._cache[name] = (
                pymupdf.Font(fontfile=self.files[name]) if name in self.files else pymupdf.Font(name)
            )
        return self._cache[name]

    def width(self, text: str, size: float, bold: bool = False) -> float:
        return self.font(bold).text_length(text, fontsize=size)

    def install(self, page: pymupdf.Page) -> None:
        for name, path in self.files.items():
            page.insert_font(fontname=name, fontfile=path)


def _spec_strings(spec: DocSpec) -> Iterable[str]:
    yield from _labels(spec).values()
    for p in (spec.vendor, spec.customer):
        if p is not None:
            yield from (s for s in (p.name, *p.address, p.tax_id, p.email, p.phone) if s)
    for it in spec.items:
        yield from (s for s in (it.description, it.unit, it.product_code) if s)
    yield format_money(Decimal(1), spec.locale)
    yield format_date(spec.invoice_date, spec.locale)
    if spec.notes:
        yield spec.notes


def _choose_fonts(spec: DocSpec) -> _Fonts:
    """Base-14 fonts when every string is Latin-1 (they are not embedded), else DejaVu."""
    needs_unicode = False
    for s in _spec_strings(spec):
        try:
            s.encode("latin-1")
        except UnicodeEncodeError:
            needs_unicode = True
            break
    if spec.font != "dejavu" and not needs_unicode:
        return _Fonts("cour", "cobo") if spec.font == "cour" else _Fonts("helv", "hebo")
    folder = _find_dejavu()
    if folder is None:
        raise DocvlmError(
            f"{spec.stem} needs a Unicode font (DejaVuSans.ttf) and none was found; "
            "install fonts-dejavu-core or set DOCVLM_SAMPLES_FONT_DIR"
        )
    mono = spec.font == "cour"
    reg, bold = (
        ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf")
        if mono
        else ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
    )
    return _Fonts("dvr", "dvb", {"dvr": str(folder / reg), "dvb": str(folder / bold)})


GREY = (0.42, 0.42, 0.42)
BLACK = (0.0, 0.0, 0.0)
ACCENT = (0.12, 0.27, 0.48)


class _Canvas:
    """A pymupdf document with one font set; ``text`` draws at a baseline with alignment."""

    def __init__(self, fonts: _Fonts, size: tuple[float, float]) -> None:
        self.doc = pymupdf.open()
        self.fonts = fonts
        self.size = size
        self.page: pymupdf.Page = self.new_page()

    def new_page(self) -> pymupdf.Page:
        self.page = self.doc.new_page(width=self.size[0], height=self.size[1])
        self.fonts.install(self.page)
        return self.page

    def text(
        self,
        x: float,
        y: float,
        s: str,
        size: float = 9.0,
        bold: bool = False,
        color: tuple[float, float, float] = BLACK,
        align: Literal["left", "right", "center"] = "left",
        page: pymupdf.Page | None = None,
    ) -> float:
        """Draw ``s`` with its baseline at ``y``; ``x`` is the left, right or centre edge. Returns its width."""
        w = self.fonts.width(s, size, bold)
        x0 = x - w if align == "right" else x - w / 2 if align == "center" else x
        name = self.fonts.bold if bold else self.fonts.regular
        (page or self.page).insert_text((x0, y), s, fontsize=size, fontname=name, color=color)
        return w

    def line(
        self, x0: float, y0: float, x1: float, y1: float, width: float = 0.6, color: Any = BLACK
    ) -> None:
        self.page.draw_line((x0, y0), (x1, y1), color=color, width=width)

    def rect(self, r: tuple[float, float, float, float], fill: Any = None, color: Any = None) -> None:
        self.page.draw_rect(pymupdf.Rect(*r), color=color, fill=fill, width=0.6)

    def wrap(self, text: str, width: float, size: float) -> list[str]:
        return _wrap(self.fonts, text, width, size)


def _wrap(fonts: _Fonts, text: str, width: float, size: float) -> list[str]:
    """Split explicit lines, then wrap each on spaces so it fits ``width``.

    Joining the result with spaces gives back the text with its newlines turned into spaces,
    which is how the truth writes multi-line descriptions.
    """
    out: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            trial = f"{line} {word}".strip()
            if line and fonts.width(trial, size) > width:
                out.append(line)
                line = word
            else:
                line = trial
        out.append(line)
    return out


# ---------------------------------------------------------------------------------------------
# A4 invoice layouts

_L, _R = 50.0, 545.0
_FOOTER_TOP = 772.0


@dataclass
class _Column:
    key: str
    title: str
    width: float
    align: Literal["left", "right"]


def _columns(spec: DocSpec, cv: _Canvas) -> list[_Column]:
    lab = _labels(spec)
    widths = {"product_code": 58.0, "quantity": 42.0, "unit": 44.0, "unit_price": 72.0, "tax_rate": 42.0}
    cols: list[_Column] = []
    if "product_code" in spec.columns:
        cols.append(_Column("product_code", lab["product_code"], widths["product_code"], "left"))
    cols.append(_Column("description", lab["description"], 0.0, "left"))
    for key in ("quantity", "unit", "unit_price", "tax_rate"):
        if key in spec.columns:
            cols.append(_Column(key, lab[key], widths[key], "left" if key == "unit" else "right"))
    cols.append(_Column("amount", lab["amount"], 76.0, "right"))
    cols[[c.key for c in cols].index("description")].width = (_R - _L) - sum(c.width for c in cols)
    return cols


def _cell_text(spec: DocSpec, item: ItemSpec, key: str) -> str:
    style = spec.locale.number_style
    if key == "quantity":
        return format_quantity(item.quantity, style)
    if key == "unit_price":
        return format_number(item.unit_price, style)
    if key == "amount":
        return format_number(item.amount, style)
    if key == "tax_rate":
        return format_rate(item.tax_rate, spec.locale)
    if key == "unit":
        return item.unit or ""
    if key == "product_code":
        return item.product_code or ""
    return item.description


class _InvoiceRenderer:
    """Draws an A4 invoice in the ``classic`` (labels left of values) or ``stacked`` (labels above) layout."""

    def __init__(self, spec: DocSpec) -> None:
        self.spec = spec
        self.lab = _labels(spec)
        self.cv = _Canvas(_choose_fonts(spec), A4)
        self.totals = compute_totals(spec)
        self.cols = _columns(spec, self.cv)

    # header -----------------------------------------------------------------------------------
    def _header_fields(self) -> list[tuple[str, str]]:
        s, lab = self.spec, self.lab
        rows = [(lab["number"], s.invoice_number), (lab["date"], format_date(s.invoice_date, s.locale))]
        if s.due_date is not None:
            rows.append((lab["due"], format_date(s.due_date, s.locale)))
        if s.purchase_order is not None:
            rows.append((lab["po"], s.purchase_order))
        return rows

    def _party_lines(self, p: PartySpec, with_contact: bool) -> list[str]:
        lines = list(p.address)
        if p.tax_id:
            key = "tax_id" if p is self.spec.vendor else "customer_tax_id"
            lines.append(f"{self.lab[key]}: {p.tax_id}")
        if with_contact and p.phone:
            lines.append(f"{self.lab['phone']}: {p.phone}")
        if with_contact and p.email:
            lines.append(f"{self.lab['email']}: {p.email}")
        if with_contact and p.iban:
            lines.append(f"{self.lab['iban']}: {format_iban(p.iban)}")
        return lines

    def _classic_header(self) -> float:
        cv, s, lab = self.cv, self.spec, self.lab
        cv.text(_L, 62, s.vendor.name, 15, bold=True, color=ACCENT)
        y = 78.0
        for line in s.vendor.address:
            cv.text(_L, y, line, 9)
            y += 11.5
        cv.text(_R, 62, lab["invoice"], 20, bold=True, align="right")
        ky = 92.0
        for label, value in self._header_fields():
            cv.text(338, ky, f"{label}:", 9, color=GREY)
            cv.text(440, ky, value, 9, bold=True)
            ky += 13.5
        y = max(y, 130.0) + 22
        if s.customer is not None:
            cv.text(_L, y, f"{lab['bill_to']}:", 8, color=GREY)
            y += 13
            cv.text(_L, y, s.customer.name, 10, bold=True)
            y += 12.5
            for line in self._party_lines(s.customer, with_contact=True):
                cv.text(_L, y, line, 9)
                y += 11.5
        return max(y, ky) + 22

    def _stacked_header(self) -> float:
        cv, s, lab = self.cv, self.spec, self.lab
        cv.text(_L, 64, s.vendor.name, 17, bold=True)
        cv.text(_R, 64, lab["invoice"], 24, bold=True, color=ACCENT, align="right")
        y = 82.0
        vendor_lines = list(s.vendor.address)
        vendor_lines += [v for v in (s.vendor.phone, s.vendor.email) if v]
        if s.vendor.tax_id:
            vendor_lines.append(f"{lab['tax_id']} {s.vendor.tax_id}")
        for line in vendor_lines:
            cv.text(_L, y, line, 9, color=GREY if line in (s.vendor.phone, s.vendor.email) else BLACK)
            y += 11.5
        # a band of boxes, each with its label above the value
        fields = self._header_fields()
        top = max(y, 140.0) + 8
        box_w = (_R - _L) / len(fields)
        for i, (label, value) in enumerate(fields):
            x = _L + i * box_w
            cv.rect((x, top, x + box_w - 6, top + 36), fill=(0.94, 0.95, 0.97))
            cv.text(x + 7, top + 13, label.upper(), 7, bold=True, color=GREY)
            fit = (box_w - 18) / max(
                cv.fonts.width(value, 1.0, bold=True), 1e-6
            )  # shrink long dates to the box
            cv.text(x + 7, top + 28, value, min(10.5, fit), bold=True)
        y = top + 62
        left_y = right_y = y
        if s.customer is not None:
            cv.text(_L, left_y, lab["bill_to"].upper(), 8, bold=True, color=ACCENT)
            left_y += 14
            cv.text(_L, left_y, s.customer.name, 10, bold=True)
            left_y += 12.5
            for line in self._party_lines(s.customer, with_contact=True):
                cv.text(_L, left_y, line, 9)
                left_y += 11.5
        if s.vendor.iban:
            x = 330.0
            cv.text(x, right_y, lab["payment"].upper(), 8, bold=True, color=ACCENT)
            right_y += 13
            cv.text(x, right_y, lab["iban"], 7, color=GREY)
            right_y += 11
            cv.text(x, right_y, format_iban(s.vendor.iban), 9.5, bold=True)
            right_y += 12
        return max(left_y, right_y) + 20

    # table ------------------------------------------------------------------------------------
    def _table_header(self, y: float) -> float:
        cv = self.cv
        if self.spec.layout == "stacked":
            cv.rect((_L, y, _R, y + 18), fill=(0.88, 0.9, 0.94))
        else:
            cv.line(_L, y, _R, y, 0.8)
            cv.line(_L, y + 18, _R, y + 18, 0.8)
        x = _L
        for c in self.cols:
            edge = x + c.width - 4 if c.align == "right" else x + 4
            cv.text(edge, y + 12.5, c.title, 8.5, bold=True, align=c.align)
            x += c.width
        return y + 18

    def _row_lines(self, item: ItemSpec) -> list[str]:
        desc_col = next(c for c in self.cols if c.key == "description")
        return self.cv.wrap(item.description, desc_col.width - 8, 9)

    def _draw_row(self, y: float, item: ItemSpec, lines: list[str]) -> float:
        cv = self.cv
        shown = printed_item_fields(self.spec, item)
        x = _L
        base = y + 12
        for c in self.cols:
            if c.key == "description":
                for i, line in enumerate(lines):
                    cv.text(x + 4, base + i * 11, line, 9)
            elif c.key in shown:
                edge = x + c.width - 4 if c.align == "right" else x + 4
                cv.text(edge, base, _cell_text(self.spec, item, c.key), 9, align=c.align)
            x += c.width
        h = len(lines) * 11 + 6
        cv.line(_L, y + h, _R, y + h, 0.3, color=(0.7, 0.7, 0.7))
        return y + h

    def _continuation_header(self) -> float:
        s = self.spec
        self.cv.new_page()
        title = f"{s.vendor.name} · {self.lab['invoice'].title()} {s.invoice_number}"
        self.cv.text(_L, 52, title, 8.5, color=GREY)
        return 70.0

    def _totals_rows(self) -> list[tuple[str, str, bool]]:
        t, loc, lab = self.totals, self.spec.locale, self.lab
        rows = [(lab["subtotal"], format_money(t.subtotal, loc), False)]
        for rate, base, tax in t.tax_by_rate:
            label = f"{lab['tax']} {format_rate(rate, loc)}"
            if len(t.tax_by_rate) > 1:
                label += f" ({format_number(base, loc.number_style)})"
            rows.append((label, format_money(tax, loc), False))
        if len(t.tax_by_rate) > 1:
            rows.append((lab["tax_total"], format_money(t.tax_total, loc), False))
        rows.append((lab["total"], format_money(t.total, loc), True))
        if self.spec.prepaid > 0:
            rows.append((lab["paid"], format_money(-self.spec.prepaid, loc), False))
        if t.amount_due is not None:
            rows.append((lab["amount_due"], format_money(t.amount_due, loc), True))
        return rows

    def _draw_totals(self, y: float) -> float:
        cv = self.cv
        y += 16
        for label, value, bold in self._totals_rows():
            if bold:
                cv.line(330, y - 10.5, _R, y - 10.5, 0.6)
            size = 9.5 if bold else 9
            value_w = cv.text(_R - 4, y, value, size, bold=bold, align="right")
            # move a long label left rather than let it run into its value
            x = min(335.0, _R - 4 - value_w - cv.fonts.width(label, size, bold) - 10)
            cv.text(x, y, label, size, bold=bold)
            y += 15
        return y

    def _notes_lines(self) -> list[str]:
        if not self.spec.notes:
            return []
        return [f"{self.lab['notes']}:", *self.cv.wrap(self.spec.notes, _R - _L, 8.5)]

    def _draw_footer(self, page: pymupdf.Page, n: int, total: int) -> None:
        cv, s, lab = self.cv, self.spec, self.lab
        page_label = lab["page"].format(n=n, total=total)
        if s.layout == "stacked":
            cv.text((_L + _R) / 2, 812, page_label, 8, color=GREY, align="center", page=page)
            return
        page.draw_line((_L, _FOOTER_TOP), (_R, _FOOTER_TOP), color=GREY, width=0.5)
        cv.text(_R, _FOOTER_TOP - 6, page_label, 8, color=GREY, align="right", page=page)
        v = s.vendor
        columns = [
            [v.name, *v.address],
            [
                f"{lab['tax_id']}: {v.tax_id}" if v.tax_id else "",
                f"{lab['phone']}: {v.phone}" if v.phone else "",
            ],
            [
                f"{lab['email']}: {v.email}" if v.email else "",
                f"{lab['iban']}: {format_iban(v.iban)}" if v.iban else "",
            ],
        ]
        for x, lines in zip((_L, 215.0, 372.0), columns, strict=True):
            y = _FOOTER_TOP + 11
            for line in (ln for ln in lines if ln):
                cv.text(x, y, line, 7.2, color=GREY, page=page)
                y += 9

    def render(self) -> pymupdf.Document:
        """Lay out header, table (continuing on new pages with a repeated header), totals and footers."""
        s, cv = self.spec, self.cv
        y = self._classic_header() if s.layout == "classic" else self._stacked_header()
        if s.locale.currency_style == "none":
            cv.text(
                _R,
                y - 6,
                self.lab["amounts_in"].format(currency=s.locale.currency),
                8,
                color=GREY,
                align="right",
            )
        bottom = _FOOTER_TOP - 22 if s.layout == "classic" else 790.0
        y = self._table_header(y)
        for item in s.items:
            lines = self._row_lines(item)
            if y + len(lines) * 11 + 6 > bottom:
                cv.text(_R, y + 14, self.lab["continued"], 8, color=GREY, align="right")
                y = self._table_header(self._continuation_header())
            y = self._draw_row(y, item, lines)
        notes = self._notes_lines()
        need = 16 + 15 * len(self._totals_rows()) + 12 * len(notes) + 10
        if y + need > bottom:
            y = self._continuation_header()
        y = self._draw_totals(y)
        y += 8
        for i, line in enumerate(notes):
            cv.text(_L, y + i * 12, line, 8.5, bold=i == 0, color=GREY if i == 0 else BLACK)
        pages = [cv.doc[i] for i in range(cv.doc.page_count)]
        for i, page in enumerate(pages, start=1):
            self._draw_footer(page, i, len(pages))
        return cv.doc


# ---------------------------------------------------------------------------------------------
# Till receipt


def _render_till(spec: DocSpec) -> pymupdf.Document:
    """A narrow till receipt: merchant on top, date, items, totals, cash and change."""
    fonts = _choose_fonts(spec)
    lab, loc, t = _labels(spec), spec.locale, compute_totals(spec)
    size, lh, margin = 8.6, 13.0, 16.0
    v = spec.vendor
    # (text, right text, bold, centred)
    rows: list[tuple[str, str, bool, bool]] = [(v.name, "", True, True)]
    rows += [(line, "", False, True) for line in v.address]
    if v.phone:
        rows.append((f"{lab['phone']} {v.phone}", "", False, True))
    if v.email:
        rows.append((v.email, "", False, True))
    if v.tax_id:
        rows.append((f"{lab['tax_id']} {v.tax_id}", "", False, True))
    rows.append(("-", "", False, False))
    when = format_date(spec.invoice_date, loc) + (f"  {spec.time}" if spec.time else "")
    rows.append((f"{lab['receipt_date']}: {when}", "", False, False))
    rows.append((f"{lab['receipt']}: {spec.invoice_number}", "", False, False))
    rows.append(("-", "", False, False))
    for it in spec.items:
        rows.append(
            (it.description.replace("\n", " "), format_number(it.amount, loc.number_style), False, False)
        )
        if "quantity" in printed_item_fields(spec, it):
            qty = format_quantity(it.quantity, loc.number_style)
            rows.append((f"   {qty} x {format_number(it.unit_price, loc.number_style)}", "", False, False))
    rows.append(("-", "", False, False))
    rows.append((lab["subtotal"].upper(), format_number(t.subtotal, loc.number_style), False, False))
    for rate, _base, tax in t.tax_by_rate:
        rows.append(
            (
                f"{lab['tax'].upper()} {format_rate(rate, loc)}",
                format_number(tax, loc.number_style),
                False,
                False,
            )
        )
    rows.append((lab["total"].upper(), format_money(t.total, loc), True, False))
    if spec.cash is not None and t.change is not None:
        rows.append((lab["cash"], format_number(spec.cash, loc.number_style), False, False))
        rows.append((lab["change"], format_number(t.change, loc.number_style), False, False))
    count = sum((it.quantity for it in spec.items), Decimal(0))
    rows.append((f"{lab['items_count']}: {format_quantity(count, loc.number_style)}", "", False, False))
    rows.append(("-", "", False, False))
    rows.append((lab["thanks"], "", False, True))
    rows.append((lab["keep"], "", False, True))
    if spec.notes:
        rows += [(line, "", False, True) for line in _wrap(fonts, spec.notes, TILL_WIDTH - 2 * margin, size)]
    height = 2 * margin + 8 + lh * len(rows)
    cv = _Canvas(fonts, (TILL_WIDTH, height))
    right = TILL_WIDTH - margin
    y = margin + 10
    for text, value, bold, centred in rows:
        if text == "-":
            cv.line(margin, y - 3, right, y - 3, 0.5, color=GREY)
        elif centred:
            cv.text(TILL_WIDTH / 2, y, text, size + (1.6 if bold else 0), bold=bold, align="center")
        else:
            cv.text(margin, y, text, size, bold=bold)
            if value:
                cv.text(right, y, value, size, bold=bold, align="right")
        y += lh
    return cv.doc


# ---------------------------------------------------------------------------------------------
# Output


def render(spec: DocSpec) -> pymupdf.Document:
    """Render ``spec`` to an in-memory PDF (the caller closes it)."""
    check_spec(spec)
    return _render_till(spec) if spec.layout == "till" else _InvoiceRenderer(spec).render()


def _save_pdf(doc: pymupdf.Document, path: Path) -> None:
    doc.subset_fonts()  # embedded DejaVu would otherwise add ~700 KB per file
    doc.set_metadata(_METADATA)
    doc.save(str(path), garbage=4, deflate=True, no_new_id=True, use_objstms=1)


def make_invoice_pdf(spec: DocSpec, path: str | Path) -> Path:
    """Render ``spec`` as a born-digital PDF at ``path`` (any layout, including a till receipt)."""
    path = Path(path)
    doc = render(spec)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _save_pdf(doc, path)
    finally:
        doc.close()
    return path


def scan_size(spec: DocSpec) -> tuple[int, int]:
    """(width, height) in pixels of the scan-like image of ``spec``."""
    if spec.scan is None:
        raise DocvlmError(f"{spec.stem} is not a scan")
    doc = render(spec)
    try:
        w, h = doc[0].rect.width, doc[0].rect.height
    finally:
        doc.close()
    zoom = spec.scan.long_side / max(w, h)
    return round(w * zoom), round(h * zoom)


def degrade(gray: np.ndarray, scan: ScanSpec) -> np.ndarray:
    """Make a clean grey render look scanned: washed-out contrast, uneven light, skew, blur, noise."""
    rng = np.random.default_rng(scan.seed)
    h, w = gray.shape
    img: np.ndarray = gray.astype(np.float32)
    ink, paper = 255 * (1 - scan.contrast) * 0.7, 255 - 255 * (1 - scan.contrast) * 0.25
    img = ink + img / 255 * (paper - ink)
    # uneven illumination: a soft gradient across the sheet
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = gx / w, gy / h
    img *= 1 - 0.07 * (rng.uniform(0.2, 1) * gx + rng.uniform(0.2, 1) * gy)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), scan.angle, 1.0)
    img = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=float(paper * 0.93))
    img = cv2.GaussianBlur(img, (0, 0), scan.blur)
    img += rng.normal(0, scan.noise, img.shape).astype(np.float32)
    n = int(h * w * 0.0003)  # dust specks
    img[rng.integers(0, h, n), rng.integers(0, w, n)] = rng.uniform(30, 140, n).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    return _clean_background(out) if scan.fmt == "png" else out


def _clean_background(img: np.ndarray) -> np.ndarray:
    """What an office scanner's text mode does: flatten the paper to white and keep 16 grey levels.

    Why: a lossless PNG of per-pixel paper noise would weigh ~1 MB; a cleaned page stays small.
    """
    background = cv2.GaussianBlur(cv2.dilate(img, np.ones((15, 15), np.uint8)), (0, 0), 20)
    norm = np.clip(img.astype(np.float32) / np.maximum(background, 1) * 255, 0, 255)
    out = (norm // 16) * 16 + 8
    out[norm > 215] = 255
    return out.astype(np.uint8)


def make_scan_image(spec: DocSpec, path: str | Path) -> Path:
    """Render ``spec`` (one page) and save a degraded greyscale JPEG or PNG at ``path``."""
    if spec.scan is None:
        raise DocvlmError(f"{spec.stem} has no scan settings")
    path = Path(path)
    doc = render(spec)
    try:
        if doc.page_count != 1:
            raise ValidationFailed(
                f"{spec.stem}: a scan must fit one page, the layout needs {doc.page_count}"
            )
        page = doc[0]
        width, height = scan_size(spec)
        zoom = spec.scan.long_side / max(page.rect.width, page.rect.height)
        pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csGRAY, alpha=False)
        gray: np.ndarray = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)[
            :, : pix.width
        ]
    finally:
        doc.close()
    if gray.shape != (height, width):  # pymupdf rounds the pixmap box outward
        gray = cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)
    img = Image.fromarray(degrade(gray, spec.scan))  # 2-D uint8 -> mode "L"
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec.scan.fmt == "png":
        img.save(path, format="PNG", optimize=True)
    else:
        img.save(path, format="JPEG", quality=72, optimize=True)
    return path


def make_document(spec: DocSpec, out_dir: str | Path) -> Path:
    """Write the document of ``spec`` into ``out_dir`` (PDF, or an image for a scan spec)."""
    path = Path(out_dir) / spec.file_name
    return make_scan_image(spec, path) if spec.scan else make_invoice_pdf(spec, path)


def write_ground_truth(spec: DocSpec, out_dir: str | Path) -> Path:
    """Write ``ground_truth(spec)`` to ``out_dir/ground_truth/<stem>.json``."""
    text = json.dumps(ground_truth(spec), indent=2, ensure_ascii=False) + "\n"
    path = Path(out_dir) / "ground_truth" / f"{spec.stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_sample(spec: DocSpec, out_dir: str | Path) -> tuple[Path, Path]:
    """Write a document and its ground truth; returns (document path, truth path)."""
    return make_document(spec, out_dir), write_ground_truth(spec, out_dir)


# ---------------------------------------------------------------------------------------------
# The committed samples (fictional companies, people and accounts)

D = Decimal


def _sample_specs() -> list[DocSpec]:
    de = DocSpec(
        stem="rechnung_de_nordlicht",
        document_type="invoice",
        layout="classic",
        locale=LocaleSpec("de", "dmy_dot", "de", "EUR", "symbol_after"),
        invoice_number="RE-2024-0317",
        invoice_date=dt.date(2024, 3, 12),
        due_date=dt.date(2024, 4, 11),
        purchase_order="BST-88412",
        vendor=PartySpec(
            name="Nordlicht Feinmechanik GmbH",
            address=("Kranichweg 14", "28759 Bremen"),
            tax_id="DE284017736",
            iban=make_iban("DE", "290501010" + "084417302"),
            email="buchhaltung@nordlicht-fm.example",
            phone="+49 421 5550 1834",
        ),
        customer=PartySpec(
            name="Brückner & Söhne Bauelemente KG",
            address=("Am Lindenhof 3", "31134 Hildesheim"),
        ),
        columns=("product_code", "quantity", "unit", "unit_price"),
        items=(
            ItemSpec("Präzisionswelle Ø 12 mm, gehärtet", D(40), D("18.75"), "Stk", D(19), "PW-1207"),
            ItemSpec("Lagerbuchse Messing 12/16", D(80), D("2.35"), "Stk", D(19), "LB-1216"),
            ItemSpec(
                "Sonderanfertigung Flansch\nnach Zeichnung Nr. 4471-B",
                D(6),
                D("142.00"),
                "Stk",
                D(19),
                "SF-4471",
            ),
            ItemSpec("Montage und Prüfung vor Ort", D("3.5"), D("96.00"), "Std.", D(19), "DL-MON"),
            ItemSpec("Verpackung und Versand", D(1), D("38.50"), "psch.", D(19), "VS-01"),
        ),
        notes="Zahlbar innerhalb von 30 Tagen ohne Abzug. Bitte geben Sie die Rechnungsnummer an.",
        font="dejavu",
    )
    us = DocSpec(
        stem="invoice_us_cedar_ridge",
        document_type="invoice",
        layout="stacked",
        locale=LocaleSpec("en", "us", "us", "USD", "symbol_before"),
        invoice_number="10458",
        invoice_date=dt.date(2024, 3, 8),
        due_date=dt.date(2024, 4, 7),
        purchase_order="PO-2024-0193",
        vendor=PartySpec(
            name="Cedar Ridge Analytics LLC",
            address=("1420 Larkspur Avenue, Suite 300", "Boulder, CO 80302"),
            email="billing@cedarridge.example",
            phone="(303) 555-0147",
        ),
        customer=PartySpec(
            name="Bluewater Marine Supply Inc.",
            address=("88 Harbor Point Road", "Portland, ME 04101"),
        ),
        columns=("product_code", "quantity", "unit_price"),
        items=(
            ItemSpec(
                "Data pipeline audit (fixed fee)",
                D(1),
                D("4850.00"),
                product_code="SVC-AUD",
                tax_rate=D("8.25"),
            ),
            ItemSpec(
                "Dashboard development\nInventory and fleet KPIs, 3 views",
                D(26),
                D("135.00"),
                product_code="SVC-DEV",
                tax_rate=D("8.25"),
            ),
            ItemSpec(
                "Cloud warehouse hosting, March", D(1), D("612.40"), product_code="HST-M", tax_rate=D("8.25")
            ),
            ItemSpec(
                "On-site workshop, travel days", D(2), D("975.00"), product_code="SVC-WS", tax_rate=D("8.25")
            ),
        ),
        show_amount_due=True,
        notes="Thank you for your business. Payment by check or ACH within 30 days.",
    )
    fr_items = (
        (
            "Conception graphique de la charte\nlogo, palette et typographies",
            D(1),
            D("2400.00"),
            "forfait",
            D(20),
        ),
        ("Maquettes des pages du site\nversion ordinateur et mobile", D(12), D("180.00"), "page", D(20)),
        ("Développement du gabarit principal", D("6.5"), D("520.00"), "jour", D(20)),
        ("Intégration des contenus fournis", D(14), D("65.00"), "page", D(20)),
        ("Rédaction des textes de présentation\nrelecture comprise", D(9), D("85.00"), "page", D(20)),
        ("Photographies d'atelier\nséance d'une demi-journée", D(1), D("650.00"), "forfait", D(20)),
        ("Retouche des photographies", D(24), D("12.50"), "photo", D(20)),
        ("Impression de cartes de visite", D(500), D("0.18"), "unité", D(20)),
        ("Plaquette commerciale 8 pages\nimpression offset, papier recyclé", D(250), D("2.36"), "ex.", D(20)),
        ("Hébergement du site, 12 mois", D(12), D("14.90"), "mois", D(20)),
        ("Nom de domaine, 1 an", D(1), D("15.00"), "unité", D(20)),
        ("Formation à l'outil d'édition", D(1), D("450.00"), "jour", D(20)),
        ("Livre d'or des clients\nreliure cousue main", D(2), D("38.00"), "ex.", D("5.5")),
        ("Affiches pour le salon\nformat A2, pelliculées", D(6), D("27.50"), "ex.", D(20)),
        ("Traduction anglaise des pages clés", D(7), D("95.00"), "page", D(20)),
        ("Tests d'accessibilité et corrections", D(2), D("520.00"), "jour", D(20)),
        ("Maintenance corrective, 1er trimestre", D(3), D("120.00"), "mois", D(20)),
        ("Catalogue imprimé des créations\n48 pages, couverture rigide", D(40), D("11.90"), "ex.", D("5.5")),
        ("Frais de déplacement Lyon - Annecy", D(1), D("86.40"), "forfait", D(20)),
        ("Bannière web animée\ntrois formats publicitaires", D(3), D("140.00"), "unité", D(20)),
        ("Mise en page de la lettre d'information", D(4), D("110.00"), "numéro", D(20)),
        ("Coffret cadeau en carton recyclé", D(60), D("4.75"), "ex.", D(20)),
        ("Étiquettes adhésives personnalisées", D(1000), D("0.09"), "unité", D(20)),
        (
            "Archivage des fichiers sources\nsupport physique et copie en ligne",
            D(1),
            D("60.00"),
            "forfait",
            D(20),
        ),
        ("Recueil illustré des recettes\nédition limitée", D(25), D("18.00"), "ex.", D("5.5")),
    )
    fr = DocSpec(
        stem="facture_fr_atelier_lumiere",
        document_type="invoice",
        layout="classic",
        locale=LocaleSpec("fr", "long", "fr", "EUR", "symbol_after"),
        invoice_number="F2024-0058",
        invoice_date=dt.date(2024, 3, 5),
        due_date=dt.date(2024, 4, 4),
        vendor=PartySpec(
            name="Atelier Lumière Numérique SARL",
            address=("18 rue des Tanneurs", "69002 Lyon"),
            tax_id="FR47851203964",
            iban=make_iban(
                "FR", "20041" + "01005" + "05001234567" + _fr_rib_key("20041", "01005", "05001234567")
            ),
            email="compta@atelier-lumiere.example",
            phone="+33 4 72 55 01 38",
        ),
        customer=PartySpec(
            name="Éditions du Vieux Moulin",
            address=("7 place de la Halle", "74000 Annecy"),
            tax_id="FR12402917553",
        ),
        columns=("quantity", "unit", "unit_price", "tax_rate"),
        items=tuple(ItemSpec(d, q, p, u, r) for d, q, p, u, r in fr_items),
        prepaid=D("3000.00"),
        notes="Pénalités de retard : trois fois le taux d'intérêt légal. Indemnité forfaitaire pour frais de recouvrement : 40 €.",
        font="dejavu",
    )
    nl = DocSpec(
        stem="factuur_nl_duinzicht",
        document_type="invoice",
        layout="stacked",
        locale=LocaleSpec("nl", "iso", "de", "EUR", "symbol_before"),
        invoice_number="DZ-24-0412",
        invoice_date=dt.date(2024, 3, 18),
        due_date=dt.date(2024, 4, 1),
        purchase_order="VV/2024/117",
        vendor=PartySpec(
            name="Duinzicht Software B.V.",
            address=("Keizerskade 7", "3512 AB Utrecht"),
            tax_id="NL862031457B01",
            iban=make_iban("NL", "QWRT" + "0417785203"),
            email="facturen@duinzicht.example",
            phone="+31 30 555 0192",
        ),
        customer=PartySpec(
            name="Bakkerij Van Vliet",
            address=("Molenstraat 52", "2611 KC Delft"),
            tax_id="NL004417926B02",
        ),
        columns=("quantity", "unit", "unit_price", "tax_rate"),
        items=(
            ItemSpec("Licentie kassasoftware, jaar", D(3), D("420.00"), "st.", D(21)),
            ItemSpec("Installatie en configuratie", D(5), D("82.50"), "uur", D(21)),
            ItemSpec("Bonprinter thermisch 80 mm", D(2), D("189.95"), "st.", D(21)),
            ItemSpec("Handleiding bakkerijmodule (boek)", D(3), D("24.90"), "st.", D(9)),
        ),
        notes="Gelieve het factuurnummer te vermelden bij betaling.",
        font="dejavu",
    )
    es = DocSpec(
        stem="factura_es_ceramicas_turia",
        document_type="invoice",
        layout="classic",
        locale=LocaleSpec("es", "dmy_slash", "de", "EUR", "code_after"),
        invoice_number="A/2024/0231",
        invoice_date=dt.date(2024, 3, 21),
        due_date=dt.date(2024, 4, 20),
        vendor=PartySpec(
            name="Cerámicas del Turia S.L.",
            address=("Calle de la Alfarería 23", "46019 Valencia"),
            tax_id="ESB46281937",
            iban=random_iban(random.Random(4602), "ES"),
            email="administracion@ceramicasturia.example",
            phone="+34 963 55 01 27",
        ),
        customer=PartySpec(
            name="Hotel Mirador del Puerto",
            address=("Paseo Marítimo 110", "03001 Alicante"),
            tax_id="ESA03719284",
        ),
        columns=("product_code", "quantity", "unit_price"),
        items=(
            ItemSpec("Plato llano 27 cm, esmalte azul", D(120), D("6.80"), "ud.", D(21), "PL-27A"),
            ItemSpec("Taza de café con platillo", D(150), D("4.25"), "ud.", D(21), "TZ-CF"),
            ItemSpec("Jarra de agua 1 l, decorada a mano", D(24), D("17.40"), "ud.", D(21), "JR-1L"),
            ItemSpec(
                "Azulejo mural personalizado\npanel recepción 120 x 80 cm",
                D(1),
                D("1380.00"),
                "ud.",
                D(21),
                "AZ-MUR",
            ),
            ItemSpec("Embalaje y transporte", D(1), D("95.00"), "ud.", D(21), "TR-01"),
        ),
        notes="Forma de pago: transferencia bancaria a 30 días.",
    )
    gb = DocSpec(
        stem="invoice_gb_thistle_scan",
        document_type="invoice",
        layout="stacked",
        locale=LocaleSpec("en", "long", "us", "GBP", "symbol_before"),
        invoice_number="TPJ-0942",
        invoice_date=dt.date(2024, 3, 14),
        due_date=dt.date(2024, 3, 28),
        vendor=PartySpec(
            name="Thistle & Pine Joinery Ltd",
            address=("9 Kelvin Row", "Glasgow G3 7QP"),
            tax_id="GB318275046",
            iban=make_iban("GB", "TPJB" + "80043127569043"),
            email="accounts@thistlepine.example",
            phone="0141 496 0712",
        ),
        customer=PartySpec(name="Mrs Fiona Carmichael", address=("22 Birchfield Drive", "Paisley PA2 6LT")),
        columns=("quantity", "unit_price"),
        items=(
            ItemSpec("Oak kitchen worktop, fitted", D(3), D("286.00"), tax_rate=D(20)),
            ItemSpec("Bespoke pantry shelving", D(1), D("740.00"), tax_rate=D(20)),
            ItemSpec("Labour, joiner (hours)", D(14), D("38.50"), tax_rate=D(20)),
            ItemSpec("Fixings and finishing oil", D(1), D("57.20"), tax_rate=D(20)),
        ),
        show_amount_due=True,
        scan=ScanSpec(long_side=1500, angle=-1.6, blur=0.7, noise=5.0, contrast=0.82, seed=11, fmt="png"),
    )
    items = (
        ItemSpec("ORGANIC BANANAS", D(1), D("1.29"), tax_rate=D("4.5")),
        ItemSpec("MILK 2% 1 GAL", D(1), D("4.49"), tax_rate=D("4.5")),
        ItemSpec("SOURDOUGH LOAF", D(2), D("3.19"), tax_rate=D("4.5")),
        ItemSpec("EGGS LARGE DOZEN", D(1), D("3.99"), tax_rate=D("4.5")),
        ItemSpec("CHEDDAR BLOCK 8OZ", D(1), D("4.79"), tax_rate=D("4.5")),
        ItemSpec("APPLE FUJI", D(3), D("0.89"), tax_rate=D("4.5")),
        ItemSpec("COFFEE BEANS 12OZ", D(1), D("9.49"), tax_rate=D("4.5")),
        ItemSpec("PASTA PENNE 1LB", D(2), D("1.79"), tax_rate=D("4.5")),
        ItemSpec("TOMATO SAUCE JAR", D(1), D("3.49"), tax_rate=D("4.5")),
        ItemSpec("BABY SPINACH 5OZ", D(1), D("3.99"), tax_rate=D("4.5")),
        ItemSpec("GREEK YOGURT", D(4), D("1.25"), tax_rate=D("4.5")),
        ItemSpec("DISH SOAP", D(1), D("2.89"), tax_rate=D("4.5")),
        ItemSpec("DARK CHOCOLATE BAR", D(1), D("2.49"), tax_rate=D("4.5")),
    )
    till = DocSpec(
        stem="receipt_us_corner_pantry",
        document_type="receipt",
        layout="till",
        locale=LocaleSpec("en", "us", "us", "USD", "symbol_before"),
        invoice_number="0457-2291",
        invoice_date=dt.date(2024, 3, 14),
        time="17:42",
        vendor=PartySpec(
            name="CORNER PANTRY MARKET",
            address=("218 W Harmon St", "Fairview, OR 97024"),
            phone="(503) 555-0182",
        ),
        items=items,
        cash=D("70.00"),
        font="cour",
        scan=ScanSpec(long_side=1400, angle=1.3, blur=0.8, noise=7.0, contrast=0.78, seed=23, fmt="jpg"),
    )
    return [de, us, fr, nl, es, gb, till]


SAMPLE_SPECS: tuple[DocSpec, ...] = tuple(_sample_specs())


def generate_samples(out_dir: str | Path = SAMPLES_DIR) -> list[Path]:
    """Write every committed sample and its ground truth into ``out_dir``; returns the documents."""
    written = []
    for spec in SAMPLE_SPECS:
        doc_path, _ = write_sample(spec, out_dir)
        _log.info("wrote %s (%d bytes)", doc_path, doc_path.stat().st_size)
        written.append(doc_path)
    return written


# ---------------------------------------------------------------------------------------------
# Random specs for batches and tests


@dataclass(frozen=True)
class _Country:
    code: str
    lang: str
    date_styles: tuple[str, ...]
    number_style: str
    currency: str
    currency_styles: tuple[str, ...]
    tax_rates: tuple[Decimal, ...]
    legal_forms: tuple[str, ...]
    cities: tuple[str, ...]


_COUNTRIES = (
    _Country(
        "US",
        "en",
        ("us", "long_us"),
        "us",
        "USD",
        ("symbol_before", "code_before"),
        (D("6"), D("7.25"), D("8.875")),
        ("LLC", "Inc."),
        ("Denver, CO", "Austin, TX", "Madison, WI", "Tucson, AZ"),
    ),
    _Country(
        "GB",
        "en",
        ("long", "dmy_slash"),
        "us",
        "GBP",
        ("symbol_before", "code_after"),
        (D("20"), D("5")),
        ("Ltd",),
        ("Leeds", "Bristol", "Norwich", "York"),
    ),
    _Country(
        "DE",
        "de",
        ("dmy_dot", "long", "iso"),
        "de",
        "EUR",
        ("symbol_after", "code_after", "none"),
        (D("19"), D("7")),
        ("GmbH", "KG", "UG"),
        ("Kassel", "Rostock", "Freiburg", "Würzburg"),
    ),
    _Country(
        "CH",
        "de",
        ("dmy_dot", "iso"),
        "ch",
        "CHF",
        ("code_before", "code_after"),
        (D("8.1"), D("2.6")),
        ("AG", "GmbH"),
        ("Luzern", "Winterthur", "St. Gallen", "Chur"),
    ),
    _Country(
        "FR",
        "fr",
        ("long", "dmy_slash"),
        "fr",
        "EUR",
        ("symbol_after", "code_after"),
        (D("20"), D("10"), D("5.5")),
        ("SARL", "SAS"),
        ("Nantes", "Dijon", "Rennes", "Grenoble"),
    ),
    _Country(
        "NL",
        "nl",
        ("dmy_dash", "iso", "long"),
        "de",
        "EUR",
        ("symbol_before", "code_after"),
        (D("21"), D("9")),
        ("B.V.",),
        ("Zwolle", "Haarlem", "Leiden", "Arnhem"),
    ),
    _Country(
        "ES",
        "es",
        ("dmy_slash", "long"),
        "de",
        "EUR",
        ("symbol_after", "code_after"),
        (D("21"), D("10")),
        ("S.L.", "S.A."),
        ("Zaragoza", "Murcia", "Gijón", "Córdoba"),
    ),
)
_NAME_A = (
    "Alder",
    "Birch",
    "Copper",
    "Falcon",
    "Granite",
    "Harbor",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Marble",
    "Nimbus",
    "Orchid",
    "Quartz",
    "Raven",
    "Saffron",
    "Tidal",
    "Umber",
    "Vega",
    "Willow",
    "Zephyr",
)
_NAME_B = (
    "Works",
    "Labs",
    "Supply",
    "Studio",
    "Systems",
    "Trading",
    "Logistics",
    "Consulting",
    "Foods",
    "Print",
)
_STREETS = ("Linden", "Oak", "Mill", "Harbor", "Station", "Garden", "Church", "Market", "River", "Hill")
_ITEMS: dict[str, tuple[tuple[str, str, float, float], ...]] = {
    "en": (
        ("Consulting services", "h", 60, 180),
        ("Software licence, annual", "pcs", 90, 900),
        ("Printed brochures A5", "pcs", 0.2, 2.5),
        ("Office chair, ergonomic", "pcs", 120, 480),
        ("Delivery and handling", "", 8, 60),
        ("Maintenance contract, monthly", "month", 40, 300),
        ("Training workshop", "day", 400, 1400),
        ("Replacement filter cartridge", "pcs", 6, 45),
    ),
    "de": (
        ("Beratungsleistung", "Std.", 60, 180),
        ("Softwarelizenz, jährlich", "Stk", 90, 900),
        ("Flyer DIN A5, beidseitig", "Stk", 0.2, 2.5),
        ("Bürostuhl, ergonomisch", "Stk", 120, 480),
        ("Versandkosten", "", 8, 60),
        ("Wartungsvertrag, monatlich", "Monat", 40, 300),
        ("Schulung vor Ort", "Tag", 400, 1400),
        ("Ersatzfilter Kartusche", "Stk", 6, 45),
    ),
    "fr": (
        ("Prestation de conseil", "h", 60, 180),
        ("Licence logicielle annuelle", "u.", 90, 900),
        ("Dépliants A5 imprimés", "u.", 0.2, 2.5),
        ("Fauteuil de bureau ergonomique", "u.", 120, 480),
        ("Frais de livraison", "", 8, 60),
        ("Contrat de maintenance mensuel", "mois", 40, 300),
        ("Formation sur site", "jour", 400, 1400),
        ("Cartouche filtrante", "u.", 6, 45),
    ),
    "nl": (
        ("Advieswerkzaamheden", "uur", 60, 180),
        ("Softwarelicentie, jaarlijks", "st.", 90, 900),
        ("Folders A5 gedrukt", "st.", 0.2, 2.5),
        ("Bureaustoel, ergonomisch", "st.", 120, 480),
        ("Verzendkosten", "", 8, 60),
        ("Onderhoudscontract, maandelijks", "mnd", 40, 300),
        ("Training op locatie", "dag", 400, 1400),
        ("Vervangend filterpatroon", "st.", 6, 45),
    ),
    "es": (
        ("Servicios de consultoría", "h", 60, 180),
        ("Licencia de software anual", "ud.", 90, 900),
        ("Folletos A5 impresos", "ud.", 0.2, 2.5),
        ("Silla de oficina ergonómica", "ud.", 120, 480),
        ("Gastos de envío", "", 8, 60),
        ("Contrato de mantenimiento mensual", "mes", 40, 300),
        ("Formación presencial", "día", 400, 1400),
        ("Cartucho filtrante de recambio", "ud.", 6, 45),
    ),
}
_DETAILS = ("ref. 2024/{n}", "batch {n}", "project {n}", "order {n}")
_TILL_ITEMS = (
    "BREAD",
    "MILK 1L",
    "COFFEE",
    "APPLES",
    "CHEESE",
    "PASTA 500G",
    "TOMATOES",
    "YOGURT",
    "WATER 6X1.5L",
    "RICE 1KG",
    "OLIVE OIL",
    "CHOCOLATE",
    "TEA BAGS",
    "BUTTER",
)


def _rand_money(rng: random.Random, lo: float, hi: float) -> Decimal:
    return money(Decimal(str(round(rng.uniform(lo, hi), 2))))


def _rand_tax_id(rng: random.Random, country: str) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(9))
    return {
        "NL": f"NL{digits}B01",
        "ES": f"ES{rng.choice('ABG')}{digits[:8]}",
        "CH": f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]} MWST",
        "FR": f"FR{rng.randint(10, 99)}{digits}",
        "US": f"{digits[:2]}-{digits[2:]}{rng.randint(0, 9)}",
    }.get(country, f"{country}{digits}")


def _rand_party(rng: random.Random, c: _Country, full: bool) -> PartySpec:
    name = f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)} {rng.choice(c.legal_forms)}"
    street, num, city = rng.choice(_STREETS), rng.randint(1, 240), rng.choice(c.cities)
    zip5 = f"{rng.randint(10000, 99999)}"
    address = {
        "US": (f"{num} {street} Street", f"{city} {zip5}"),
        "GB": (
            f"{num} {street} Road",
            f"{city} {rng.choice('BLNSY')}{rng.randint(1, 29)} {rng.randint(1, 9)}AB",
        ),
        "DE": (f"{street}straße {num}", f"{zip5} {city}"),
        "CH": (f"{street}gasse {num}", f"{rng.randint(1000, 9999)} {city}"),
        "FR": (f"{num} rue du {street}", f"{zip5} {city}"),
        "NL": (
            f"{street}straat {num}",
            f"{rng.randint(1000, 9999)} {rng.choice('ABCDEFGH')}{rng.choice('KLMNPR')} {city}",
        ),
        "ES": (f"Calle {street} {num}", f"{zip5} {city}"),
    }[c.code]
    slug = name.split()[0].lower() + name.split()[1].lower()
    return PartySpec(
        name=name,
        address=address,
        tax_id=_rand_tax_id(rng, c.code) if (full and c.code != "US") or rng.random() < 0.2 else None,
        iban=random_iban(rng, c.code) if full and c.code != "US" and rng.random() < 0.85 else None,
        email=f"{rng.choice(('billing', 'info', 'accounts'))}@{slug}.example"
        if full and rng.random() < 0.8
        else None,
        phone=f"+{rng.randint(30, 49)} {rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        if full and rng.random() < 0.7
        else None,
    )


def random_spec(
    rng: random.Random,
    stem: str = "random",
    kind: Literal["invoice_pdf", "receipt_pdf", "invoice_scan", "receipt_scan"] | None = None,
) -> DocSpec:
    """A random, business-rule-consistent spec; ``kind`` defaults to mostly born-digital invoices."""
    chosen: str = (
        kind
        or rng.choices(("invoice_pdf", "receipt_pdf", "invoice_scan", "receipt_scan"), weights=(80, 8, 6, 6))[
            0
        ]
    )
    c = rng.choice(_COUNTRIES)
    loc = LocaleSpec(
        c.lang, rng.choice(c.date_styles), c.number_style, c.currency, rng.choice(c.currency_styles)
    )
    date = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randint(0, 1400))
    number = rng.choice(
        (
            f"{rng.randint(1000, 99999)}",
            f"INV-{date.year}-{rng.randint(1, 9999):04d}",
            f"{date.year}{rng.randint(1, 99999):05d}",
            f"{rng.choice('ABFR')}/{date.year}/{rng.randint(1, 999)}",
        )
    )
    scan = None
    if chosen.endswith("scan"):
        scan = ScanSpec(
            long_side=rng.randint(1100, 1700),
            angle=round(rng.choice((-1, 1)) * rng.uniform(1.0, 3.0), 2),
            blur=round(rng.uniform(0.5, 1.1), 2),
            noise=round(rng.uniform(3.0, 9.0), 1),
            contrast=round(rng.uniform(0.72, 0.95), 2),
            seed=rng.randint(0, 2**31),
            fmt=rng.choice(("jpg", "png")),
        )
    if chosen.startswith("receipt"):
        rate = rng.choice(c.tax_rates)
        items = tuple(
            ItemSpec(
                rng.choice(_TILL_ITEMS),
                D(rng.choice((1, 1, 1, 2, 3))),
                _rand_money(rng, 0.5, 12),
                tax_rate=rate,
            )
            for _ in range(rng.randint(2, 14))
        )
        vendor = dataclasses.replace(
            _rand_party(rng, c, full=False), name=rng.choice(_NAME_A).upper() + " MARKET"
        )
        total = compute_totals(DocSpec(stem, "receipt", "till", loc, number, date, vendor, items)).total
        cash = D(int(total) + rng.choice((1, 5, 10, 20))) if rng.random() < 0.6 else None
        return DocSpec(
            stem, "receipt", "till", loc, number, date, vendor, items,
            cash=cash, time=f"{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}", font="cour", scan=scan,
        )  # fmt: skip
    rates = c.tax_rates[:1] if rng.random() < 0.7 else c.tax_rates
    columns: list[ItemField] = []
    if rng.random() < 0.9:
        columns += ["quantity", "unit_price"]
    if rng.random() < 0.35:
        columns.append("product_code")
    if "quantity" in columns and rng.random() < 0.4:
        columns.append("unit")
    if len(rates) > 1 or rng.random() < 0.3:
        columns.append("tax_rate")
    n_items = (
        rng.randint(1, 6) if scan else rng.choice((rng.randint(1, 8), rng.randint(1, 8), rng.randint(9, 40)))
    )
    catalogue = _ITEMS[c.lang]
    items_list = []
    for i in range(n_items):
        desc, unit, lo, hi = rng.choice(catalogue)
        if rng.random() < 0.2:
            desc += "\n" + rng.choice(_DETAILS).format(n=rng.randint(100, 9999))
        qty = D(rng.choice((1, 1, 2, 3, 5, 10, 25))) if "quantity" in columns else D(1)
        if (
            unit in ("h", "Std.", "uur", "day", "Tag", "jour", "dag", "día")
            and "quantity" in columns
            and rng.random() < 0.5
        ):
            qty = D(rng.choice(("0.5", "1.5", "2.5", "7.25")))
        items_list.append(
            ItemSpec(desc, qty, _rand_money(rng, lo, hi), unit or None, rng.choice(rates),
                     f"{rng.choice('ABCKPX')}{rng.randint(100, 9999)}-{i}")
        )  # fmt: skip
    vendor = _rand_party(rng, c, full=True)
    spec = DocSpec(
        stem=stem,
        document_type="invoice",
        layout=rng.choice(("classic", "stacked")),
        locale=loc,
        invoice_number=number,
        invoice_date=date,
        vendor=vendor,
        customer=_rand_party(rng, c, full=rng.random() < 0.3),
        items=tuple(items_list),
        due_date=date + dt.timedelta(days=rng.choice((7, 14, 30, 30, 45, 60)))
        if rng.random() < 0.75
        else None,
        purchase_order=f"PO-{rng.randint(1000, 99999)}" if rng.random() < 0.3 else None,
        columns=tuple(columns),
        show_amount_due=rng.random() < 0.4,
        font=rng.choice(("helv", "helv", "dejavu", "cour")),
        scan=scan,
    )
    if rng.random() < 0.1:
        subtotal = compute_totals(spec).subtotal
        spec = dataclasses.replace(spec, prepaid=money(subtotal * D("0.3")))
    return spec


def generate_batch(n: int, out_dir: str | Path, seed: int = 0) -> list[Path]:
    """Write ``n`` random documents and their ground truth into ``out_dir``; returns the documents."""
    if n < 1:
        raise DocvlmError(f"batch size must be at least 1, got {n}")
    rng = random.Random(seed)
    written = []
    for i in range(n):
        spec = random_spec(rng, stem=f"doc_{seed}_{i:05d}")
        doc_path, _ = write_sample(spec, out_dir)
        written.append(doc_path)
        if (i + 1) % 100 == 0:
            _log.info("%d/%d documents written", i + 1, n)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: the committed samples by default, ``--batch N --out DIR`` for random documents."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: samples/)")
    parser.add_argument(
        "--batch", type=int, default=0, help="write N random documents instead of the samples"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random batch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.batch:
        if args.out is None:
            parser.error("--batch needs --out (batches are never written into samples/)")
        paths = generate_batch(args.batch, args.out, args.seed)
    else:
        paths = generate_samples(args.out or SAMPLES_DIR)
    _log.info("%d documents in %s", len(paths), args.out or SAMPLES_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
