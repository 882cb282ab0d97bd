"""The openai engine against a real loopback HTTP server with scripted replies (no network)."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PIL import Image
from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Page
from docvlm.engines.base import BaseEngine
from docvlm.engines.openai_engine import OpenAIEngine
from docvlm.errors import EngineError
from schemas import Invoice
from schemas.docvqa import Answer
from tests.helpers.fake_openai_server import FakeOpenAIServer, Reply, chat_reply, json_reply
from tests.helpers.openai_cases import FAULTS, GOOD, INVOICE, options
from tests.helpers.pages import load_pages, make_pdf

SECRET = "sk-test-8d1f0c2a9b7e4f6d"


class FallbackProbe(BaseEngine):
    """Stands in for the layout engine: records that the fallback ran and returns a marked output."""

    name = "probe"

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, pages: Sequence[Page], schema: type[BaseModel]) -> EngineOutput:
        self.calls += 1
        return EngineOutput(data={"invoice_number": "FROM-FALLBACK"}, usage={})

    def answer(self, pages: Sequence[Page], question: str) -> Answer:
        return Answer(answer="fallback answer")


@pytest.fixture()
def pages(tmp_path: Path) -> list[Page]:
    return load_pages(make_pdf(tmp_path / "inv.pdf", [INVOICE]))


@pytest.fixture()
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DOCVLM_TEST_KEY", SECRET)
    return SECRET


@pytest.fixture()
def make_engine() -> Iterator[object]:
    made: list[OpenAIEngine] = []

    def build(srv: FakeOpenAIServer, fallback: BaseEngine | None = None, **kw: object) -> OpenAIEngine:
        eng = OpenAIEngine(options(srv, **kw), fallback=fallback or FallbackProbe())
        made.append(eng)
        return eng

    yield build
    for eng in made:
        eng.close()


def test_valid_reply_gives_data_usage_and_a_strict_schema_request(pages, api_key, make_engine) -> None:
    with FakeOpenAIServer([json_reply(GOOD)]) as srv:
        out = make_engine(srv).extract(pages, Invoice)
    assert out.data["invoice_number"] == "RE-2024-0042"
    assert out.data["total"] == "119.00"
    assert out.data["line_items"][0]["amount"] == "100.00"
    assert not out.fallback
    assert out.usage == {"requests": 1, "prompt_tokens": 100, "completion_tokens": 20}
    assert {"invoice_number", "total", "vendor.name", "line_items.0.amount"} <= out.generated
    assert "due_date" not in out.generated  # null values are not claimed as generated
    (req,) = srv.chat_requests
    assert req.headers["Authorization"] == f"Bearer {SECRET}"
    fmt = req.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["properties"]["total"]["anyOf"][0]["pattern"]
    user = req.body["messages"][1]["content"]
    assert "Nordlicht Werkzeuge GmbH [" in user[0]["text"]  # OCR-grounded: words with boxes
    url = user[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.width * img.height <= 200_000  # max_pixels respected


def test_429_honours_retry_after(pages, api_key, make_engine) -> None:
    script = [Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "1"}), json_reply(GOOD)]
    with FakeOpenAIServer(script) as srv:
        t0 = time.perf_counter()
        out = make_engine(srv).extract(pages, Invoice)
        elapsed = time.perf_counter() - t0
    assert elapsed >= 1.0
    assert out.data["total"] == "119.00"
    assert out.usage["requests"] == 2


def test_5xx_is_retried_then_becomes_an_engine_error(pages, api_key, make_engine) -> None:
    with FakeOpenAIServer([Reply(500, {"error": "boom"}), json_reply(GOOD)]) as srv:
        out = make_engine(srv).extract(pages, Invoice)
    assert out.data["total"] == "119.00" and out.usage["requests"] == 2
    with FakeOpenAIServer(default=Reply(503, {"error": "down"})) as srv:
        with pytest.raises(EngineError, match=r"giving up after 3 tries.*HTTP 503"):
            make_engine(srv).extract(pages, Invoice)
        assert len(srv.chat_requests) == 3  # 1 + max_retries


def test_a_hang_past_the_timeout_is_retried(pages, api_key, make_engine) -> None:
    with FakeOpenAIServer([Reply(delay=3.0, body={}), json_reply(GOOD)]) as srv:
        out = make_engine(srv, timeout_s=0.3).extract(pages, Invoice)
    assert out.data["total"] == "119.00"
    with (
        FakeOpenAIServer(default=Reply(delay=3.0, body={})) as srv,
        pytest.raises(EngineError, match=r"no reply within 0\.3 s"),
    ):
        make_engine(srv, timeout_s=0.3, max_retries=1).extract(pages, Invoice)


@pytest.mark.parametrize(
    ("bad", "expected_error"),
    [
        (chat_reply("Sorry, I cannot read this invoice."), "no JSON object"),
        (chat_reply('{"invoice_number": "RE-2024-0042", "total": "119.'), "cut off"),
        (chat_reply('{"invoice_number": "RE-2024-0042"', finish_reason="length"), "max_tokens"),
        (json_reply({"total": "lots", "currency": "EURO"}), "does not fit the schema"),
        (
            Reply(body={"id": "x", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 0}}),
            "empty choice",
        ),
        (Reply(body="<html>gateway</html>"), "HTTP body is not JSON"),
    ],
    ids=["prose", "truncated", "finish-length", "schema-violation", "empty-choices", "html-body"],
)
def test_bad_reply_is_reasked_with_the_error(pages, api_key, make_engine, bad, expected_error) -> None:
    with FakeOpenAIServer([bad, json_reply(GOOD)]) as srv:
        out = make_engine(srv, temperature=0.0, temperature_step=0.4).extract(pages, Invoice)
    assert out.data["total"] == "119.00" and not out.fallback
    assert [a.number for a in out.attempts] == [1, 2]
    assert expected_error in (out.attempts[0].error or "")
    assert out.attempts[1].error is None
    first, second = srv.chat_requests
    assert first.body["temperature"] == 0.0 and second.body["temperature"] == pytest.approx(0.4)
    reask = second.body["messages"][-1]
    assert reask["role"] == "user" and expected_error in reask["content"]
    assert out.usage["requests"] == 2


def test_unusable_replies_fall_back_with_a_warning(pages, api_key, make_engine) -> None:
    probe = FallbackProbe()
    with FakeOpenAIServer(default=chat_reply("not json at all")) as srv:
        out = make_engine(srv, fallback=probe).extract(pages, Invoice)
        assert len(srv.chat_requests) == 3
    assert probe.calls == 1
    assert out.fallback
    assert out.data["invoice_number"] == "FROM-FALLBACK"
    (warning,) = [w for w in out.warnings if w.code == "vlm_fallback"]
    assert "page 1" in warning.message and "3 attempt" in warning.message
    assert len(out.attempts) == 3 and all(a.error for a in out.attempts)
    assert out.usage["requests"] == 3 and out.usage["prompt_tokens"] == 300


def test_json_schema_rejection_falls_back_to_json_mode_for_the_session(pages, api_key, make_engine) -> None:
    def strict_hater(body: dict) -> Reply:
        if body.get("response_format", {}).get("type") == "json_schema":
            return Reply(400, {"error": {"message": "response_format json_schema is not supported"}})
        return json_reply(GOOD)

    with FakeOpenAIServer(default=strict_hater) as srv:
        eng = make_engine(srv)
        out1 = eng.extract(pages, Invoice)
        out2 = eng.extract(pages, Invoice)
    kinds = [r.body["response_format"]["type"] for r in srv.chat_requests]
    assert kinds == ["json_schema", "json_object", "json_object"]  # remembered after the first rejection
    assert out1.data["total"] == out2.data["total"] == "119.00"
    # json mode has no schema on the wire, so the prompt itself must carry it
    assert '"total"' in srv.chat_requests[1].body["messages"][1]["content"][0]["text"]


def test_other_4xx_is_an_immediate_error(pages, api_key, make_engine) -> None:
    with FakeOpenAIServer(default=Reply(404, {"error": {"message": "model fake-vlm not found"}})) as srv:
        with pytest.raises(EngineError, match=r"HTTP 404.*not found"):
            make_engine(srv).extract(pages, Invoice)
        assert len(srv.chat_requests) == 1


def test_api_key_never_appears_in_logs_or_errors(pages, api_key, make_engine, caplog) -> None:
    def echo_key(body: dict) -> Reply:
        return Reply(401, {"error": {"message": f"invalid key Bearer {SECRET} ({SECRET})"}})

    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer([Reply(500, {"error": f"upstream said {SECRET}"})], default=echo_key) as srv:
        with pytest.raises(EngineError) as info:
            make_engine(srv).extract(pages, Invoice)
        assert srv.chat_requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert "HTTP 401" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in caplog.text
    assert "upstream said ***" in caplog.text  # the 500 body was logged, redacted


def test_a_key_echoed_in_a_completion_is_redacted_in_attempts(pages, api_key, make_engine) -> None:
    with FakeOpenAIServer([chat_reply(f"sure, your key is {SECRET}"), json_reply(GOOD)]) as srv:
        out = make_engine(srv).extract(pages, Invoice)
    assert out.data["total"] == "119.00" and len(out.attempts) == 2
    assert SECRET not in out.attempts[0].raw and "***" in out.attempts[0].raw


def test_concurrency_is_bounded(tmp_path, api_key, make_engine) -> None:
    pdf = make_pdf(tmp_path / "six.pdf", [INVOICE] * 6)
    pages = load_pages(pdf)
    reply = json_reply(GOOD)
    reply.delay = 0.25
    with FakeOpenAIServer(default=reply) as srv:
        out = make_engine(srv, max_concurrency=2).extract(pages, Invoice)
    assert len(srv.chat_requests) == 6
    assert srv.max_in_flight == 2  # never more than max_concurrency, and the pages did overlap
    # every page repeats the same row: a row carried over from the previous page is kept once
    assert len(out.data["line_items"]) == 1
    assert out.usage["requests"] == 6 and out.usage["prompt_tokens"] == 600


def test_pages_are_merged_with_reindexed_line_items(tmp_path, api_key, make_engine) -> None:
    pages = load_pages(make_pdf(tmp_path / "two.pdf", [INVOICE[:8], INVOICE[8:]]))
    page1 = {
        "invoice_number": "RE-2024-0042",
        "line_items": [{"description": "Wrench set", "amount": "100.00"}],
    }
    page2 = {"total": "119.00", "line_items": [{"description": "Hammer", "amount": "5.00"}]}

    def by_page(body: dict) -> Reply:
        text = body["messages"][1]["content"][0]["text"]
        return json_reply(page1 if "Nordlicht" in text else page2)

    with FakeOpenAIServer(default=by_page) as srv:
        out = make_engine(srv).extract(pages, Invoice)
    assert out.data["invoice_number"] == "RE-2024-0042" and out.data["total"] == "119.00"
    assert [li["description"] for li in out.data["line_items"]] == ["Wrench set", "Hammer"]
    assert "line_items.1.amount" in out.generated


def test_answer_is_grounded_on_the_page(pages, api_key, make_engine) -> None:
    with FakeOpenAIServer(
        [json_reply({"answer": "RE-2024-0042"}), json_reply({"answer": "42 bananas"})]
    ) as srv:
        eng = make_engine(srv)
        ans = eng.answer(pages, "What is the invoice number?")
        ungrounded = eng.answer(pages, "How many bananas?")
    assert ans.answer == "RE-2024-0042" and ans.page == 1 and ans.bbox is not None and ans.confidence > 0.5
    assert ungrounded.answer == "42 bananas" and ungrounded.page is None and ungrounded.confidence < 0.5
    assert srv.chat_requests[0].body["response_format"]["json_schema"]["schema"]["required"] == ["answer"]
    assert "What is the invoice number?" in srv.chat_requests[0].body["messages"][1]["content"][0]["text"]


def test_fields_subset_asks_only_for_those_fields(pages, api_key, make_engine) -> None:
    with FakeOpenAIServer(
        [json_reply({"total": "119.00", "vendor": {"name": "Nordlicht Werkzeuge GmbH"}})]
    ) as srv:
        out = make_engine(srv).extract_fields(pages, Invoice, ["total", "vendor.name"])
    schema = srv.chat_requests[0].body["response_format"]["json_schema"]["schema"]
    assert set(schema["properties"]) == {"vendor", "total"}
    assert set(schema["properties"]["vendor"]["properties"]) == {"name"}
    assert out.generated == {"total", "vendor.name"}


def test_long_receipt_is_tiled_within_max_pixels(tmp_path, api_key, make_engine) -> None:
    lines = [(20, 30 + 14 * i, f"ITEM {i:02d}   {i}.00") for i in range(40)]
    pages = load_pages(make_pdf(tmp_path / "receipt.pdf", [lines], size=(220.0, 620.0)))
    with FakeOpenAIServer([json_reply({"total": "1.00"})]) as srv:
        make_engine(srv, max_pixels=150_000).extract(pages, Invoice)
    parts = srv.chat_requests[0].body["messages"][1]["content"][1:]
    assert len(parts) >= 2  # tiled, not shrunk to an unreadable strip
    for part in parts:
        img = Image.open(io.BytesIO(base64.b64decode(part["image_url"]["url"].split(",", 1)[1])))
        assert img.width * img.height <= 150_000


def test_models_endpoint_and_json_roundtrip_of_the_fake_server() -> None:
    import httpx

    with FakeOpenAIServer() as srv:
        models = httpx.get(srv.base_url + "/models", timeout=2).json()
        exhausted = httpx.post(srv.base_url + "/chat/completions", json={"x": 1}, timeout=2)
    assert models["data"][0]["id"] == "fake"
    assert exhausted.status_code == 500 and "script exhausted" in json.dumps(exhausted.json())


def test_fault_matrix_through_the_pipeline_loses_no_record(tmp_path) -> None:
    """One document per fault: every one gets a record, with a warning (fallback) or an error."""
    from docvlm.pipeline import Pipeline, PipelineOptions

    folder = tmp_path / "in"
    folder.mkdir()
    for name in FAULTS:
        make_pdf(folder / f"{name.lower()}.pdf", [[*INVOICE, (50, 400, f"Ref DOC{name}")]])
    seen: dict[str, int] = {}

    def by_document(body: dict) -> Reply:
        text = body["messages"][1]["content"][0]["text"]
        name = next(n for n in FAULTS if f"DOC{n}" in text)
        seen[name] = seen.get(name, 0) + 1
        return FAULTS[name](seen[name] - 1)

    with FakeOpenAIServer(default=by_document) as srv:
        opts = options(srv, timeout_s=1.2, max_retries=1, max_attempts=2, api_key_env="DOCVLM_UNSET_KEY")
        pipe = Pipeline(PipelineOptions(engine=opts))
        records = {Path(r.source).stem.upper(): r.to_record() for r in pipe.run([folder])}
        pipe.close()
    assert set(records) == set(FAULTS)
    assert records["RATE"]["status"] == "ok" and records["RATE"]["data"]["total"] == "119.00"
    for name in ("DOWN", "HANG"):
        rec = records[name]
        assert rec["status"] == "error" and rec["data"] is None and rec["error"]["type"] == "EngineError"
    assert "HTTP 500" in records["DOWN"]["error"]["message"]
    assert "no reply within" in records["HANG"]["error"]["message"]
    for name in ("PROSE", "CUT", "SCHEMA", "EMPTY"):
        rec = records[name]
        assert rec["status"] == "partial", name
        assert any(w["code"] == "vlm_fallback" for w in rec["warnings"]), name
        assert rec["data"]["total"] == "119.00", name  # the layout engine's value
        assert len(rec["attempts"]) == 2, name


def test_rows_repeated_across_pages_are_dropped(tmp_path, api_key, make_engine) -> None:
    pdf = make_pdf(tmp_path / "three.pdf", [INVOICE] * 3)
    pages = load_pages(pdf)
    row = GOOD["line_items"][0]
    other = {**row, "description": "Torque wrench"}
    replies = [
        json_reply({**GOOD, "line_items": [row]}),
        json_reply({**GOOD, "line_items": [row, other]}),  # page 2 repeats page 1's row
        json_reply({**GOOD, "line_items": [{**row, "amount": "20.00"}]}),  # another row: kept
    ]
    with FakeOpenAIServer(replies) as srv:
        out = make_engine(srv, max_concurrency=1).extract(pages, Invoice)
    assert [(it["description"], it["amount"]) for it in out.data["line_items"]] == [
        ("Wrench set", "100.00"),
        ("Torque wrench", "100.00"),
        ("Wrench set", "20.00"),
    ]
