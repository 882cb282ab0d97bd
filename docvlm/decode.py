"""Decode stage: model text in, a schema-valid JSON-like dict out, with re-ask and fallback.

``parse_json`` finds the JSON object in a model reply (code fences, prose around it) and repairs
only what is safe: trailing commas, single-quoted strings, Python literals, unquoted keys, and
missing closing brackets when the text ends right after a complete value. Anything ambiguous
raises ``DecodeError`` with a message that can go back to the model.

``run_with_reask`` drives a generative engine: generate, parse, validate with the Pydantic
schema, and on failure ask again with the error in the dialogue at a higher temperature; after
``max_attempts`` it returns the fallback engine's output marked ``fallback=True``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from docvlm.datamodel import Attempt, EngineOutput, RecordWarning
from docvlm.errors import DecodeError, DocvlmError
from docvlm.prompts import Prompt, reask_prompt

_log = logging.getLogger(__name__)

#: OpenAI-compatible servers reject temperatures above this
MAX_TEMPERATURE = 2.0
_FENCE = re.compile(r"```(?:json|JSON|javascript)?\s*\n?(.*?)(?:```|$)", re.DOTALL)
_BARE = re.compile(r"[^\s{}\[\],:\"']+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERALS = {
    "True": "true",
    "False": "false",
    "None": "null",
    "true": "true",
    "false": "false",
    "null": "null",
}
# how many '{' positions to try before giving up on prose that contains braces
_MAX_STARTS = 8


class BadReply(DecodeError):
    """A generate call got a reply that cannot be used (empty choice list, cut at the token limit...).

    Raised by an engine's ``generate`` callable; ``run_with_reask`` records it as a failed attempt,
    keeps the ``usage`` it cost and asks again.
    """

    def __init__(self, message: str, raw: str = "", usage: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.usage = dict(usage or {})


# ---------------------------------------------------------------------------------------------
# parse_json


def _read_string(text: str, i: int) -> tuple[str, int]:
    """Read the string starting at ``text[i]`` (a ``"`` or ``'``); returns its JSON form and the next index."""
    quote = text[i]
    j = i + 1
    chars: list[str] = []
    while j < len(text):
        c = text[j]
        if c == "\\" and j + 1 < len(text):
            nxt = text[j + 1]
            # \' is not a JSON escape; it only means a quote inside a single-quoted string
            chars.append("'" if nxt == "'" else c + nxt)
            j += 2
            continue
        if c == quote:
            return '"' + "".join(chars) + '"', j + 1
        if c == '"':  # a double quote inside a single-quoted string
            chars.append('\\"')
        elif c == "\n":
            chars.append("\\n")
        else:
            chars.append(c)
        j += 1
    raise DecodeError("the reply ends inside a string (it was cut off)")


def _repair(text: str, start: int) -> str:
    """Rewrite the JSON object starting at ``text[start]`` into strict JSON; stop where it closes."""
    out: list[str] = []
    stack: list[str] = []
    # role of each significant token emitted, to tell keys from values and find dangling commas
    last = ""  # "open", "close", "comma", "colon", "key", "value", "number"
    i = start
    closing = {"{": "}", "[": "]"}
    while i < len(text):
        c = text[i]
        if c.isspace():
            out.append(c)
            i += 1
            continue
        if c in "{[":
            stack.append(c)
            out.append(c)
            last = "open"
            i += 1
            continue
        if c in "}]":
            if not stack:
                raise DecodeError(f"unbalanced {c!r} at character {i}")
            if closing[stack[-1]] != c:
                raise DecodeError(f"{c!r} at character {i} does not close {stack[-1]!r}")
            if last == "comma":  # trailing comma before a closing bracket
                _drop_last_comma(out)
            stack.pop()
            out.append(c)
            last = "close"
            i += 1
            if not stack:
                return "".join(out)
            continue
        if c == ",":
            out.append(c)
            last = "comma"
            i += 1
            continue
        if c == ":":
            out.append(c)
            last = "colon"
            i += 1
            continue
        if c in "\"'":
            s, i = _read_string(text, i)
            out.append(s)
            in_object = stack and stack[-1] == "{"
            last = "key" if in_object and last in ("open", "comma") else "value"
            continue
        m = _BARE.match(text, i)
        if m is None:  # cannot happen: every other character is matched above
            raise DecodeError(f"unexpected character {c!r} at {i}")
        word = m.group(0)
        in_object = stack and stack[-1] == "{"
        if in_object and last in ("open", "comma"):
            if not _IDENT.fullmatch(word):
                raise DecodeError(f"invalid key {word[:40]!r} at character {i}")
            out.append(json.dumps(word))  # an unquoted key
            last = "key"
        else:
            out.append(_LITERALS.get(word, word))
            last = "value" if word in _LITERALS else "number"
        i = m.end()
    # the text ended with brackets still open: close them only when nothing can be missing
    if last == "comma":
        _drop_last_comma(out)
    elif last in ("colon", "key"):
        raise DecodeError("the reply was cut off after a key, before its value")
    elif last == "number":
        raise DecodeError("the reply was cut off inside a number")
    _log.debug("closing %d bracket(s) of a truncated reply", len(stack))
    out.extend(closing[b] for b in reversed(stack))
    return "".join(out)


def _drop_last_comma(out: list[str]) -> None:
    for k in range(len(out) - 1, -1, -1):
        if out[k] == ",":
            del out[k]
            return
        if not out[k].isspace():
            return


def _candidates(text: str) -> list[str]:
    """Places the JSON may be: fenced blocks first, then the whole reply."""
    found = [m.group(1) for m in _FENCE.finditer(text) if "{" in m.group(1)]
    return [*found, text]


def parse_json(text: str) -> dict[str, Any]:
    """The JSON object in a model reply, repaired where that is safe.

    Accepts code fences and prose around the object. Raises ``DecodeError`` when the reply is
    empty, holds no object, or is broken in a way that cannot be repaired without guessing.
    """
    if not text or not text.strip():
        raise DecodeError("the reply is empty")
    first_error: DecodeError | None = None
    for cand in _candidates(text):
        stripped = cand.strip()
        try:
            value = json.loads(stripped)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        starts = [m.start() for m in re.finditer(r"\{", cand)][:_MAX_STARTS]
        for start in starts:
            try:
                repaired = _repair(cand, start)
                value = json.loads(repaired)
            except DecodeError as exc:
                first_error = first_error or exc
                continue
            except ValueError as exc:
                first_error = first_error or DecodeError(f"the reply is not valid JSON: {exc}")
                continue
            if isinstance(value, dict):
                return value
    if first_error is not None:
        raise first_error
    raise DecodeError("the reply holds no JSON object")


# ---------------------------------------------------------------------------------------------
# Re-ask loop


def _leaf_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the non-null leaves of a JSON-like value."""
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _leaf_paths(v, f"{prefix}{k}.")]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _leaf_paths(v, f"{prefix}{i}.")]
    return [] if data is None else [prefix[:-1]]


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
                data=dumped, attempts=attempts, usage=usage, generated=set(_leaf_paths(dumped))
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


__all__ = ["BadReply", "describe_validation_error", "parse_json", "run_with_reask"]
