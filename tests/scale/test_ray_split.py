"""A file of several invoices on Ray: one row per invoice, as the local pipeline gives."""

from __future__ import annotations

from pathlib import Path

from docvlm.pipeline import Pipeline
from docvlm.scale import RayOptions, extract_dataset, records
from evaluation.split_eval import concat_pdfs

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_a_bundle_gives_a_row_per_invoice(ray_cluster, tmp_path: Path) -> None:
    singles = [SAMPLES / "invoice_us_cedar_ridge.pdf", SAMPLES / "rechnung_de_nordlicht.pdf"]
    bundle = tmp_path / "bundle.pdf"
    ranges = concat_pdfs(bundle, [*singles, singles[0]])
    rows = sorted(records(extract_dataset([str(bundle)], RayOptions(concurrency=1))), key=lambda r: r["part"])
    assert [(r["part"], r["parts"], tuple(r["page_range"])) for r in rows] == [
        (i, 3, rng) for i, rng in enumerate(ranges, start=1)
    ]
    pipe = Pipeline()
    try:
        local = [ex.to_record() for ex in pipe.run([bundle])]
    finally:
        pipe.close()
    assert [r["data"] for r in rows] == [r["data"] for r in local]
