"""``docvlm eval`` commands through Typer's runner: exit codes, outputs, and end-to-end runs on
small born-digital PDFs (text layer, so no OCR) and on the shared invoice2data set."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest
from typer.testing import CliRunner

from evaluation.cli import eval_app

runner = CliRunner()


def _make_invoice(path: Path, number: str, total: str) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 60), "Northwind Traders Ltd", fontsize=16)
    page.insert_text((72, 80), "12 Harbour Road, Bristol BS1 4DJ", fontsize=10)
    page.insert_text((350, 130), f"Invoice number: {number}", fontsize=10)
    page.insert_text((350, 146), "Invoice date: 14/02/2024", fontsize=10)
    page.insert_text((72, 200), "Description", fontsize=10)
    page.insert_text((400, 200), "Amount", fontsize=10)
    page.insert_text((72, 220), "Consulting services", fontsize=10)
    page.insert_text((400, 220), total, fontsize=10)
    page.insert_text((320, 280), "Total due", fontsize=11)
    page.insert_text((400, 280), f"EUR {total}", fontsize=11)
    doc.save(path)
    doc.close()


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, number, total in (("a", "NW-1001", "250.00"), ("b", "NW-1002", "99.50")):
        _make_invoice(folder / f"{name}.pdf", number, total)
        (folder / f"{name}.json").write_text(
            json.dumps([{"invoice_number": number, "date": "2024-02-14", "amount": float(total)}]),
            encoding="utf-8",
        )
    return folder


def _records(path: Path) -> Path:
    recs = [
        {"source": "docs/a.pdf", "status": "ok", "data": {"invoice_number": "NW-1001", "total": "250.00"}},
        {"source": "docs/b.pdf", "status": "ok", "data": {"invoice_number": "NW-1002", "total": "1.00"}},
    ]
    f = path / "out.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return f


def test_extract_prints_field_table(labelled: Path, tmp_path: Path) -> None:
    pred = _records(tmp_path)
    out_json = tmp_path / "scores.json"
    res = runner.invoke(
        eval_app,
        [
            "extract",
            "--pred",
            str(pred),
            "--gold",
            str(labelled),
            "--labels",
            "invoice2data",
            "--json",
            str(out_json),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "| invoice_number | 2 | 2 | 1.000 |" in res.output
    assert "| total | 2 | 2 | 0.500 |" in res.output
    assert "null on both sides is left out" in res.output
    assert json.loads(out_json.read_text())["fields"]["invoice_date"]["fn"] == 2


def test_usage_errors_exit_2(labelled: Path, tmp_path: Path) -> None:
    pred = _records(tmp_path)
    res = runner.invoke(
        eval_app, ["extract", "--pred", str(pred), "--gold", str(labelled), "--labels", "bogus"]
    )
    assert res.exit_code == 2 and "unknown label format" in res.output
    res = runner.invoke(
        eval_app, ["extract", "--pred", str(tmp_path / "nope.jsonl"), "--gold", str(labelled)]
    )
    assert res.exit_code == 2
    res = runner.invoke(eval_app, ["report", "--pred", str(pred), "--gold", str(labelled)])
    assert res.exit_code == 2  # no output asked for
    res = runner.invoke(eval_app, ["benchmark", "--data", str(labelled)])
    assert res.exit_code == 2  # neither --labels nor --no-labels
    res = runner.invoke(eval_app, ["docvqa", "--dataset", str(tmp_path / "missing.json")])
    assert res.exit_code == 2
    res = runner.invoke(eval_app, ["extract"])
    assert res.exit_code == 2  # Typer's own usage error


def test_report_writes_html(labelled: Path, tmp_path: Path) -> None:
    pred = _records(tmp_path)
    html = tmp_path / "r.html"
    res = runner.invoke(
        eval_app, ["report", "--pred", str(pred), "--gold", str(labelled), "--html", str(html)]
    )
    assert res.exit_code == 0, res.output
    assert html.is_file() and "data:image/png;base64," in html.read_text()


def test_report_without_matplotlib_names_the_extra(
    labelled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as on a core install: import fails
    pred = _records(tmp_path)
    html = tmp_path / "r.html"
    res = runner.invoke(
        eval_app, ["report", "--pred", str(pred), "--gold", str(labelled), "--html", str(html)]
    )
    assert res.exit_code == 2, res.output
    assert "pip install 'docvlm[eval]'" in res.output and not html.exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_docvqa_end_to_end(labelled: Path, tmp_path: Path, workers: int) -> None:
    dataset = tmp_path / "qa.json"
    dataset.write_text(
        json.dumps(
            {
                "dataset_name": "tiny",
                "dataset_split": "test",
                "data": [
                    {
                        "questionId": 1,
                        "question": "What is the invoice number?",
                        "image": "a.png",
                        "docId": "a",
                        "answers": ["NW-1001"],
                        "question_types": ["form"],
                    },
                    {
                        "questionId": 2,
                        "question": "What is the date?",
                        "image": "a.pdf",
                        "docId": "a",
                        "answers": ["14/02/2024"],
                        "question_types": ["form"],
                    },
                    {
                        "questionId": 3,
                        "question": "What is the captain's name?",
                        "image": "b.pdf",
                        "docId": "b",
                        "answers": [""],
                        "question_types": ["other"],
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    sub = tmp_path / "pred.json"
    res = runner.invoke(
        eval_app,
        [
            "docvqa",
            "--dataset",
            str(dataset),
            "--root",
            str(labelled),
            "-o",
            str(sub),
            "--workers",
            str(workers),
        ],
    )
    assert res.exit_code == 0, res.output
    preds = json.loads(sub.read_text())
    assert [p["questionId"] for p in preds] == [1, 2, 3]
    assert preds[0]["answer"] == "NW-1001"
    assert preds[1]["answer"] == "14/02/2024"
    assert preds[2]["answer"] == ""
    assert "ANLS 1.0000 over 3 questions" in res.output
    assert "form" in res.output and "other" in res.output


def test_benchmark_labelled_and_speed_only(labelled: Path, tmp_path: Path) -> None:
    out = tmp_path / "recs.jsonl"
    js = tmp_path / "bench.json"
    res = runner.invoke(
        eval_app,
        ["benchmark", "--data", str(labelled), "--labels", "invoice2data", "-o", str(out), "--json", str(js)],
    )
    assert res.exit_code == 0, res.output
    assert "pages/s" in res.output and "peak RSS" in res.output and "field accuracy" in res.output
    m = json.loads(js.read_text())
    assert m["documents"] == 2 and m["pages"] == 2 and m["peak_rss_mb"] > 0
    assert m["fields"]["invoice_number"]["accuracy"] == 1.0
    assert len(out.read_text().splitlines()) == 2
    res = runner.invoke(eval_app, ["benchmark", "--data", str(labelled), "--no-labels", "--json", str(js)])
    assert res.exit_code == 0, res.output
    m = json.loads(js.read_text())
    assert m["documents"] == 2 and "fields" not in m


def test_run_docvqa_groups_failures_and_unlabelled(tmp_path: Path) -> None:
    from docvlm.datamodel import Page
    from docvlm.errors import IngestError
    from evaluation.docvqa import run_docvqa
    from schemas.docvqa import Answer

    for name in ("ok.png", "broken.png", "test.png"):
        (tmp_path / name).write_bytes(name.encode())
    data = [
        {
            "questionId": 1,
            "question": "q",
            "image": "ok.png",
            "docId": "ok",
            "answers": ["abcd"],
            "question_types": ["t1"],
        },
        {
            "questionId": 2,
            "question": "q",
            "image": "ok.png",
            "docId": "ok",
            "answers": ["zz"],
            "question_types": ["t2"],
        },
        {"questionId": 3, "question": "q", "image": "broken.png", "docId": "broken", "answers": ["x"]},
        {"questionId": 4, "question": "q", "image": "test.png", "docId": "test", "answers": []},
    ]
    ds = tmp_path / "qa.json"
    ds.write_text(json.dumps({"data": data}), encoding="utf-8")
    opened: list[str] = []

    def load(path: Path) -> list[Page]:
        opened.append(path.name)
        if path.name == "broken.png":
            raise IngestError("corrupt")
        return [Page(number=1, width=10, height=10, unit="px")]

    res = run_docvqa(ds, tmp_path, load, lambda pages, q: Answer(answer="abce"))
    assert opened == ["ok.png", "broken.png", "test.png"]  # each document opened once
    assert [p.answer for p in res.predictions] == ["abce", "abce", "", "abce"]
    assert res.n == 3  # question 4 has no gold answers
    assert res.anls == pytest.approx((0.75 + 0 + 0) / 3)
    assert res.per_type["t1"].anls == pytest.approx(0.75) and res.per_type["t2"].anls == 0.0
    assert res.per_document["ok"].n == 2 and "test" not in res.per_document
    assert list(res.failed_documents) == [str(tmp_path / "broken.png")]
    assert "ANLS 0.2500 over 3 questions" in res.summary()


def test_run_docvqa_reads_files_with_the_same_bytes_once(tmp_path: Path) -> None:
    from docvlm.datamodel import Page
    from evaluation.docvqa import run_docvqa
    from schemas.docvqa import Answer

    (tmp_path / "a.png").write_bytes(b"same scan")
    (tmp_path / "copy.png").write_bytes(b"same scan")
    (tmp_path / "other.png").write_bytes(b"another scan")
    data = [
        {"questionId": i, "question": f"q{i}", "image": img, "answers": ["x"]}
        for i, img in enumerate(["a.png", "copy.png", "other.png", "a.png"], start=1)
    ]
    ds = tmp_path / "qa.json"
    ds.write_text(json.dumps({"data": data}), encoding="utf-8")
    opened: list[str] = []

    def load(path: Path) -> list[Page]:
        opened.append(path.name)
        return [Page(number=1, width=10, height=10, unit="px")]

    res = run_docvqa(ds, tmp_path, load, lambda pages, q: Answer(answer=q))
    assert opened == ["a.png", "other.png"]
    # every question keeps its own answer, in the dataset's order
    assert [p.answer for p in res.predictions] == ["q1", "q2", "q3", "q4"]
