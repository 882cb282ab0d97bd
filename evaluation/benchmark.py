"""Accuracy and speed in one run: extraction over a (labelled) folder, then scores and throughput.

In: a folder of documents, optionally with labels in a known format, and ``PipelineOptions``.
Out: a ``BenchmarkResult`` with documents, pages, wall time, pages/s, s/page, peak RSS (this
process and its worker children, from ``resource.getrusage``), per-stage timings and, when
labelled, the ``ExtractionScore`` (per-field accuracy, line-item F1). Records can be written to a
JSONL file as they come. The ``no labels`` mode is the speed/memory benchmark over any folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.readers import DatasetError, GoldDoc, doc_key, read_gold
from evaluation.score import ExtractionScore, score_extraction

if TYPE_CHECKING:
    from docvlm.pipeline import Pipeline

_log = logging.getLogger(__name__)


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident set size in MiB of this process and of its largest finished child."""
    # Linux reports kilobytes, macOS bytes
    unit = 1 if sys.platform == "darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * unit / 2**20
    return own, children


def current_rss_mb() -> float | None:
    """Resident set size of this process now, in MiB (Linux); None where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class BenchmarkResult:
    """What one benchmark run measured."""

    documents: int
    pages: int
    errors: int
    seconds: float
    peak_rss_mb: float
    peak_rss_children_mb: float
    stage_seconds: dict[str, float] = field(default_factory=dict)
    score: ExtractionScore | None = None
    workers: int = 1
    #: RSS after each tenth of the batch: flat numbers mean memory does not grow with batch size
    rss_trace_mb: list[float] = field(default_factory=list)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    @property
    def s_per_page(self) -> float:
        return self.seconds / self.pages if self.pages else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "documents": self.documents,
            "pages": self.pages,
            "errors": self.errors,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "pages_per_s": round(self.pages_per_s, 3),
            "s_per_page": round(self.s_per_page, 4),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "peak_rss_children_mb": round(self.peak_rss_children_mb, 1),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "rss_trace_mb": [round(v, 1) for v in self.rss_trace_mb],
        }
        if self.score is not None:
            s = self.score
            out["accuracy"] = round(s.overall.accuracy, 4)
            out["fields"] = {k: v.to_dict() for k, v in s.per_field.items()}
            out["line_items"] = {**s.line_items.to_dict(), "documents": s.line_item_docs}
            out["ece"] = round(s.ece, 4)
        return out

    def summary(self) -> str:
        """Human-readable report: speed first, then accuracy when labelled."""
        lines = [
            f"documents {self.documents}  pages {self.pages}  errors {self.errors}  workers {self.workers}",
            f"wall {self.seconds:.2f} s  {self.pages_per_s:.3f} pages/s  {self.s_per_page:.3f} s/page",
            f"peak RSS {self.peak_rss_mb:.0f} MiB (largest worker {self.peak_rss_children_mb:.0f} MiB)",
        ]
        if self.rss_trace_mb:
            lines.append(
                "RSS after each tenth of the batch (MiB): " + " ".join(f"{v:.0f}" for v in self.rss_trace_mb)
            )
        if self.stage_seconds:
            lines.append("stages: " + "  ".join(f"{k} {v:.2f} s" for k, v in self.stage_seconds.items()))
        if self.score is not None:
            s = self.score
            lines.append(
                f"field accuracy {s.overall.accuracy:.3f}  precision {s.overall.precision:.3f}  "
                f"recall {s.overall.recall:.3f}  (n={s.overall.n}, present={s.overall.present}; accuracy "
                "is over the fields present in the gold or the prediction)"
            )
            for name, st in s.per_field.items():
                anls = f"  ANLS {st.anls:.3f}" if st.anls is not None else ""
                lines.append(f"  {name:<18} acc {st.accuracy:.3f}  n={st.n} present={st.present}{anls}")
            if s.line_item_docs:
                li = s.line_items
                lines.append(
                    f"line items F1 {li.f1:.3f}  P {li.precision:.3f}  R {li.recall:.3f}  "
                    f"(tp {li.tp}, fp {li.fp}, fn {li.fn}; {s.line_item_docs} documents)"
                )
            lines.append(f"calibration ECE {s.ece:.3f}")
            if s.missing_predictions:
                lines.append("no prediction for: " + ", ".join(s.missing_predictions))
        return "\n".join(lines)


def run_benchmark(
    pipeline: Pipeline,
    data: str | Path,
    labels: str | None = None,
    gold_path: str | Path | None = None,
    output: str | Path | None = None,
    limit: int | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> BenchmarkResult:
    """Run ``pipeline`` over ``data`` and measure it; score against labels when ``labels`` is given.

    With labels, the documents are those the labels name (found next to the label files, or in
    ``data``); without, every document in ``data`` is run. Records go to ``output`` (JSONL) when given.
    """
    data = Path(data)
    if not data.exists():
        raise DatasetError(f"data folder not found: {data}")
    gold: dict[str, GoldDoc] | None = None
    if labels is not None:
        gold = read_gold(gold_path or data, labels)
        inputs = [_document_for(g, data) for g in gold.values()]
        missing = [g.key for g, p in zip(gold.values(), inputs, strict=True) if p is None]
        if missing:
            _log.warning("no document found for labels: %s", ", ".join(missing))
        sources: list[str | Path] = [p for p in inputs if p is not None]
    else:
        from docvlm.ingest import iter_sources

        sources = list(iter_sources([data]))
    if limit is not None:
        sources = sources[:limit]
    records: dict[str, dict[str, Any]] = {}
    pages = errors = n_docs = 0
    stage: dict[str, float] = {}
    trace: list[float] = []
    expected = len(sources)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        out_fh = stack.enter_context(Path(output).open("w", encoding="utf-8")) if output else None
        for ex in pipeline.run(sources):
            rec = ex.to_record()
            n_docs += 1
            pages += int(rec.get("pages") or 0)
            errors += rec.get("status") == "error"
            for k, v in (rec.get("timings") or {}).items():
                stage[k] = stage.get(k, 0.0) + float(v)
            if gold is not None:
                records[doc_key(rec["source"])] = rec
            if out_fh is not None:
                out_fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if on_record is not None:
                on_record(rec)
            if expected and (n_docs * 10) // expected > len(trace):
                rss = current_rss_mb()
                if rss is not None:
                    trace.append(rss)
    seconds = time.perf_counter() - t0
    own, children = peak_rss_mb()
    score = None
    if gold is not None:
        scored_gold = {k: v for k, v in gold.items() if k in records} if limit is not None else gold
        score = score_extraction(records, scored_gold)
    return BenchmarkResult(
        documents=n_docs,
        pages=pages,
        errors=int(errors),
        seconds=seconds,
        peak_rss_mb=own,
        peak_rss_children_mb=children,
        stage_seconds=dict(sorted(stage.items())),
        score=score,
        workers=pipeline.options.workers,
        rss_trace_mb=trace,
    )


def _document_for(gold: GoldDoc, data: Path) -> Path | None:
    if gold.document and Path(gold.document).is_file():
        return Path(gold.document)
    for suffix in (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        for folder in (data, data / "img", data / "pdfs"):
            cand = folder / f"{gold.key}{suffix}"
            if cand.is_file():
                return cand
    return None
