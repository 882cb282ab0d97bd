"""The code lists e-invoices use (``codes.json``): UN/ECE Rec 20 unit codes and credit-note type codes."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _codes() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("codes.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def unit_name(code: str | None) -> str | None:
    """The unit name for a UN/ECE Rec 20 code (``HUR`` -> ``hour``); an unknown code is returned as it is."""
    if not code:
        return None
    code = code.strip()
    return str(_codes()["units"].get(code.upper(), code)) or None


def is_credit_note_code(type_code: str | None) -> bool:
    """Is this UNTDID 1001 document type code a credit note (381 and its kin)?"""
    return bool(type_code) and type_code.strip() in set(_codes()["credit_note_type_codes"])  # type: ignore[union-attr]
