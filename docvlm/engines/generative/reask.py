"""Re-ask: drive a generative model until its reply decodes and fits the schema, else fall back.

``run_with_reask`` generates, decodes (``decode.parse_json``) and checks the object against the
Pydantic schema (``model_validate``: the schema's own check, not the validate stage, which runs
once in the pipeline). On failure it asks again with the rejected reply and the error in the
dialogue, at a higher temperature; after ``max_attempts`` it returns the fallback engine's output
marked ``fallback=True``. Out: the candidates as the schema's JSON form, every non-null path
marked ``generated`` (the ground stage must find those on the page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import BaseModel, ValidationError

from docvlm.datamodel import Attempt, EngineOutput, RecordWarning
from docvlm.engines.generative.decode import BadReply, parse_json
from docvlm.engines.generative.prompts import Prompt, reask_prompt
from docvlm.errors import DecodeError, DocvlmError
from docvlm.paths import iter_leaves

_log = logging.getLogger(__name__)

#: OpenAI-compatible servers reject temperatures above this
MAX_TEMPERATURE = 2.0


def describe_validation_error(exc: ValidationError, limit: int = 8) -> str:
    """A short, model-readable list of what is wrong: ``path: message (got value)``."""
    parts = []
    for err in exc.errors()[:limit]:
        path = ".".join(str(p) for p in err["loc"]) or "(root)"
        got = repr(err.get("input"))[:60]
        parts.append(f"{path}: {err['msg']} (got {got})")
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def _add_usage(total: dict[str, int], usage: dict[str, int]) -> None:
    for k, v in usage.items():
        total[k] = total.get(k, 0) + int(v)


def run_with_reask(
    generate: Callable[[Prompt, float, str | None], tuple[str, dict[str, int]]],
    prompt: Prompt,
    schema: type[BaseModel],
    *,
    max_attempts: int,
    temperature: float,
    temperature_step: float,
    fallback: Callable[[], EngineOutput] | None,
) -> EngineOutput:
    """Generate until the reply parses and validates against ``schema``, re-asking on failure.

    ``generate(prompt, temperature, previous_error) -> (text, usage)``: from the second attempt
    on, the prompt it gets already carries the rejected reply and the error as dialogue turns
    (``prompts.reask_prompt``); ``previous_error`` is the same error, for logging. It may raise
    ``BadReply`` for an unusable reply. Each attempt is kept as an ``Attempt``; usage is summed.

    Returns the validated data (``model_dump(mode="json")``) with ``generated`` set to its
    non-null paths. After ``max_attempts`` failures it returns ``fallback()`` with
    ``fallback=True`` and a ``vlm_fallback`` warning, or raises ``DecodeError`` (carrying the
    attempts) when there is no fallback. ``EngineError`` from ``generate`` propagates.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    attempts: list[Attempt] = []
    usage: dict[str, int] = {}
    error: str | None = None
    current = prompt
    for number in range(1, max_attempts + 1):
        temp = min(MAX_TEMPERATURE, temperature + (number - 1) * temperature_step)
        try:
            text, call_usage = generate(current, temp, error)
        except BadReply as exc:
            text, call_usage, error = exc.raw, exc.usage, str(exc)
        else:
            error = None
        _add_usage(usage, call_usage)
        if error is None:
            try:
                data = parse_json(text)
                model = schema.model_validate(data)
            except DecodeError as exc:
                error = str(exc)
            except ValidationError as exc:
                error = f"the JSON does not fit the schema: {describe_validation_error(exc)}"
        attempts.append(Attempt(number=number, raw=text, error=error, temperature=temp))
        if error is None:
            dumped = model.model_dump(mode="json")
            _log.debug("valid reply on attempt %d", number)
            return EngineOutput(
                data=dumped, attempts=attempts, usage=usage, generated={p for p, _ in iter_leaves(dumped)}
            )
        _log.info("attempt %d/%d rejected: %s", number, max_attempts, error[:200])
        current = reask_prompt(prompt, text, error)
    message = f"no usable reply after {max_attempts} attempt(s); last error: {error}"
    if fallback is None:
        raise DecodeError(message, attempts)
    _log.warning("%s; falling back", message[:300])
    try:
        out = fallback()
    except DocvlmError as exc:
        raise DecodeError(f"{message}; the fallback failed too: {exc}", attempts) from exc
    out.fallback = True
    out.warnings.append(RecordWarning("vlm_fallback", f"{message}; values come from the fallback engine"))
    out.attempts = [*attempts, *out.attempts]
    _add_usage(out.usage, usage)
    return out


__all__ = ["MAX_TEMPERATURE", "describe_validation_error", "run_with_reask"]
