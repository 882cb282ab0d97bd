"""Schema-constrained decoding for local transformers models, with xgrammar.

In: a bounded JSON schema (every string has ``maxLength``/``pattern``/``enum``, every array has
``maxItems``; see ``docvlm.engines.generative.json_schema.bounded_json_schema``), a Hugging Face tokenizer and the
model's vocabulary size. Out: a ``transformers.LogitsProcessor`` that masks every token the
grammar forbids, so the generated text is always JSON of that schema.

- The compiled grammar is cached per (schema, tokenizer, vocab size, stop tokens); compiling is
  the expensive step (tens of ms to seconds), a matcher per call is cheap.
- A logits processor holds per-sequence matcher state, so a NEW one is made for every
  ``generate()`` call (``make_logits_processor``).
- Budget-aware closing: the grammar bounds the output, but its bound can exceed
  ``max_new_tokens``. When the remaining token budget falls to ``close_reserve``, the processor
  favours the allowed tokens that close the JSON (``"``, ``]``, ``}``, ``null``), so the text
  still ends as valid JSON instead of being cut mid-string.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import xgrammar as xgr
from transformers import LogitsProcessor

from docvlm.errors import EngineError

_log = logging.getLogger(__name__)

_BRACKET_BYTES = frozenset(b"]}")
_NULL_PARTS = frozenset({b"n", b"nu", b"nul", b"null", b"u", b"ul", b"ull", b"l", b"ll"})
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
# logit bonus for closing tokens in the closing phase: above any real logit, below the -inf mask
_CLOSE_BONUS = 1.0e4

_lock = threading.Lock()
_info_cache: dict[tuple[Any, ...], xgr.TokenizerInfo] = {}
_grammar_cache: dict[tuple[Any, ...], xgr.CompiledGrammar] = {}
_compilers: dict[tuple[Any, ...], xgr.GrammarCompiler] = {}
_closers_cache: dict[tuple[Any, ...], ClosingTokens] = {}


# a calendar date 1900-2099 that exists (29 February only in leap years)
_DATE_EXACT = (
    r"^(((19|20)[0-9]{2})-(((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01]))|((0[469]|11)-(0[1-9]|[12][0-9]|30))"
    r"|(02-(0[1-9]|1[0-9]|2[0-8])))|((19(0[48]|[2468][048]|[13579][26])|20([02468][048]|[13579][26]))-02-29))$"
)


# one character of bounded free text: no quote, backslash or control character (xgrammar's
# maxLength strings let raw control characters through, which breaks the JSON); ends are not blank
_TEXT_EDGE = r'[^\s"\\\x00-\x1f\x7f]'
_TEXT_MID = r'[^"\\\x00-\x1f\x7f]'


def text_pattern(max_length: int, allow_empty: bool) -> str:
    """A regex for trimmed text of 1..``max_length`` characters (or empty when ``allow_empty``)."""
    if max_length < 1:
        return "^$"
    body = (
        _TEXT_EDGE if max_length == 1 else f"{_TEXT_EDGE}(?:{_TEXT_MID}{{0,{max_length - 2}}}{_TEXT_EDGE})?"
    )
    return f"^(?:{body})?$" if allow_empty else f"^{body}$"


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with loose string shapes replaced by exact ones the validator cannot reject.

    - a date pattern ``YYYY-MM-DD`` (admits 2024-13-45) becomes real calendar dates;
    - the ``[A-Z]{3}`` currency pattern becomes the ISO 4217 codes;
    - a free string with ``maxLength`` becomes trimmed text without control characters, and a
      nullable one must be non-empty (the empty value is ``null``; blank text would fail the
      schema's blank-to-None validators).
    The input is not modified.
    """
    from docvlm.engines.generative.json_schema import CURRENCY_PATTERN, DATE_PATTERN
    from docvlm.parsers import ISO_4217

    def walk(node: Any, nullable: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(v, nullable) for v in node]
        if not isinstance(node, dict):
            return node
        options = node.get("anyOf")
        has_null = isinstance(options, list) and any(
            isinstance(o, dict) and o.get("type") == "null" for o in options
        )
        out = {k: walk(v, has_null if k == "anyOf" else False) for k, v in node.items()}
        if out.get("type") != "string":
            return out
        pattern = out.get("pattern")
        if pattern == DATE_PATTERN:
            out["pattern"] = _DATE_EXACT
        elif pattern == CURRENCY_PATTERN:
            out.pop("pattern")
            out.pop("type")
            out["enum"] = sorted(ISO_4217)
        elif pattern is None and "enum" not in out and "const" not in out and "maxLength" in out:
            out["pattern"] = text_pattern(int(out.pop("maxLength")), allow_empty=not nullable)
            out.pop("minLength", None)
        return out

    result: dict[str, Any] = walk(schema)
    return result


def check_bounded(schema: dict[str, Any]) -> list[str]:
    """Paths in ``schema`` where generation length is unbounded (strings or arrays without a cap).

    In: a JSON schema dict. Out: a list of JSON-pointer-like paths; empty when every string has
    ``maxLength``, ``pattern``, ``enum`` or ``const`` and every array has ``maxItems``.
    """
    defs = schema.get("$defs", {})
    problems: list[str] = []

    def walk(node: Any, path: str, seen: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                walk(defs.get(name, {}), path, seen | {name})
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for i, sub in enumerate(node.get(key, [])):
                walk(sub, f"{path}/{key}/{i}", seen)
        types = node.get("type")
        types = types if isinstance(types, list) else [types]
        if "string" in types and not any(k in node for k in ("maxLength", "pattern", "enum", "const")):
            problems.append(path or "/")
        if "array" in types:
            if "maxItems" not in node:
                problems.append(path or "/")
            walk(node.get("items"), f"{path}/items", seen)
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{path}/{name}", seen)

    walk(schema, "", frozenset())
    return problems


def minimal_instance(schema: dict[str, Any]) -> Any:
    """The shortest JSON value the grammar of ``schema`` accepts (nulls, empty arrays, required keys).

    Used to size the closing reserve: from any point, finishing the JSON costs at most about
    this many bytes plus one array item. Strings with a pattern get a 12-character stand-in.
    """
    schema = strict_schema(schema)  # the shortest value of the grammar actually compiled
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if not isinstance(node, dict):
            return None
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return walk(defs.get(ref.rsplit("/", 1)[-1], {}))
        if "const" in node:
            return node["const"]
        if node.get("enum"):
            return min(node["enum"], key=lambda v: len(json.dumps(v)))
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            return min((walk(o) for o in options), key=lambda v: len(json.dumps(v)))
        types = node.get("type")
        types = types if isinstance(types, list) else [types]
        if "null" in types:
            return None
        if "object" in types:
            props = node.get("properties", {})
            return {k: walk(props.get(k, {})) for k in node.get("required", [])}
        if "array" in types:
            return [walk(node.get("items", {})) for _ in range(int(node.get("minItems", 0)))]
        if "boolean" in types:
            return False
        if "integer" in types or "number" in types:
            return 0
        if "string" in types:
            # a pattern string gets a stand-in of typical pattern length (a date is 10 characters)
            return "x" * (12 if "pattern" in node else int(node.get("minLength", 0)))
        return None

    return walk(schema)


def closing_reserve(schema: dict[str, Any]) -> int:
    """Bytes (an upper bound on tokens) needed to finish a JSON of ``schema`` from any point."""
    defs = schema.get("$defs", {})
    biggest_item = 0

    def items(node: Any) -> None:
        nonlocal biggest_item
        if isinstance(node, dict):
            if node.get("type") == "array" or "items" in node:
                item = minimal_instance({"$defs": defs, **node.get("items", {})})
                biggest_item = max(biggest_item, len(json.dumps(item, separators=(",", ":"))))
            for value in node.values():
                items(value)
        elif isinstance(node, list):
            for value in node:
                items(value)

    items(schema)
    whole = json.dumps(minimal_instance(schema), separators=(",", ":"))
    # +16: the stop token and the tail of a half-written key or pattern value
    return len(whole.encode()) + biggest_item + 16


def _tokenizer_key(tokenizer: Any) -> tuple[Any, ...]:
    # identity plus size: a tokenizer object that gains tokens must not reuse an old entry
    return (id(tokenizer), getattr(tokenizer, "name_or_path", ""), len(tokenizer))


def tokenizer_info(tokenizer: Any, vocab_size: int, stop_token_ids: Sequence[int]) -> xgr.TokenizerInfo:
    """The xgrammar view of ``tokenizer`` padded or cut to the model's ``vocab_size`` (cached).

    ``vocab_size`` is the model's output-embedding size, which may differ from ``len(tokenizer)``
    (padded lm_head, or tokenizer tokens the model never emits); the token mask must match it.
    """
    key = (*_tokenizer_key(tokenizer), vocab_size, tuple(stop_token_ids))
    with _lock:
        info = _info_cache.get(key)
        if info is None:
            if vocab_size != len(tokenizer):
                _log.info("model vocab size %d differs from tokenizer length %d", vocab_size, len(tokenizer))
            info = xgr.TokenizerInfo.from_huggingface(
                tokenizer, vocab_size=vocab_size, stop_token_ids=list(stop_token_ids)
            )
            _info_cache[key] = info
    return info


def compile_schema(
    schema: dict[str, Any], tokenizer: Any, vocab_size: int, stop_token_ids: Sequence[int]
) -> xgr.CompiledGrammar:
    """Compile ``schema`` into a grammar for ``tokenizer`` (cached per schema and tokenizer).

    The JSON is compact (no free whitespace), so a model cannot spend its budget on spaces.
    Raises EngineError when the schema leaves a string or array unbounded, or xgrammar rejects it.
    """
    unbounded = check_bounded(schema)
    if unbounded:
        raise EngineError(
            "constrained decoding needs a bounded schema (maxLength/pattern on strings, maxItems on "
            f"arrays); unbounded at: {', '.join(unbounded[:5])}"
        )
    # no sort_keys: property order is the order the grammar makes the model write the keys in
    schema_text = json.dumps(strict_schema(schema))
    tkey = (*_tokenizer_key(tokenizer), vocab_size, tuple(stop_token_ids))
    key = (schema_text, *tkey)
    with _lock:
        compiled = _grammar_cache.get(key)
        if compiled is not None:
            return compiled
        compiler = _compilers.get(tkey)
    if compiler is None:
        compiler = xgr.GrammarCompiler(tokenizer_info(tokenizer, vocab_size, stop_token_ids))
    try:
        compiled = compiler.compile_json_schema(
            schema_text, any_whitespace=False, separators=(",", ":"), strict_mode=True
        )
    except Exception as exc:  # xgrammar raises RuntimeError/ValueError variants for bad schemas
        raise EngineError(f"xgrammar could not compile the JSON schema: {exc}") from exc
    with _lock:
        _compilers[tkey] = compiler
        _grammar_cache[key] = compiled
    return compiled


def cache_info() -> dict[str, int]:
    """Sizes of the caches (for tests and the benchmark)."""
    with _lock:
        return {"tokenizers": len(_info_cache), "grammars": len(_grammar_cache)}


@dataclass(frozen=True)
class ClosingTokens:
    """Token ids the closing phase favours: by their bytes, from the grammar's own view of the vocab."""

    quotes: torch.Tensor  # tokens starting with their only '"': inside a string they end it
    brackets: torch.Tensor  # tokens made only of ']' and '}': they close arrays and objects
    nulls: torch.Tensor  # the pieces of 'null': the shortest value
    token_bytes: list[bytes]  # bytes of every token, to follow whether a row is inside a string


def closing_tokens(info: xgr.TokenizerInfo) -> ClosingTokens:
    """The ``ClosingTokens`` of a tokenizer (cached per ``TokenizerInfo``)."""
    key = (id(info),)
    with _lock:
        hit = _closers_cache.get(key)
    if hit is not None:
        return hit
    vocab = [bytes(b) for b in info.decoded_vocab]
    special = set(info.special_token_ids)
    quotes, brackets, nulls = [], [], []
    for tid, raw in enumerate(vocab):
        if not raw or tid in special:
            continue
        if raw.startswith(b'"'):
            # a token like '":"' would end a string only to open the next one
            if raw.count(b'"') == 1:
                quotes.append(tid)
        elif set(raw) <= _BRACKET_BYTES:
            brackets.append(tid)
        elif raw in _NULL_PARTS:
            nulls.append(tid)
    found = ClosingTokens(
        quotes=torch.tensor(quotes, dtype=torch.long),
        brackets=torch.tensor(brackets, dtype=torch.long),
        nulls=torch.tensor(nulls, dtype=torch.long),
        token_bytes=vocab,
    )
    with _lock:
        _closers_cache[key] = found
    return found


class JsonSchemaLogitsProcessor(LogitsProcessor):
    """Masks logits to the grammar, one matcher per batch row; use once per ``generate()`` call.

    In: the compiled grammar; optionally ``max_new_tokens``, ``close_reserve`` and the
    ``ClosingTokens`` for budget-aware closing. Out (per step): the scores with forbidden tokens
    at -inf. Rows that already finished (stop token accepted) are left unmasked: generate pads them.
    """

    def __init__(
        self,
        compiled: xgr.CompiledGrammar,
        *,
        max_new_tokens: int | None = None,
        close_reserve: int = 32,
        closing: ClosingTokens | None = None,
    ) -> None:
        self.compiled = compiled
        self.vocab_size = compiled.tokenizer_info.vocab_size
        self.max_new_tokens = max_new_tokens
        self.close_reserve = close_reserve
        self.closing = closing
        self.matchers: list[xgr.GrammarMatcher] = []
        self.in_string: list[bool] = []
        self.escaped: list[bool] = []
        self.bitmask: torch.Tensor | None = None
        self._batch_matcher: xgr.BatchGrammarMatcher | None = None
        self.prompt_len = 0
        self.steps = 0
        self.closing_steps = 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        batch = input_ids.shape[0]
        if not self.matchers:
            if self.steps:
                raise EngineError("a JsonSchemaLogitsProcessor is single-use; make a new one per generate()")
            self.matchers = [xgr.GrammarMatcher(self.compiled) for _ in range(batch)]
            self.in_string = [False] * batch
            self.escaped = [False] * batch
            self.bitmask = xgr.allocate_token_bitmask(batch, self.vocab_size)
            self.prompt_len = input_ids.shape[1]
        elif batch != len(self.matchers):
            raise EngineError(f"batch size changed during generation: {len(self.matchers)} -> {batch}")
        else:
            last = input_ids[:, -1].tolist()
            for i, matcher in enumerate(self.matchers):
                if matcher.is_terminated():
                    continue
                if not matcher.accept_token(last[i]):
                    raise EngineError(f"row {i}: token {last[i]} was sampled outside the grammar")
                self._track(i, last[i])
        self.steps += 1
        bitmask = self.bitmask
        if bitmask is None:  # unreachable after the first call; keeps the type checker honest
            raise EngineError("bitmask not allocated")
        active: list[int] = []
        for i, matcher in enumerate(self.matchers):
            if matcher.is_terminated():
                bitmask[i].fill_(-1)  # all bits set: nothing masked for a finished (padded) row
            else:
                active.append(i)
        if len(active) == 1:
            self.matchers[active[0]].fill_next_token_bitmask(bitmask, active[0])
        elif active:
            # rows are filled in parallel threads (xgrammar sizes the pool to the machine)
            if self._batch_matcher is None:
                self._batch_matcher = xgr.BatchGrammarMatcher()
            self._batch_matcher.batch_fill_next_token_bitmask(
                [self.matchers[i] for i in active], bitmask, indices=active
            )
        work = scores if scores.device.type in ("cpu", "cuda") else scores.cpu()
        xgr.apply_token_bitmask_inplace(work, bitmask.to(work.device), vocab_size=self.vocab_size)
        if self._closing_phase(input_ids.shape[1]):
            self.closing_steps += 1
            self._favour_closers(work)
        result = work if work is scores else work.to(scores.device)
        return result  # type: ignore[return-value]

    def _track(self, row: int, token: int) -> None:
        """Follow whether ``row`` is inside a JSON string, from the bytes of its accepted token."""
        if self.closing is None or token >= len(self.closing.token_bytes):
            return
        in_string, escaped = self.in_string[row], self.escaped[row]
        for byte in self.closing.token_bytes[token]:
            if escaped:
                escaped = False
            elif in_string and byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = not in_string
        self.in_string[row], self.escaped[row] = in_string, escaped

    def _closing_phase(self, seq_len: int) -> bool:
        if self.max_new_tokens is None or self.closing is None:
            return False
        generated = seq_len - self.prompt_len
        return self.max_new_tokens - generated <= self.close_reserve

    def _favour_closers(self, scores: torch.Tensor) -> None:
        """Raise the allowed closing tokens above every other allowed token (masked ones stay -inf)."""
        closing = self.closing
        if closing is None:
            return
        for row in range(scores.shape[0]):
            if self.in_string[row]:
                # inside a string only a quote ends it; brackets would just be more text
                if closing.quotes.numel():
                    scores[row, closing.quotes.to(scores.device)] += 2 * _CLOSE_BONUS
                continue
            if closing.brackets.numel():
                scores[row, closing.brackets.to(scores.device)] += 2 * _CLOSE_BONUS
            if closing.nulls.numel():
                scores[row, closing.nulls.to(scores.device)] += _CLOSE_BONUS


def make_logits_processor(
    schema: dict[str, Any],
    tokenizer: Any,
    vocab_size: int,
    stop_token_ids: Sequence[int],
    *,
    max_new_tokens: int | None = None,
    close_reserve: int | None = None,
) -> JsonSchemaLogitsProcessor:
    """A fresh processor for one ``generate()`` call; the grammar comes from the cache.

    ``stop_token_ids`` must be the ids ``generate`` stops on (the grammar allows them only once
    the JSON is complete). With ``max_new_tokens`` set, the last ``close_reserve`` steps (default:
    ``closing_reserve(schema)``, capped at half the budget) favour closing tokens so the JSON ends
    inside the budget; that is guaranteed when ``max_new_tokens >= 2 * closing_reserve(schema)``.
    """
    if not stop_token_ids:
        raise EngineError("constrained decoding needs at least one stop token id")
    compiled = compile_schema(schema, tokenizer, vocab_size, stop_token_ids)
    closing = closing_tokens(compiled.tokenizer_info) if max_new_tokens is not None else None
    reserve = close_reserve if close_reserve is not None else closing_reserve(schema)
    if max_new_tokens is not None:
        if reserve * 2 > max_new_tokens:
            _log.debug(
                "max_new_tokens=%d is tight for this schema (closing needs up to %d)", max_new_tokens, reserve
            )
        reserve = min(reserve, max(1, max_new_tokens // 2))
    return JsonSchemaLogitsProcessor(
        compiled, max_new_tokens=max_new_tokens, close_reserve=reserve, closing=closing
    )
