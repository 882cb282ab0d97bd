"""Decode: JSON extraction and safe repair, and the re-ask / fallback loop."""

from __future__ import annotations

import pytest

from docvlm.datamodel import EngineOutput
from docvlm.engines.generative.decode import BadReply, parse_json
from docvlm.engines.generative.prompts import Prompt
from docvlm.engines.generative.reask import run_with_reask
from docvlm.errors import DecodeError, EngineError, IngestError
from schemas import Invoice


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure! Here it is:\n```json\n{"a": "x"}\n```\nAnything else?', {"a": "x"}),
        ('```\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ('The result is {"a": {"b": null}} as requested.', {"a": {"b": None}}),
        ('{"a": [1, 2,], "b": 3,}', {"a": [1, 2], "b": 3}),
        ("{'a': 'it\\'s', 'b': \"x\"}", {"a": "it's", "b": "x"}),
        ("{'a': 'say \"hi\"'}", {"a": 'say "hi"'}),
        ("{a: True, b: None, c: False}", {"a": True, "b": None, "c": False}),
        ('{"total": "119.00", "vendor": {"name": "ACME"', {"total": "119.00", "vendor": {"name": "ACME"}}),
        ('{"items": [{"a": "1"}, ', {"items": [{"a": "1"}]}),
        ('{"t": "a {b} c"}', {"t": "a {b} c"}),
        ('x {not json} then {"a": 1}', {"a": 1}),
        ('{"a": "line\nbreak"}', {"a": "line\nbreak"}),
        ('{"a": "\\u00e9"}', {"a": "é"}),
    ],
    ids=[
        "plain",
        "fence-and-prose",
        "bare-fence",
        "prose-around",
        "trailing-commas",
        "single-quotes",
        "double-inside-single",
        "python-literals",
        "missing-closers",
        "dangling-comma",
        "braces-in-string",
        "braces-in-prose",
        "raw-newline",
        "unicode-escape",
    ],
)
def test_parse_json_repairs_what_is_safe(text: str, expected: dict) -> None:
    assert parse_json(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("I could not find an invoice.", "no JSON object"),
        ("[1, 2, 3]", "no JSON object"),
        ('{"total": "119.', "inside a string"),
        ('{"total": 119', "inside a number"),
        ('{"total":', "after a key"),
        ('{"total"', "after a key"),
        ('{"a": 1]', "does not close"),
        ('{"a" "b"}', "not valid JSON"),
    ],
    ids=[
        "empty",
        "blank",
        "prose",
        "array",
        "cut-in-string",
        "cut-in-number",
        "cut-after-colon",
        "cut-after-key",
        "mismatched",
        "missing-colon",
    ],
)
def test_parse_json_refuses_what_is_ambiguous(text: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        parse_json(text)


PROMPT = Prompt(system="sys", user="user", images=[], word_count=3, truncated=False)
GOOD = '{"invoice_number": "A-1", "total": "12.50", "vendor": {"name": "ACME"}, "line_items": [{"amount": "12.50"}]}'


class Script:
    """A generate callable that replays replies (str or exception) and records its calls."""

    def __init__(self, *replies: str | Exception) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[Prompt, float, str | None]] = []

    def __call__(
        self, prompt: Prompt, temperature: float, previous_error: str | None
    ) -> tuple[str, dict[str, int]]:
        self.calls.append((prompt, temperature, previous_error))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply, {"prompt_tokens": 10, "completion_tokens": 5, "requests": 1}


def run(script: Script, **kw: object) -> EngineOutput:
    args: dict[str, object] = {
        "max_attempts": 3,
        "temperature": 0.1,
        "temperature_step": 0.3,
        "fallback": None,
    }
    args.update(kw)
    return run_with_reask(script, PROMPT, Invoice, **args)  # type: ignore[arg-type]


def test_first_valid_reply_is_returned_with_generated_paths() -> None:
    out = run(Script(GOOD))
    assert out.data["total"] == "12.50" and out.data["due_date"] is None
    assert out.generated == {"invoice_number", "total", "vendor.name", "line_items.0.amount"}
    assert [(a.number, a.error) for a in out.attempts] == [(1, None)]
    assert out.usage == {"prompt_tokens": 10, "completion_tokens": 5, "requests": 1}
    assert not out.fallback


def test_reask_carries_the_error_and_raises_the_temperature() -> None:
    script = Script("no idea", '{"total": "twelve"}', GOOD)
    out = run(script)
    temps = [t for _, t, _ in script.calls]
    assert temps == pytest.approx([0.1, 0.4, 0.7])
    assert script.calls[0][2] is None and "no JSON object" in (script.calls[1][2] or "")
    second_prompt = script.calls[1][0]
    assert second_prompt.followups[0] == ("assistant", "no idea")
    assert "no JSON object" in second_prompt.followups[1][1]
    third_prompt = script.calls[2][0]
    assert "total" in third_prompt.followups[1][1] and "twelve" in third_prompt.followups[1][1]
    assert len(third_prompt.followups) == 2  # each re-ask shows only the last rejected reply
    assert [a.error is None for a in out.attempts] == [False, False, True]
    assert out.usage["requests"] == 3 and out.usage["prompt_tokens"] == 30


def test_bad_reply_from_generate_counts_as_an_attempt_with_its_usage() -> None:
    script = Script(BadReply("the server returned an empty choice list", usage={"requests": 2}), GOOD)
    out = run(script)
    assert out.attempts[0].error == "the server returned an empty choice list"
    assert out.usage["requests"] == 3


def test_after_max_attempts_the_fallback_is_used_and_marked() -> None:
    fallback_out = EngineOutput(data={"total": "9.99"}, usage={"requests": 0})
    out = run(Script("x", "y"), max_attempts=2, fallback=lambda: fallback_out)
    assert out is fallback_out and out.fallback
    (w,) = out.warnings
    assert w.code == "vlm_fallback" and "2 attempt" in w.message and "no JSON object" in w.message
    assert len(out.attempts) == 2
    assert out.usage["requests"] == 2
    assert out.generated == set()  # fallback values are the layout engine's, not generated


def test_without_fallback_decode_error_carries_the_attempts() -> None:
    with pytest.raises(DecodeError, match="no usable reply after 1") as info:
        run(Script("nope"), max_attempts=1)
    assert len(info.value.attempts) == 1


def test_failing_fallback_becomes_a_decode_error() -> None:
    def broken() -> EngineOutput:
        raise IngestError("layout could not read the page")

    with pytest.raises(DecodeError, match="fallback failed too"):
        run(Script("nope"), max_attempts=1, fallback=broken)


def test_transport_errors_propagate_and_bad_arguments_are_refused() -> None:
    with pytest.raises(EngineError):
        run(Script(EngineError("HTTP 500")))
    with pytest.raises(ValueError, match="max_attempts"):
        run(Script(GOOD), max_attempts=0)


def test_temperature_is_capped() -> None:
    script = Script("a", "b", GOOD)
    run(script, temperature=1.5, temperature_step=0.4)
    assert [t for _, t, _ in script.calls] == pytest.approx([1.5, 1.9, 2.0])
