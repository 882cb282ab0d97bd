"""Decode: model reply text in, the JSON object it holds out.

``parse_json`` finds the JSON object in a model reply (code fences, prose around it) and repairs
only what is safe: trailing commas, single-quoted strings, Python literals, unquoted keys, and
missing closing brackets when the text ends right after a complete value. Anything ambiguous
raises ``DecodeError`` with a message that can go back to the model (``reask.run_with_reask``).
``BadReply`` is the error an engine's generate call raises for a reply it cannot use at all.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from docvlm.errors import DecodeError

_log = logging.getLogger(__name__)

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


__all__ = ["BadReply", "parse_json"]
