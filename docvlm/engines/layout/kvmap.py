"""Key-value pairs onto schema fields: the layout engine's reading of forms and user schemas.

In: the pairs of ``layout.kv`` and a Pydantic model. Out: an ``EngineOutput`` in the shape of the
model, with the value box and a confidence for every value found.

- ``Form`` (the built-in ``form`` schema) gets every pair, in reading order.
- Any other model gets, for each of its scalar fields (nested objects included), the pair whose
  label names it best. A label names a field when its words match the words of the field's name
  (``delivery_date``, ``deliveryDate``), ``Field(alias=...)`` or title, or its description. Both
  are read as English words through ``lexicon.FORM_WORDS``, so "Lieferdatum", "Date de livraison"
  and "Leverdatum" all name ``delivery_date``. A value must also parse as the field's type (a
  date, a number, a ticked box, one of a ``Literal``'s values). A field that no label names is
  None: nothing is guessed.
- A list of objects (``items: list[Item]``) is filled from the line-item table reader when the
  item's fields name the table's columns (``description``, ``quantity``, ``unit``, ...).
"""

from __future__ import annotations

import functools
import logging
import re
import typing
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Evidence, Page
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.kv import KeyValue, read_pairs
from docvlm.parsers import parse_amount, parse_date
from schemas.resolve import Kind, leaf_kind

_log = logging.getLogger(__name__)

#: how well a label's words must match a field's words (Dice coefficient over English words)
MATCH_THRESHOLD = 0.66
#: the weight of a match through the description rather than the name
DESCRIPTION_WEIGHT = 0.85


def _fold(text: str) -> str:
    t = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in t if not unicodedata.combining(c))


@functools.cache
def _reverse() -> dict[str, frozenset[str]]:
    """Every word of ``FORM_WORDS`` (folded) -> the English words it stands for."""
    out: dict[str, set[str]] = {}
    for english, words in lx.FORM_WORDS.items():
        out.setdefault(english, set()).add(english)
        for w in words:
            out.setdefault(_fold(w), set()).add(english)
    return {k: frozenset(v) for k, v in out.items()}


def _split_compound(word: str) -> list[frozenset[str]] | None:
    """A German compound as English words ("lieferscheinnummer" -> delivery, note, number)."""
    table = _reverse()

    @functools.cache
    def walk(rest: str) -> tuple[frozenset[str], ...] | None:
        if not rest:
            return ()
        for n in range(len(rest), 2, -1):
            head = rest[:n]
            if head in table:
                for skip in (0, 1):  # a linking s ("Auftragsnummer")
                    if skip and not rest[n:].startswith("s"):
                        continue
                    tail = walk(rest[n + skip :])
                    if tail is not None:
                        return (table[head], *tail)
        return None

    parts = walk(word)
    return list(parts) if parts and len(parts) > 1 else None


def english_words(text: str) -> list[frozenset[str]]:
    """The words of a label or field name, each as the set of English words it may stand for."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)  # camelCase
    table = _reverse()
    out: list[frozenset[str]] = []
    for raw in re.findall(r"[#°º]|[^\W_]+", _fold(spaced)):
        if raw in lx.LABEL_STOPWORDS and raw not in table:
            continue
        if raw in table:
            out.append(table[raw])
        elif raw.endswith("s") and raw[:-1] in table:
            out.append(table[raw[:-1]])
        elif (parts := _split_compound(raw)) is not None:
            out.extend(parts)
        else:
            out.append(frozenset({raw}))
    return out


def _dice(a: Sequence[frozenset[str]], b: Sequence[frozenset[str]]) -> float:
    if not a or not b:
        return 0.0
    left = list(b)
    hits = 0
    for word in a:
        for i, other in enumerate(left):
            if word & other:
                hits += 1
                left.pop(i)
                break
    return 2 * hits / (len(a) + len(b))


@dataclass
class FieldTarget:
    """A scalar field of the schema and the words that name it."""

    path: str
    kind: Kind
    names: list[list[frozenset[str]]]
    description: list[frozenset[str]]
    choices: tuple[Any, ...] = ()

    def match(self, label: str) -> float:
        words = english_words(label)
        best = max((_dice(words, n) for n in self.names), default=0.0)
        if self.description and words:
            # a label whose every word is in the description ("Waybill" for "the carrier's waybill")
            rest = list(self.description)
            if all(any(w & d for d in rest) for w in words):
                best = max(best, DESCRIPTION_WEIGHT if len(words) >= 2 else 0.7)
        return best


def schema_targets(
    model: type[BaseModel], prefix: str = "", parent: list[frozenset[str]] | None = None
) -> list[FieldTarget]:
    """The scalar fields of ``model`` (nested objects flattened to dotted paths)."""
    out: list[FieldTarget] = []
    for name, info in model.model_fields.items():
        kind, inner = leaf_kind(info.annotation)
        names = [english_words(name)]
        for extra in (info.alias, info.validation_alias, info.title):
            if isinstance(extra, str) and extra:
                names.append(english_words(extra))
        if kind == "object":
            out.extend(schema_targets(inner, f"{prefix}{name}.", names[0]))
            continue
        if kind == "list":
            continue
        if parent:  # a nested field is named with its parent: "Consignee name"
            names = [[*parent, *n] for n in names]
        choices = typing.get_args(inner) if typing.get_origin(inner) is typing.Literal else ()
        desc = english_words(info.description) if info.description else []
        out.append(FieldTarget(f"{prefix}{name}", kind, names, desc, choices))
    return out


def typed_value(target: FieldTarget, kv: KeyValue) -> Any:
    """The pair's value as the field's type, or None when it is not one."""
    text = kv.value
    if target.kind == "bool":
        if kv.checked is not None and kv.how == "checkbox" and not kv.options:
            return kv.checked
        t = _fold(text or "").strip(" .")
        return True if t in lx.YES_WORDS else False if t in lx.NO_WORDS else None
    if text is None:
        return None
    if target.choices:
        folded = {_fold(str(c)): c for c in target.choices}
        return folded.get(_fold(text).strip(" .")) or next(
            (c for f, c in folded.items() if f and f in _fold(text)), None
        )
    if target.kind == "date":
        d = parse_date(text)
        return d.isoformat() if d else None
    if target.kind == "number":
        amount = parse_amount(text)
        return format(amount, "f") if amount is not None else None
    return text


def _evidence(kv: KeyValue) -> Evidence | None:
    box = kv.value_box
    if box is None:
        return None
    return Evidence(page=kv.page, bbox=box, text=" ".join(w.text for w in kv.value_words), score=kv.score)


def form_output(pairs: Sequence[KeyValue]) -> EngineOutput:
    """The ``form`` schema: every pair as ``{"key", "value"}``, in reading order."""
    out = EngineOutput(data={"fields": []}, document_type="form")
    for kv in pairs[:200]:
        if not kv.label:
            continue
        n = len(out.data["fields"])
        out.data["fields"].append({"key": kv.label[:200], "value": kv.value[:1000] if kv.value else None})
        out.evidence[f"fields.{n}.key"] = Evidence(
            kv.page, kv.label_box, " ".join(w.text for w in kv.label_words)
        )
        out.confidence[f"fields.{n}.key"] = kv.confidence
        ev = _evidence(kv)
        if ev is not None and kv.value is not None:
            out.evidence[f"fields.{n}.value"] = ev
            out.confidence[f"fields.{n}.value"] = kv.confidence
    return out


def map_pairs(pairs: Sequence[KeyValue], model: type[BaseModel]) -> EngineOutput:
    """The fields of ``model`` from the pairs whose labels name them; unnamed fields stay None."""
    targets = schema_targets(model)
    scored = sorted(
        ((t.match(kv.label), ti, pi) for ti, t in enumerate(targets) for pi, kv in enumerate(pairs)),
        key=lambda s: (-s[0], s[1], s[2]),
    )
    data: dict[str, Any] = {}
    out = EngineOutput(data=data)
    taken_fields: set[int] = set()
    taken_pairs: set[int] = set()
    for score, ti, pi in scored:
        if score < MATCH_THRESHOLD:
            break
        if ti in taken_fields or pi in taken_pairs:
            continue
        target, kv = targets[ti], pairs[pi]
        value = typed_value(target, kv)
        if value is None:
            continue
        taken_fields.add(ti)
        taken_pairs.add(pi)
        _set(data, target.path, value)
        ev = _evidence(kv) or Evidence(kv.page, kv.label_box, kv.label, kv.score)
        out.evidence[target.path] = ev
        out.confidence[target.path] = round(kv.confidence * min(1.0, score), 4)
        _log.debug("kv: %s <- %r (%s, label %r, match %.2f)", target.path, value, kv.how, kv.label, score)
    for ti, target in enumerate(targets):
        if ti not in taken_fields:
            _set(data, target.path, None)
    return out


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


# ---------------------------------------------------------------------------------------------
# Lists of objects from the line-item table


def _column_map(item: type[BaseModel], columns: Sequence[str]) -> dict[str, str]:
    """Item field -> table column whose name it matches (``qty`` -> ``quantity``)."""
    mapping: dict[str, str] = {}
    for name, info in item.model_fields.items():
        kind, _ = leaf_kind(info.annotation)
        if kind in ("list", "object"):
            continue
        words = english_words(name)
        best = max(((_dice(words, english_words(c)), c) for c in columns), default=(0.0, ""))
        if best[0] >= MATCH_THRESHOLD and best[1] not in mapping.values():
            mapping[name] = best[1]
    return mapping


def fill_lists(out: EngineOutput, model: type[BaseModel], pages: Sequence[Page], tables: Any) -> None:
    """Fill each list-of-objects field from the line-item table, column by column."""
    items = list(getattr(tables, "items", []) or []) if tables is not None else []
    for name, info in model.model_fields.items():
        kind, inner = leaf_kind(info.annotation)
        if kind != "list":
            continue
        ikind, item_model = leaf_kind(inner)
        out.data[name] = []
        if ikind != "object" or not items:
            continue
        mapping = _column_map(item_model, list(items[0].keys()))
        if not mapping:
            continue
        t_ev = getattr(tables, "evidence", {}) or {}
        t_conf = getattr(tables, "confidence", {}) or {}
        for i, row in enumerate(items):
            out.data[name].append({f: row.get(c) for f, c in mapping.items()})
            for f, c in mapping.items():
                src = f"line_items.{i}.{c}"
                if src in t_ev:
                    out.evidence[f"{name}.{i}.{f}"] = t_ev[src]
                if src in t_conf:
                    out.confidence[f"{name}.{i}.{f}"] = t_conf[src]


def extract_schema(pages: Sequence[Page], model: type[BaseModel], tables: Any = None) -> EngineOutput:
    """A user schema (or ``Form``) from the key-value pairs of ``pages``."""
    pairs = read_pairs(pages)
    if model.__name__ == "Form" and "fields" in model.model_fields:
        return form_output(pairs)
    out = map_pairs(pairs, model)
    fill_lists(out, model, pages, tables)
    return out


__all__ = ["FieldTarget", "english_words", "extract_schema", "form_output", "map_pairs", "schema_targets"]
