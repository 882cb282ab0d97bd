"""Per-document limits inside a Ray actor: a hostile file gives a ResourceLimit row, the actor goes on."""

from __future__ import annotations

from pathlib import Path

from docvlm.pipeline import PipelineOptions
from docvlm.runner import LimitOptions
from docvlm.scale import RayOptions, extract_dataset, records
from tests.helpers.documents import INVOICE_LINES, make_text_pdf
from tests.helpers.hostile import nested_xobject_pdf


def test_a_stuck_document_gets_a_limit_row_and_its_actor_goes_on(ray_cluster, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = [make_text_pdf(folder / f"good{i}.pdf", INVOICE_LINES) for i in range(2)]
    stuck = nested_xobject_pdf(folder / "nested.pdf")  # interpreting its page never ends
    limits = LimitOptions(doc_timeout_s=5, max_worker_mb=800)
    # one actor and one batch: the good file after the stuck one is read by the same actor
    opts = RayOptions(pipeline=PipelineOptions(limits=limits), concurrency=1, batch_size=3)
    rows = {r["source"]: r for r in records(extract_dataset([str(folder)], opts))}
    assert sorted(rows) == sorted(map(str, [*good, stuck]))
    assert [rows[str(p)]["status"] for p in good] == ["ok", "ok"]
    rec = rows[str(stuck)]
    assert rec["status"] == "error" and rec["data"] is None
    # the nested XObjects also grow memory: either limit may stop them first
    assert rec["error"]["type"] == "ResourceLimit" and rec["error"]["limit"] in ("time", "memory"), rec
    assert "page 1 of 1" in rec["error"]["message"]
    assert rec["sha256"] and len(rec["sha256"]) == 64
