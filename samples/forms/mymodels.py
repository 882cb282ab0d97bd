"""The delivery-note model of the README's worked example: ``docvlm extract ... --schema mymodels:DeliveryNote``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class DeliveryItem(BaseModel):
    description: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None


class DeliveryNote(BaseModel):
    """A delivery note (packing slip): what was shipped, when, by whom, and who signed for it."""

    delivery_note_number: str = Field(description="the number of this delivery note")
    delivery_date: dt.date | None = None
    order_number: str | None = Field(default=None, alias="orderRef", description="the buyer's purchase order")
    customer: str | None = Field(default=None, description="the company the goods go to")
    carrier: str | None = None
    vehicle: str | None = Field(default=None, description="the truck's registration plate")
    packages: int | None = Field(default=None, description="number of parcels or pallets")
    shipping: Literal["Express", "Standard"] | None = None
    goods_received_in_good_condition: bool | None = None
    received_by: str | None = Field(default=None, description="who signed for the goods")
    remarks: str | None = None
    items: list[DeliveryItem] = Field(default_factory=list)
