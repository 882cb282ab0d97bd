"""Validate stage: an engine's schema-shaped candidates in, the typed model plus warnings out.

Values that fail the schema are dropped one by one (``invalid_value`` warnings) so the rest of the
record survives; then the business rules of the document type check the arithmetic and the
identifiers (``schemas.checks``). Out: a ``Validated`` holding the model instance, which the
ground stage reads, and its JSON form, which is the record's ``data``.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from docvlm.datamodel import RecordWarning, Validated
from schemas.checks import RULE_CODES, Finding, check_rules, coerce

_log = logging.getLogger(__name__)


def _warning(f: Finding) -> RecordWarning:
    return RecordWarning(f.code, f.message, f.field)


def validate(data: dict[str, Any] | None, schema: type[BaseModel]) -> Validated:
    """Schema validation (invalid values dropped with a warning), then the business rules."""
    model, findings = coerce(schema, data)
    if any(f.code == "invalid_record" for f in findings):
        _log.debug("could not repair data for %s; emitting an empty record", schema.__name__)
    findings.extend(check_rules(model))
    return Validated(
        model=model, data=model.model_dump(mode="json"), warnings=[_warning(f) for f in findings]
    )


__all__ = ["RULE_CODES", "validate"]
