"""Invoice schema (receipts share it): the ``data`` object of the output contract.

Money is ``Decimal`` (serialised as a decimal string), dates are ISO dates, and the currency
is an ISO 4217 code. A field that is absent is ``None``; empty strings are turned into ``None``.
Each decimal type carries its typed-table column (``DecimalColumn``): amounts are
``decimal128(18, 2)`` in Parquet, quantities, unit prices and rates ``decimal128(18, 4)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from docvlm.parsers import ISO_4217, parse_amount, parse_date
from schemas.kinds import FieldKind


def _blank_to_none(v: Any) -> Any:
    if isinstance(v, str) and not v.strip():
        return None
    return v


def _to_decimal(v: Any) -> Any:
    v = _blank_to_none(v)
    if v is None or isinstance(v, Decimal):
        return v
    if isinstance(v, float):
        return Decimal(repr(v))  # repr keeps the shortest exact decimal, avoiding binary noise
    if isinstance(v, str):
        parsed = parse_amount(v)
        return parsed if parsed is not None else v
    return v


def _to_date(v: Any) -> Any:
    v = _blank_to_none(v)
    if isinstance(v, str):
        parsed = parse_date(v)
        return parsed if parsed is not None else v
    return v


#: a decimal as the record writes it: optional minus, digits, optional fraction ("121.00", "-12.5", "2")
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


@dataclass(frozen=True)
class DecimalColumn:
    """The column of a decimal field in a typed table (Parquet): ``decimal128(precision, scale)``."""

    precision: int = 18
    scale: int = 2


# how every decimal is written (a decimal string in JSON) and typed in the JSON Schema
_DECIMAL_STRING = PlainSerializer(
    lambda d: None if d is None else format(d, "f"), return_type=str | None, when_used="json"
)
_DECIMAL_JSON_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": DECIMAL_PATTERN}, {"type": "null"}]}
)

# The before-validators wrap the whole optional type, so "" and "  " become None instead of failing.
# The FieldKind item names the kind of value for ``schemas.field_kinds`` (Pydantic ignores it).
#: an amount of money: 2 decimals in a typed table
Money = Annotated[
    Decimal | None,
    BeforeValidator(_to_decimal),
    _DECIMAL_STRING,
    _DECIMAL_JSON_SCHEMA,
    DecimalColumn(18, 2),
    FieldKind.MONEY,
]
#: a quantity, unit price or rate: 4 decimals in a typed table (0.125 kg, 1.599 a litre, 7.7 %)
Quantity = Annotated[
    Decimal | None,
    BeforeValidator(_to_decimal),
    _DECIMAL_STRING,
    _DECIMAL_JSON_SCHEMA,
    DecimalColumn(18, 4),
    FieldKind.MONEY,
]
Text = Annotated[str | None, BeforeValidator(_blank_to_none), FieldKind.TEXT]
IsoDate = Annotated[dt.date | None, BeforeValidator(_to_date), FieldKind.DATE]
Currency = Annotated[str | None, BeforeValidator(_blank_to_none), FieldKind.CURRENCY]
Identifier = Annotated[str | None, BeforeValidator(_blank_to_none), FieldKind.IDENTIFIER]
CompactId = Annotated[str | None, BeforeValidator(_blank_to_none), FieldKind.COMPACT_ID]
Code = Annotated[str | None, BeforeValidator(_blank_to_none), FieldKind.CODE]
Email = Annotated[str | None, BeforeValidator(_blank_to_none), FieldKind.EMAIL]


class Party(BaseModel):
    """A vendor (seller, merchant) or customer (buyer, bill-to)."""

    model_config = ConfigDict(extra="forbid")

    name: Text = None
    address: Text = None
    tax_id: CompactId = None
    iban: CompactId = None
    email: Email = None
    phone: Code = None

    @field_validator("iban")
    @classmethod
    def _compact_iban(cls, v: str | None) -> str | None:
        return v.replace(" ", "").upper() if v else v


class LineItem(BaseModel):
    """One row of the line-item table."""

    model_config = ConfigDict(extra="forbid")

    description: Text = None
    quantity: Quantity = None
    unit: Text = Field(
        default=None,
        description="unit as printed; from e-invoice XML, the UN/ECE Rec 20 code's name (HUR -> hour, C62 -> unit)",
    )
    unit_price: Quantity = Field(
        default=None,
        description="net price per unit (e-invoices: per the XML's base quantity, almost always 1)",
    )
    amount: Money = None
    tax_rate: Quantity = Field(default=None, description="percent, e.g. 21 for 21%")
    product_code: Code = None


class Invoice(BaseModel):
    """Header fields and line items of an invoice, a credit note or a receipt.

    E-invoices (ZUGFeRD, Factur-X, XRechnung, UBL) are read from their XML: the record's engine
    is "einvoice", its evidence says "source": "xml", its "einvoice" key names the syntax and
    profile. A credit note (type 381, or a UBL CreditNote) has document_type "credit_note" and the
    positive amounts its XML states. Warnings: xml_not_on_page (a key field of the XML is not
    printed), xml_page_mismatch (the page reads a field differently), xml_invalid (fails the
    profile's XSD), xml_unreadable (the page was read instead).
    """

    model_config = ConfigDict(extra="forbid")

    invoice_number: Identifier = None
    invoice_date: IsoDate = None
    due_date: IsoDate = None
    purchase_order: Identifier = None
    currency: Currency = Field(default=None, description="ISO 4217 code")
    vendor: Party = Field(default_factory=Party)
    customer: Party = Field(default_factory=Party)
    subtotal: Money = None
    tax_total: Money = None
    total: Money = None
    amount_due: Money = None
    line_items: list[LineItem] = Field(default_factory=list)

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, v: str | None) -> str | None:
        if v is None:
            return v
        code = v.strip().upper()
        if code not in ISO_4217:
            raise ValueError(f"{v!r} is not an ISO 4217 currency code")
        return code


# Header paths in output order; the evaluation and the engines share this list.
HEADER_FIELDS: tuple[str, ...] = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "purchase_order",
    "currency",
    "vendor.name",
    "vendor.address",
    "vendor.tax_id",
    "vendor.iban",
    "vendor.email",
    "vendor.phone",
    "customer.name",
    "customer.address",
    "customer.tax_id",
    "subtotal",
    "tax_total",
    "total",
    "amount_due",
)
LINE_ITEM_FIELDS: tuple[str, ...] = tuple(LineItem.model_fields)
