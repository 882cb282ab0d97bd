"""Checks of schema-shaped data, kept with the schemas: tolerant building and the business rules.

- ``coerce(schema, data)`` builds the model from JSON-like data, dropping the values that fail
  the schema one by one (each drop is a ``Finding``), so one bad value never costs the record.
- ``check_rules(model)`` runs the business rules of the model's document type (for an
  ``Invoice``: line arithmetic, Σ lines = subtotal, subtotal + tax = total, due ≥ issue date,
  IBAN checksum); each failure is a ``Finding`` whose ``field`` names the value to doubt.

The validate stage (``docvlm.validate``) turns findings into record warnings; engines that must
judge a candidate (the hybrid engine: "does this VLM value break a rule?") call these checks
directly, so they never need the stage.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from docvlm.parsers import iban_is_valid
from schemas.invoice import Invoice

#: codes of findings that come from business rules (they lower confidence but keep status ok)
RULE_CODES = frozenset(
    {"line_sum_mismatch", "total_mismatch", "line_amount_mismatch", "due_before_issue", "iban_checksum"}
)
#: without a subtotal, line amounts may exceed the total by discounts; beyond this factor they are wrong
MAX_LINES_OVER_TOTAL = Decimal("1.5")
#: most repair rounds; each drops at least one offending value, so real data never gets near it
MAX_ROUNDS = 200


@dataclass(frozen=True)
class Finding:
    """A problem found in a record: a dropped value (``invalid_value``) or a failed business rule."""

    code: str
    message: str
    field: str | None = None


def _drop(data: Any, loc: Iterable[int | str], remove: bool = False) -> bool:
    """Set ``data[loc]`` to None, or remove the key/list item; False when the location is not there.

    ``loc`` is a Pydantic error location (a tuple of keys and list indexes).
    """
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


def coerce(schema: type[BaseModel], data: dict[str, Any] | None) -> tuple[BaseModel, list[Finding]]:
    """``schema`` built from ``data``; values that fail it are dropped with an ``invalid_value`` finding.

    Always returns a model: in the worst case the empty one (with an ``invalid_record`` finding).
    Does not modify ``data``.
    """
    work = copy.deepcopy(data) if data else {}
    findings: list[Finding] = []
    for _ in range(MAX_ROUNDS):
        try:
            return schema.model_validate(work), findings
        except ValidationError as exc:
            progressed = False
            for err in exc.errors():
                path = ".".join(str(p) for p in err["loc"])
                if _drop(work, err["loc"], remove=err["type"] == "extra_forbidden"):
                    progressed = True
                    findings.append(
                        Finding("invalid_value", f"{path}: {err['msg']} (got {err.get('input')!r:.80})", path)
                    )
            if not progressed:
                break
    findings.append(Finding("invalid_record", "no valid values could be recovered"))
    return schema(), findings


def _close(a: Decimal, b: Decimal, tolerance: Decimal) -> bool:
    return abs(a - b) <= tolerance


def check_invoice(inv: Invoice) -> list[Finding]:
    """The business rules of an invoice or receipt.

    - qty x unit price = amount (to the cent, or 1% for rounded unit prices)
    - Σ line amounts = subtotal (or = total when lines are gross); without a subtotal, at most 1.5 x total
    - subtotal + tax = total
    - due date >= invoice date
    - IBAN mod-97 checksum
    """
    out: list[Finding] = []
    amounts = [li.amount for li in inv.line_items if li.amount is not None]
    for i, li in enumerate(inv.line_items):
        if li.quantity is not None and li.unit_price is not None and li.amount is not None:
            expected = li.quantity * li.unit_price
            tol = max(Decimal("0.011"), abs(expected) * Decimal("0.01"))
            # a discount column can explain the difference; only flag when the amount exceeds qty x price
            if not _close(expected, li.amount, tol) and li.amount > expected + tol:
                out.append(
                    Finding(
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
            out.append(Finding("line_sum_mismatch", f"line amounts sum to {s}, {name} is {target}", name))
    if inv.subtotal is None and inv.total is not None and inv.total > 0 and amounts:
        # no subtotal to check against: lines that add up to far more than the total (two invoices
        # read as one, a misread amount) are still wrong, whatever the tax and discounts
        s = sum(amounts, Decimal(0))
        if s > inv.total * MAX_LINES_OVER_TOTAL + Decimal("0.011") * len(amounts) and not any(
            f.code == "line_sum_mismatch" for f in out
        ):
            out.append(
                Finding(
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
            Finding(
                "total_mismatch",
                f"subtotal {inv.subtotal} + tax {inv.tax_total} = {inv.subtotal + inv.tax_total}, total is {inv.total}",
                "total",
            )
        )
    if inv.invoice_date and inv.due_date and inv.due_date < inv.invoice_date:
        out.append(
            Finding("due_before_issue", f"due date {inv.due_date} is before {inv.invoice_date}", "due_date")
        )
    if inv.vendor.iban and not iban_is_valid(inv.vendor.iban):
        out.append(Finding("iban_checksum", f"IBAN {inv.vendor.iban} fails the mod-97 check", "vendor.iban"))
    return out


def check_rules(model: BaseModel) -> list[Finding]:
    """The business rules of ``model``'s document type; a type without rules passes."""
    if isinstance(model, Invoice):
        return check_invoice(model)
    return []


def rule_failures(schema: type[BaseModel], data: dict[str, Any]) -> list[Finding]:
    """The rules that JSON-like candidate ``data`` fails, once built as ``schema`` (invalid values dropped)."""
    model, _ = coerce(schema, data)
    return check_rules(model)


__all__ = ["RULE_CODES", "Finding", "check_invoice", "check_rules", "coerce", "rule_failures"]
