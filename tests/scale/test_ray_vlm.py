"""The Ray VLM stage through HttpRequestProcessorConfig against the loopback fake server.

Every document gets a record, and each fault (429, 500, a hang, prose, cut-off or off-schema
JSON, no choices) ends exactly as the local ``openai`` engine ends it on the same server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.scale import RayOptions, records
from docvlm.split import SplitOptions
from tests.helpers.fake_openai_server import FakeOpenAIServer, Reply, json_reply
from tests.helpers.openai_cases import FAULTS, GOOD, INVOICE, options
from tests.helpers.pages import make_pdf

CASES = {**FAULTS, "PAGES": lambda n: json_reply(GOOD)}


def _by_document() -> tuple[object, dict[str, int]]:
    seen: dict[str, int] = {}

    def reply(body: dict) -> Reply:
        text = body["messages"][1]["content"][0]["text"]
        name = next(n for n in CASES if f"DOC{n}" in text)
        seen[name] = seen.get(name, 0) + 1
        return CASES[name](seen[name] - 1)

    return reply, seen


# "PAGES" prints the same complete invoice twice, which --split auto reads as two invoices (a totals
# block followed by a new header); here it stands for one two-page document
ONE_RECORD = SplitOptions(mode="never")


def _strip(rec: dict) -> dict:
    """The record without timings, and with the fake server's port (one server per run) as PORT."""
    text = re.sub(
        r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", json.dumps({k: v for k, v in rec.items() if k != "timings"})
    )
    return json.loads(text)


def test_http_stage_ends_every_fault_as_the_local_engine(ray_cluster, tmp_path: Path) -> None:
    llm = pytest.importorskip("ray.data.llm", reason="ray.data.llm needs aiohttp")
    from docvlm.scale.vlm import extract_dataset_vlm

    folder = tmp_path / "in"
    folder.mkdir()
    for name in CASES:
        pages = 2 if name == "PAGES" else 1
        make_pdf(folder / f"{name.lower()}.pdf", [[*INVOICE, (50, 400, f"Ref DOC{name}")]] * pages)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 not really")

    reply, _ = _by_document()
    with FakeOpenAIServer(default=reply) as srv:
        opts = options(srv, timeout_s=1.2, max_retries=1, max_attempts=2, api_key_env="DOCVLM_UNSET_KEY")
        pipe = Pipeline(PipelineOptions(engine=opts, split=ONE_RECORD))
        local = {r.source: r.to_record() for r in pipe.run([folder])}
        pipe.close()

    reply, seen = _by_document()
    with FakeOpenAIServer(default=reply) as srv:
        opts = options(srv, timeout_s=1.2, max_retries=1, max_attempts=2, api_key_env="DOCVLM_UNSET_KEY")
        config = llm.HttpRequestProcessorConfig(
            url=f"{srv.base_url}/chat/completions", concurrency=1, batch_size=4
        )
        ray_opts = RayOptions(pipeline=PipelineOptions(engine=opts, split=ONE_RECORD), concurrency=1)
        got = {r["source"]: r for r in records(extract_dataset_vlm([str(folder)], config, ray_opts))}
        requests = len(srv.chat_requests)

    assert sorted(got) == sorted(local) and len(got) == len(CASES) + 1
    for source, rec in local.items():
        a, b = _strip(got[source]), _strip(rec)
        if source.endswith("broken.pdf"):  # MuPDF words its failure to open a stream and a file differently
            a["error"]["message"], b["error"]["message"] = (
                e["error"]["message"].split(": ")[:2] for e in (a, b)
            )
        assert a == b, source
    by_name = {Path(s).stem.upper(): r for s, r in got.items()}
    assert by_name["RATE"]["status"] == "ok" and by_name["DOWN"]["status"] == "error"
    assert by_name["PROSE"]["status"] == "partial" and len(by_name["PROSE"]["attempts"]) == 2
    assert by_name["BROKEN"]["status"] == "error" and by_name["BROKEN"]["error"]["type"] == "IngestError"
    assert by_name["PAGES"]["pages"] == 2 and seen["PAGES"] == 2
    assert requests == sum(seen.values())
