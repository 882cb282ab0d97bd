"""Validate stage: schema-shaped raw values in, a Pydantic model plus rule warnings out.

Values that fail the schema are dropped one by one (with a warning) so the rest of the record
survives; the business rules then check the arithmetic and identifiers of an invoice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from docvlm.datamodel import RecordWarning
from docvlm.parsers import iban_is_valid
from schemas.invoice import Invoice

_log = logging.getLogger(__name__)

# without a subtotal, line amounts may exceed the total by discounts; beyond this factor they are wrong
MAX_LINES_OVER_TOTAL = Decimal("1.5")

#: codes of warnings that come from business rules (they lower confidence but keep status ok)
RULE_CODES = frozenset(
    {"line_sum_mismatch", "total_mismatch", "line_amount_mismatch", "due_before_issue", "iban_checksum"}
)


def _drop(data: Any, loc: Iterable[int | str], remove: bool = False) -> bool:
    """Set ``data[loc]`` to None, or remove the key/list item; returns False when the path is not there."""
    loc = list(loc)
    node = data
    for key in loc[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    last = loc[-1]
    if isinstance(node, dict) and last in node:
        if remove or node[last] is None:
            node.pop(last)  # an unknown key (extra="forbid") cannot be fixed by nulling it
        else:
            node[last] = None
        return True
    if isinstance(node, list) and isinstance(last, int) and last < len(node):
        node.pop(last)
        return True
    return False


def validate_data(data: dict[str, Any], schema: type[BaseModel]) -> tuple[BaseModel, list[RecordWarning]]:
    """Validate ``data`` against ``schema``; invalid values are dropped with an ``invalid_value`` warning.

    Always returns a model: in the worst case the empty one. Does not modify ``data``.
    """
    import copy

    work = copy.deepcopy(data) if data else {}
    warnings: list[RecordWarning] = []
    for _ in range(200):  # each round removes at least one offending value, so this terminates
        try:
            model = schema.model_validate(work)
            return model, warnings
        except ValidationError as exc:
            progressed = False
            for err in exc.errors():
                path = ".".join(str(p) for p in err["loc"])
                if _drop(work, err["loc"], remove=err["type"] == "extra_forbidden"):
                    progressed = True
                    warnings.append(
                        RecordWarning(
                            "invalid_value", f"{path}: {err['msg']} (got {err.get('input')!r:.80})", path
                        )
                    )
            if not progressed:
                break
    _log.debug("could not repair data for %s; emitting an empty record", schema.__name__)
    warnings.append(RecordWarning("invalid_record", "no valid values could be recovered"))
    return schema(), warnings


def _close(a: Decimal, b: Decimal, tolerance: Decimal) -> bool:
    return abs(a - b) <= tolerance


def check_rules(inv: Invoice) -> list[RecordWarning]:
    """Business rules of an invoice; each failure is a warning whose ``field`` names the value to doubt.

    - qty x unit price = amount (to the cent, or 1% for rounded unit prices)
    - Σ line amounts = subtotal (or = total when lines are gross); without a subtotal, at most 1.5 x total
    - subtotal + tax = total
    - due date >= invoice date
    - IBAN mod-97 checksum
    """
    out: list[RecordWarning] = []
    amounts = [li.amount for li in inv.line_items if li.amount is not None]
    for i, li in enumerate(inv.line_items):
        if li.quantity is not None and li.unit_price is not None and li.amount is not None:
            expected = li.quantity * li.unit_price
            tol = max(Decimal("0.011"), abs(expected) * Decimal("0.01"))
            # a discount column can explain the difference; only flag when the amount exceeds qty x price
            if not _close(expected, li.amount, tol) and li.amount > expected + tol:
                out.append(
                    RecordWarning(
                        "line_amount_mismatch",
                        f"line {i}: {li.quantity} x {li.unit_price} = {expected}, but amount is {li.amount}",
                        f"line_items.{i}.amount",
                    )
                )
    if amounts and len(amounts) == len(inv.line_items):
        s = sum(amounts, Decimal(0))
        tol = Decimal("0.011") * max(1, len(amounts))
        target = (
            inv.subtotal if inv.subtotal is not None else (inv.total if inv.tax_total in (None, 0) else None)
        )
        if (
            target is not None
            and not _close(s, target, tol)
            and not (inv.total is not None and _close(s, inv.total, tol))
        ):
            name = "subtotal" if inv.subtotal is not None else "total"
            out.append(
                RecordWarning("line_sum_mismatch", f"line amounts sum to {s}, {name} is {target}", name)
            )
    if inv.subtotal is None and inv.total is not None and inv.total > 0 and amounts:
        # no subtotal to check against: lines that add up to far more than the total (two invoices
        # read as one, a misread amount) are still wrong, whatever the tax and discounts
        s = sum(amounts, Decimal(0))
        if s > inv.total * MAX_LINES_OVER_TOTAL + Decimal("0.011") * len(amounts) and not any(
            w.code == "line_sum_mismatch" for w in out
        ):
            out.append(
                RecordWarning(
                    "line_sum_mismatch",
                    f"line amounts sum to {s}, far more than the total {inv.total}",
                    "total",
                )
            )
    if (
        inv.subtotal is not None
        and inv.tax_total is not None
        and inv.total is not None
        and not _close(inv.subtotal + inv.tax_total, inv.total, Decimal("0.021"))
    ):
        out.append(
            RecordWarning(
                "total_mismatch",
                f"subtotal {inv.subtotal} + tax {inv.tax_total} = {inv.subtotal + inv.tax_total}, total is {inv.total}",
                "total",
            )
        )
    if inv.invoice_date and inv.due_date and inv.due_date < inv.invoice_date:
        out.append(
            RecordWarning(
                "due_before_issue", f"due date {inv.due_date} is before {inv.invoice_date}", "due_date"
            )
        )
    if inv.vendor.iban and not iban_is_valid(inv.vendor.iban):
        out.append(
            RecordWarning("iban_checksum", f"IBAN {inv.vendor.iban} fails the mod-97 check", "vendor.iban")
        )
    return out


def validate(data: dict[str, Any], schema: type[BaseModel]) -> tuple[BaseModel, list[RecordWarning]]:
    """Schema validation, then the business rules when the schema is an invoice."""
    model, warnings = validate_data(data, schema)
    if isinstance(model, Invoice):
        warnings.extend(check_rules(model))
    return model, warnings
