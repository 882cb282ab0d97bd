"""``docvlm eval`` commands through Typer's runner: exit codes, outputs, and end-to-end runs on
small born-digital PDFs (text layer, so no OCR) and on the shared invoice2data set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluation.cli import eval_app

runner = CliRunner()


def test_benchmark_on_shared_invoice2data(shared_data: Path, tmp_path: Path) -> None:
    js = tmp_path / "bench.json"
    res = runner.invoke(
        eval_app,
        [
            "benchmark",
            "--data",
            str(shared_data / "invoices/invoice2data"),
            "--labels",
            "invoice2data",
            "--json",
            str(js),
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads(js.read_text())
    assert m["documents"] == 7 and m["errors"] == 0
    # a floor well under what the layout engine measured (0.91), to catch a broken pipeline or scorer
    assert m["accuracy"] >= 0.6


@pytest.mark.slow
def test_docvqa_on_one_sroie_receipt(shared_data: Path, tmp_path: Path) -> None:
    dataset = Path(__file__).parents[2] / "evaluation/datasets/sroie_docvqa.json"
    details = tmp_path / "details.json"
    res = runner.invoke(
        eval_app,
        [
            "docvqa",
            "--dataset",
            str(dataset),
            "--root",
            str(shared_data / "receipts/sroie"),
            "--limit",
            "4",
            "--details",
            str(details),
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(details.read_text())
    assert d["questions"] == 4 and not d["failed_documents"]
    assert all(x["page"] == 1 and x["bbox"] for x in d["details"] if x["answer"])
    # a loose floor (the full set measured 0.99): catches a broken OCR -> engine -> QA chain
    assert d["anls"] >= 0.5
