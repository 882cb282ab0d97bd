"""xgrammar-constrained decoding: bounded schemas, exact patterns, caching, masking and budget-aware closing.

No model is needed: random logits stand in for one, which is the hardest case for the grammar
(every allowed token is equally likely to be picked).
"""

from __future__ import annotations

import json

import pytest
import torch
import xgrammar as xgr

from docvlm.engines.generative.json_schema import bounded_json_schema
from docvlm.engines.generative.prompts import QA_JSON_SCHEMA
from docvlm.engines.transformers import constrain
from docvlm.errors import EngineError
from schemas.invoice import Invoice


@pytest.fixture(scope="module")
def tokenizer():
    from tests.vlm.tiny_models import _qwen_tokenizer

    return _qwen_tokenizer()


@pytest.fixture(scope="module")
def stop_ids(tokenizer) -> list[int]:
    return [tokenizer.convert_tokens_to_ids("<|im_end|>")]


def _matcher(schema: dict, tokenizer, stop_ids) -> xgr.GrammarMatcher:
    return xgr.GrammarMatcher(constrain.compile_schema(schema, tokenizer, len(tokenizer), stop_ids))


def _accepts(schema: dict, text: str, tokenizer, stop_ids) -> bool:
    m = _matcher(schema, tokenizer, stop_ids)
    return m.accept_string(text) and m.is_completed()


def _random_decode(
    schema: dict,
    tokenizer,
    stop_ids,
    *,
    max_new_tokens: int,
    seed: int,
    batch: int = 1,
    vocab: int | None = None,
) -> tuple[list[str], constrain.JsonSchemaLogitsProcessor]:
    """Greedy decoding over random logits through the logits processor, like generate() would."""
    vocab = vocab or len(tokenizer)
    gen = torch.Generator().manual_seed(seed)
    proc = constrain.make_logits_processor(schema, tokenizer, vocab, stop_ids, max_new_tokens=max_new_tokens)
    ids = torch.zeros((batch, 5), dtype=torch.long)
    done = [False] * batch
    out: list[list[int]] = [[] for _ in range(batch)]
    for _ in range(max_new_tokens):
        scores = torch.randn((batch, vocab), generator=gen)
        scores = proc(ids, scores)
        nxt = scores.argmax(dim=-1)
        for i in range(batch):
            if done[i]:
                nxt[i] = stop_ids[0]  # generate pads finished rows
            elif int(nxt[i]) in stop_ids:
                done[i] = True
            else:
                out[i].append(int(nxt[i]))
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        if all(done):
            break
    assert all(done), "a row did not reach the stop token within max_new_tokens"
    return [tokenizer.decode(o) for o in out], proc


def test_check_bounded_finds_unbounded_strings_and_arrays() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "array", "items": {"type": "string", "maxLength": 3}},
            "c": {"anyOf": [{"type": "string", "pattern": "^x$"}, {"type": "null"}]},
        },
    }
    assert constrain.check_bounded(schema) == ["/a", "/b"]
    assert constrain.check_bounded(bounded_json_schema(Invoice)) == []
    assert constrain.check_bounded(QA_JSON_SCHEMA) == []


def test_unbounded_schema_is_refused(tokenizer, stop_ids) -> None:
    with pytest.raises(EngineError, match="bounded"):
        constrain.compile_schema({"type": "string"}, tokenizer, len(tokenizer), stop_ids)


def test_grammar_is_cached_per_schema_and_tokenizer(tokenizer, stop_ids) -> None:
    schema = bounded_json_schema(Invoice)
    first = constrain.compile_schema(schema, tokenizer, len(tokenizer), stop_ids)
    before = constrain.cache_info()["grammars"]
    again = constrain.compile_schema(schema, tokenizer, len(tokenizer), stop_ids)
    assert again is first
    assert constrain.cache_info()["grammars"] == before
    other = constrain.compile_schema(QA_JSON_SCHEMA, tokenizer, len(tokenizer), stop_ids)
    assert other is not first
    assert constrain.cache_info()["grammars"] == before + 1


def test_dates_currencies_and_text_are_exact(tokenizer, stop_ids) -> None:
    schema = bounded_json_schema(Invoice, ["invoice_date", "currency", "invoice_number"])

    def doc(date: str, cur: str, num: str) -> str:
        return json.dumps(
            {"invoice_number": num, "invoice_date": date, "currency": cur}, separators=(",", ":")
        )

    assert _accepts(schema, doc("2024-02-29", "EUR", "A-1"), tokenizer, stop_ids)
    assert not _accepts(schema, doc("2023-02-29", "EUR", "A-1"), tokenizer, stop_ids)  # not a leap year
    assert not _accepts(schema, doc("2024-13-01", "EUR", "A-1"), tokenizer, stop_ids)
    assert not _accepts(schema, doc("2024-01-01", "ABC", "A-1"), tokenizer, stop_ids)  # not ISO 4217
    assert not _accepts(schema, doc("2024-01-01", "EUR", ""), tokenizer, stop_ids)  # empty is null
    assert not _accepts(schema, doc("2024-01-01", "EUR", " A-1"), tokenizer, stop_ids)  # untrimmed
    assert not _accepts(schema, doc("2024-01-01", "EUR", "A\t1"), tokenizer, stop_ids)  # control char
    assert not _accepts(schema, doc("2024-01-01", "EUR", "x" * 301), tokenizer, stop_ids)  # maxLength 300
    assert _accepts(
        schema, '{"invoice_number":null,"invoice_date":null,"currency":null}', tokenizer, stop_ids
    )
    # a non-nullable free string may be empty: the QA answer for "not on the page"
    assert _accepts(QA_JSON_SCHEMA, '{"answer":""}', tokenizer, stop_ids)


def test_text_pattern_bounds() -> None:
    import re

    pattern = re.compile(constrain.text_pattern(5, allow_empty=False))
    assert pattern.match("a b c") and pattern.match("x")
    assert not pattern.match("abcdef") and not pattern.match("") and not pattern.match("a ")
    assert re.match(constrain.text_pattern(5, allow_empty=True), "")


@pytest.mark.parametrize("seed", range(8))
def test_random_logits_always_give_valid_invoices(tokenizer, stop_ids, seed: int) -> None:
    """Whatever the model prefers, the output is schema-valid JSON that ends inside the budget.

    The guarantee holds from ``max_new_tokens = 2 * closing_reserve(schema)``.
    """
    schema = bounded_json_schema(Invoice)
    budget = 2 * constrain.closing_reserve(schema)
    texts, proc = _random_decode(schema, tokenizer, stop_ids, max_new_tokens=budget, seed=seed)
    data = json.loads(texts[0])
    Invoice.model_validate(data)
    assert proc.steps <= budget


def test_batch_rows_are_independent_and_finished_rows_unmasked(tokenizer, stop_ids) -> None:
    texts, proc = _random_decode(QA_JSON_SCHEMA, tokenizer, stop_ids, max_new_tokens=120, seed=3, batch=3)
    for text in texts:
        assert set(json.loads(text)) == {"answer"}
    assert len(set(texts)) == 3  # each row followed its own logits
    # once a row's stop token is accepted the row is left unmasked (generate pads it)
    scores = proc(torch.full((3, 300), stop_ids[0]), torch.zeros((3, len(tokenizer))))
    assert torch.isfinite(scores).all()


def test_budget_closing_kicks_in_only_near_the_end(tokenizer, stop_ids) -> None:
    schema = bounded_json_schema(Invoice)
    reserve = constrain.closing_reserve(schema)
    assert reserve > len(json.dumps(constrain.minimal_instance(schema), separators=(",", ":")))
    _, proc = _random_decode(schema, tokenizer, stop_ids, max_new_tokens=2 * reserve, seed=0)
    assert 0 < proc.closing_steps <= reserve


def test_minimal_instance_is_accepted(tokenizer, stop_ids) -> None:
    schema = bounded_json_schema(Invoice)
    minimal = constrain.minimal_instance(schema)
    assert minimal["vendor"]["name"] is None and minimal["line_items"] == []
    assert _accepts(schema, json.dumps(minimal, separators=(",", ":")), tokenizer, stop_ids)


def test_processor_is_single_use_and_batch_fixed(tokenizer, stop_ids) -> None:
    proc = constrain.make_logits_processor(QA_JSON_SCHEMA, tokenizer, len(tokenizer), stop_ids)
    proc(torch.zeros((2, 3), dtype=torch.long), torch.zeros((2, len(tokenizer))))
    with pytest.raises(EngineError, match="batch size"):
        proc(torch.zeros((3, 4), dtype=torch.long), torch.zeros((3, len(tokenizer))))


def test_masked_tokens_are_minus_inf(tokenizer, stop_ids) -> None:
    proc = constrain.make_logits_processor(QA_JSON_SCHEMA, tokenizer, len(tokenizer), stop_ids)
    scores = proc(torch.zeros((1, 3), dtype=torch.long), torch.zeros((1, len(tokenizer))))
    allowed = [i for i in range(len(tokenizer)) if torch.isfinite(scores[0, i])]
    # compact JSON of an object must start with '{'
    assert allowed and all(tokenizer.decode([i]).startswith("{") for i in allowed)


def test_model_vocab_larger_than_tokenizer(tokenizer, stop_ids) -> None:
    """A padded lm_head: the mask covers the model's vocab and never allows the padding rows."""
    vocab = len(tokenizer) + 37
    texts, _ = _random_decode(QA_JSON_SCHEMA, tokenizer, stop_ids, max_new_tokens=100, seed=1, vocab=vocab)
    assert "answer" in json.loads(texts[0])
    proc = constrain.make_logits_processor(QA_JSON_SCHEMA, tokenizer, vocab, stop_ids)
    scores = proc(torch.zeros((1, 2), dtype=torch.long), torch.zeros((1, vocab)))
    assert torch.isinf(scores[0, len(tokenizer) :]).all()


def test_model_vocab_smaller_than_tokenizer(tokenizer, stop_ids) -> None:
    """Tokenizer entries the model has no logits for are never needed by the mask."""
    vocab = len(tokenizer) - 5
    texts, _ = _random_decode(QA_JSON_SCHEMA, tokenizer, stop_ids, max_new_tokens=100, seed=2, vocab=vocab)
    assert "answer" in json.loads(texts[0])


def test_needs_a_stop_token(tokenizer) -> None:
    with pytest.raises(EngineError, match="stop token"):
        constrain.make_logits_processor(QA_JSON_SCHEMA, tokenizer, len(tokenizer), [])
