"""Accuracy and speed in one run: extraction over a (labelled) folder, then scores and throughput.

In: a folder of documents, optionally with labels in a known format, and ``PipelineOptions``.
Out: a ``BenchmarkResult``: documents, pages, wall and CPU time, pages/s; the floor (PyMuPDF
opening the same PDF files and reading ``get_text("words")``, timed in the same run) and docvlm's
time as a multiple of it; for scans (documents that went through OCR) seconds a page at p50, p90
and max; peak RSS per worker; per-stage timings and, when labelled, the ``ExtractionScore``
(per-field accuracy, line-item F1). ``via_cli`` runs ``docvlm extract`` in a child process over
the same files, so start-up (interpreter, imports, model loading) is inside the wall time.

Where the time goes (py-spy over ``docvlm extract /tmp/bench/pdf --workers 1``, parent and worker,
on the 400 one-page copies of the shared invoices, 2 December 2026 on the born-digital speed branch
(s9-speed); shares of the samples of both processes, and CPU ms a page from those shares of the
run's ~11.4 s of CPU, ~28 ms a page; load 2-3 on the 2 cores. This benchmark, base and branch
alternating three times: wall 10.3-12.4 s against 10.8-13.0 s, 5.4-6.8x the floor against 6.5-7.6x):
- the layout engine 47% (~13 ms a page, the e-invoices' cross-check included): the line-item
  tables 13% (the table model's reading 10), the header rules 16% (seller 4.6, keyed fields 2.9,
  party ids 2.3, amounts 1.9), the chooser 14% (pool 5.2, features 5.4, then the boosters), text
  lines 2.7, the receipt signal 1.6. Regular expressions, mostly the lexicon's case-insensitive
  label alternations tried at every word start, are about a tenth of all CPU (``perf``:
  ``sre_ucs1_match``, ``_PyUnicode_ToLowercase``); the hot ones are compiled once, as constants;
- ingest ~25% (~7 ms a page), of which PyMuPDF's words (the floor) 14, opening and hashing 3.8,
  the text-layer check 1.7; an e-invoice copy (1 in 8 here) also reads its XML and runs the layout
  engine's header pass for its cross-check: 7.9% over the batch (the cross-check and grounding
  search one ``PageIndex`` of its pages);
- start-up: imports ~13% of the samples (both interpreters compile the project's modules again
  under ``PYTHONDONTWRITEBYTECODE=1``; pymupdf ~0.15 s, the lexicon's patterns ~0.1 s). The CLI
  starts its worker before it reads its settings (``docvlm.spawn.start_worker_early``): the
  worker imports the pipeline meanwhile and is ready ~0.9-1.0 s after the parent starts (was
  1.1-1.3 s). At the end the worker leaves with ``os._exit`` and the parent freezes its objects
  at exit, so neither pays for the interpreter's finalization (0.27 s and 0.10 s before), and the
  parent wakes on the worker's pipe closing rather than on ``Popen.wait``'s 50 ms polls;
- the messages to the parent (each record, each document's progress): 0.18 s of the worker's
  time, timed around its sends;
- scans: text detection and line recognition (onnxruntime) are most of a page; at 600 dpi the
  decode of the image, and before resampling, deskew and crops of the full-resolution page.
  Per-stage CPU on 20 SROIE receipts, one thread (1 December 2026, load 3-4 on the 2 cores):
  detection 0.74 s a receipt (26%), recognition 1.84 s (65%: ~53 line pieces, ~35 ms each,
  convolutions 69% of it, cost linear in the width read), the rest 0.26 s; a 600 dpi A4 render
  5.5-6 s (recognition ~3, detection ~0.5-1, the resample 0.4, line measures 0.2). On the 98
  scans of the README (2 workers) OCR CPU s/page went p50 3.25 -> 3.12, max 8.86 -> 8.11 with the
  OpenCV deskew and the recogniser's emptied arena (main at load 3-7, the branch at 8-10);
  peak RSS 422 -> 415 MiB per worker.

Re-profiled 3 December 2026 on a quieter machine (load under 1.1; this CPU has AVX-512 VNNI):
- born-digital, the same py-spy run: PyMuPDF's text page (``page_get_textpage``, the floor's own
  work) 13.7% of all samples, the parent waiting on its worker 11.3%, imports and compiling ~5%;
  the rest is spread over the rules and features, no function above 2.1% of its own
  (``classify_amount_label`` was the top one; it is memoised now). Wall 4.6-5.2 s for the 400
  copies, 4.5-4.7x the floor;
- scans, in one process and one thread, 8 SROIE receipts: 1.46 s a receipt, detection 0.71 s
  (0.68 MP a receipt) and recognition 0.72 s (62 pieces, 213 px wide on average, ~11.6 ms each).
  The int8 detector (``DOCVLM_OCR_DETECTOR=int8``, ``docvlm.ocr.int8``) takes detection to about
  a quarter: 20 receipts 1.58 -> 1.06 s each in ``ocr_cer.py``.

4 December 2026, another machine (AMD EPYC, AVX2, no AVX-512 or VNNI; the ``machine`` line):
- scans, one thread, 14 SROIE receipts: 1.97-2.21 s a receipt, detection 0.50-0.58 s and
  recognition 1.38-1.53 s (54 pieces, ~12,000 columns at 48 px; onnxruntime's profile of the
  recogniser: convolutions 74%, GELU 8%, the attention's MatMuls 9%; 0.095 ms a column, linear in
  the width, no cost per distinct shape). The int8 detector: 0.52 s, no gain without VNNI;
  graph optimisation levels and flushing denormals moved nothing beyond noise;
- born-digital: 8.3-11.9 s for the 400 copies, 4.8-6.8x the floor; the engine ~16 ms a page.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docvlm.hardware import CPU_FEATURES, this_cpu
from evaluation.readers import DatasetError, GoldDoc, doc_key, read_gold
from evaluation.score import ExtractionScore, score_extraction

if TYPE_CHECKING:
    from docvlm.pipeline import Pipeline

_log = logging.getLogger(__name__)

_REPO = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident set size in MiB of this process and of its largest finished child."""
    # Linux reports kilobytes, macOS bytes
    unit = 1 if sys.platform == "darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * unit / 2**20
    return own, children


def _rss_of(status: Path) -> float | None:
    try:
        with status.open(encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def current_rss_mb() -> float | None:
    """Resident set size of this process now, in MiB (Linux); None where /proc is missing."""
    return _rss_of(Path("/proc/self/status"))


def largest_child_rss_mb() -> float | None:
    """Resident set size now of this process's largest live child (a worker), in MiB; None if none."""
    best: float | None = None
    with contextlib.suppress(OSError):
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError):
                for pid in (task / "children").read_text().split():
                    rss = _rss_of(Path("/proc") / pid / "status")
                    if rss is not None and (best is None or rss > best):
                        best = rss
    return best


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation; 0.0 for no values."""
    xs = sorted(values)
    if not xs:
        return 0.0
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _spread(values: Sequence[float]) -> str:
    """``p50 .. p90 .. max ..`` of ``values``, as the summary prints them."""
    return f"p50 {percentile(values, 0.5):.2f}  p90 {percentile(values, 0.9):.2f}  max {max(values):.2f}"


@dataclass
class Machine:
    """The machine a run measured: figures from two machines are not comparable, ratios from one run are."""

    cpu: str
    cores: int
    features: tuple[str, ...]
    load: tuple[float, float]  # the 1-minute load average at the start and at the end of the run

    def summary(self) -> str:
        feats = " ".join(self.features) or "none of " + " ".join(CPU_FEATURES)
        return (
            f"machine {self.cpu}, {self.cores} cores ({feats}); load {self.load[0]:.2f} -> {self.load[1]:.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu": self.cpu,
            "cores": self.cores,
            "features": list(self.features),
            "load": list(self.load),
        }


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # not on every platform
        return float("nan")


def machine_info(load_at_start: float) -> Machine:
    """This machine: CPU model and features (``docvlm.hardware``), cores, load."""
    name, feats = this_cpu()
    return Machine(
        cpu=name,
        cores=os.cpu_count() or 1,
        features=feats,
        load=(load_at_start, _load()),
    )


@dataclass
class Floor:
    """PyMuPDF opening each PDF and reading ``get_text("words")`` of every page: the least any
    text-layer extraction can cost on these files."""

    seconds: float
    files: int
    pages: int

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0


def pymupdf_floor(paths: Sequence[str | Path]) -> Floor:
    """Time the floor over the PDF files among ``paths`` (other files are left out)."""
    import pymupdf

    pdfs = [Path(p) for p in paths if Path(p).suffix.lower() == ".pdf"]
    pages = 0
    t0 = time.perf_counter()
    for p in pdfs:
        try:
            doc = pymupdf.open(p)
        except Exception as exc:  # a broken file costs what it costs; the floor goes on
            _log.debug("floor: cannot open %s: %s", p, exc)
            continue
        with doc:
            for i in range(doc.page_count):
                doc.load_page(i).get_text("words")
                pages += 1
    return Floor(seconds=time.perf_counter() - t0, files=len(pdfs), pages=pages)


@dataclass
class ChooserCost:
    """CPU time of the layout engine's chooser on born-digital pages: the candidate pool
    (``build_pool``) and the scoring (``apply_model``: features, the boosters' prediction, the choice)."""

    documents: int
    pages: int
    pool_s: float
    score_s: float

    @property
    def ms_per_page(self) -> float:
        return 1000 * (self.pool_s + self.score_s) / self.pages if self.pages else 0.0

    def summary(self) -> str:
        per = (lambda s: 1000 * s / self.pages) if self.pages else (lambda s: 0.0)
        return (
            f"chooser (features + prediction) {self.ms_per_page:.2f} ms CPU a page: pool {per(self.pool_s):.2f}, "
            f"features and prediction {per(self.score_s):.2f}  ({self.documents} born-digital documents, "
            f"{self.pages} pages, in this process)"
        )


def chooser_cost(pipeline: Pipeline, paths: Sequence[str | Path]) -> ChooserCost:
    """Time the chooser of the layout engine on the PDF pages of ``paths`` read from their text layer.

    The rules run first (untimed); the chooser's two steps are timed in CPU seconds, as the engine
    runs them (``LayoutEngine.extract``). Documents with an OCR'd page or no chooser input are left out,
    and so is the first document: it pays the process's one-off costs (lazy imports, pattern compiles).
    """
    from docvlm.datamodel import WordSource
    from docvlm.engines.layout.candidates.pool import build_pool
    from docvlm.engines.layout.layout_engine import LayoutEngine, rule_pass
    from docvlm.engines.layout.ranker import apply_model
    from docvlm.errors import DocvlmError

    engine = pipeline.engine
    if not isinstance(engine, LayoutEngine) or engine.model is None:
        raise DatasetError(
            "the chooser is the layout engine's model: run with the layout engine and its model"
        )
    model, opts = engine.model, engine.options
    cost = ChooserCost(0, 0, 0.0, 0.0)
    warm = False
    for path in paths:
        if Path(path).suffix.lower() != ".pdf":
            continue
        try:
            pages = pipeline.load_pages(path)
        except DocvlmError as exc:
            _log.debug("chooser: cannot read %s: %s", path, exc)
            continue
        if not pages or any(p.word_source != WordSource.TEXT_LAYER for p in pages):
            continue
        rp = rule_pass(pages, opts.dayfirst, opts.line_items, opts.model, opts.use_model)
        if not any(pl.lines for pl in rp.pls):
            continue
        t0 = time.process_time()
        kinds = model.kinds_for(rp.signal.is_receipt, rp.header)
        pool = build_pool(rp.pls, rp.header, rp.signal.is_receipt, rp.table_boxes, kinds)
        t1 = time.process_time()
        apply_model(model, pool, rp.header, rp.table_boxes, rp.line_sum, opts.min_confidence)
        t2 = time.process_time()
        if not warm:
            warm = True
            continue
        cost.documents += 1
        cost.pages += len(pages)
        cost.pool_s += t1 - t0
        cost.score_s += t2 - t1
    return cost


def _is_scan(rec: dict[str, Any]) -> bool:
    return float((rec.get("timings") or {}).get("ocr_s") or 0.0) > 0.0


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
    #: RSS after each tenth of the batch (of the largest worker when there are workers): flat
    #: numbers mean memory does not grow with batch size
    rss_trace_mb: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    via_cli: bool = False
    ocr: str = ""  # the OCR backend and RapidOCR detector the scans went through ("rapidocr, float detector")
    floor: Floor | None = None
    #: pages of documents read from their text layer, and their seconds inside the worker
    text_pages: int = 0
    text_seconds: float = 0.0
    #: seconds a page (document time in the worker / its pages) of each document that was OCR'd
    scan_page_seconds: list[float] = field(default_factory=list)
    #: the same documents' OCR CPU seconds a page: on a shared machine, what the neighbours cannot inflate
    scan_page_cpu_seconds: list[float] = field(default_factory=list)
    scan_pages: int = 0
    machine: Machine | None = None

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    @property
    def s_per_page(self) -> float:
        return self.seconds / self.pages if self.pages else 0.0

    @property
    def peak_rss_worker_mb(self) -> float:
        """Peak RSS of the process that did the work: the largest worker, or this process with one."""
        return self.peak_rss_children_mb if (self.workers > 1 or self.via_cli) else self.peak_rss_mb

    @property
    def floor_ratio(self) -> float | None:
        """docvlm's time as a multiple of the floor: the whole wall time when every document is
        born-digital, else the born-digital documents' time in the workers."""
        if self.floor is None or self.floor.seconds <= 0 or not self.floor.pages:
            return None
        if not self.scan_page_seconds:
            return self.seconds / self.floor.seconds
        return self.text_seconds / self.floor.seconds if self.text_pages else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "documents": self.documents,
            "pages": self.pages,
            "errors": self.errors,
            "workers": self.workers,
            "via_cli": self.via_cli,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "pages_per_s": round(self.pages_per_s, 3),
            "s_per_page": round(self.s_per_page, 4),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "peak_rss_children_mb": round(self.peak_rss_children_mb, 1),
            "peak_rss_worker_mb": round(self.peak_rss_worker_mb, 1),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "rss_trace_mb": [round(v, 1) for v in self.rss_trace_mb],
            "text_pages": self.text_pages,
            "text_seconds": round(self.text_seconds, 3),
        }
        if self.machine is not None:
            out["machine"] = self.machine.to_dict()
        if self.floor is not None:
            out["floor"] = {
                "seconds": round(self.floor.seconds, 3),
                "files": self.floor.files,
                "pages": self.floor.pages,
                "pages_per_s": round(self.floor.pages_per_s, 1),
            }
            ratio = self.floor_ratio
            out["floor_ratio"] = None if ratio is None else round(ratio, 2)
        if self.scan_page_seconds:
            xs = self.scan_page_seconds
            out["scans"] = {
                "ocr": self.ocr,
                "documents": len(xs),
                "pages": self.scan_pages,
                "s_per_page_p50": round(percentile(xs, 0.5), 3),
                "s_per_page_p90": round(percentile(xs, 0.9), 3),
                "s_per_page_max": round(max(xs), 3),
            }
            if self.scan_page_cpu_seconds:
                cs = self.scan_page_cpu_seconds
                out["scans"].update(
                    ocr_cpu_s_per_page_p50=round(percentile(cs, 0.5), 3),
                    ocr_cpu_s_per_page_p90=round(percentile(cs, 0.9), 3),
                    ocr_cpu_s_per_page_max=round(max(cs), 3),
                )
        if self.score is not None:
            s = self.score
            out["accuracy"] = round(s.overall.accuracy, 4)
            out["fields"] = {k: v.to_dict() for k, v in s.per_field.items()}
            out["line_items"] = {**s.line_items.to_dict(), "documents": s.line_item_docs}
            out["ece"] = round(s.ece, 4)
        return out

    def summary(self) -> str:
        """Human-readable report: speed first, then accuracy when labelled."""
        how = "through the CLI, start-up included" if self.via_cli else "in this process"
        lines = [
            f"documents {self.documents}  pages {self.pages}  errors {self.errors}  workers {self.workers}  ({how})",
            f"docvlm  wall {self.seconds:.2f} s  {self.pages_per_s:.3f} pages/s  {self.s_per_page:.3f} s/page  "
            f"CPU {self.cpu_seconds:.1f} s",
        ]
        if self.machine is not None:
            lines.append(self.machine.summary())
        if self.floor is not None and self.floor.pages:
            f = self.floor
            lines.append(
                f'floor   PyMuPDF open + get_text("words"): {f.seconds:.2f} s  {f.pages_per_s:.1f} pages/s  '
                f"({f.files} PDF files, {f.pages} pages)"
            )
            ratio = self.floor_ratio
            if ratio is not None:
                what = "wall time" if not self.scan_page_seconds else "born-digital documents' time"
                lines.append(f"ratio   docvlm's {what} is {ratio:.1f}x the floor")
        if self.text_pages and self.scan_page_seconds:
            lines.append(f"born-digital {self.text_pages} pages: {self.text_seconds:.2f} s in the workers")
        if self.scan_page_seconds:
            xs = self.scan_page_seconds
            lines.append(
                f"scans   {len(xs)} documents, {self.scan_pages} pages ({self.ocr}): s/page {_spread(xs)}"
            )
            if self.scan_page_cpu_seconds:
                lines.append(f"        OCR CPU s/page {_spread(self.scan_page_cpu_seconds)}")
        lines.append(
            f"peak RSS per worker {self.peak_rss_worker_mb:.0f} MiB  (this process {self.peak_rss_mb:.0f} MiB, "
            f"largest child {self.peak_rss_children_mb:.0f} MiB)"
        )
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


def _sources(
    data: Path, labels: str | None, gold_path: str | Path | None, limit: int | None
) -> tuple[list[str | Path], dict[str, GoldDoc] | None]:
    gold: dict[str, GoldDoc] | None = None
    if labels is not None:
        gold = read_gold(gold_path or data, labels)
        inputs = [_document_for(g, data) for g in gold.values()]
        missing = [g.key for g, p in zip(gold.values(), inputs, strict=True) if p is None]
        if missing:
            _log.warning("no document found for labels: %s", ", ".join(missing))
        sources: list[str | Path] = [p for p in inputs if p is not None]
    else:
        from docvlm.sources import iter_sources

        sources = list(iter_sources([data]))
    if limit is not None:
        sources = sources[:limit]
    return sources, gold


def _warm(paths: Sequence[str | Path]) -> None:
    """Read every file once, so neither docvlm nor the floor pays for a cold disk cache."""
    for p in paths:
        with contextlib.suppress(OSError), open(p, "rb") as fh:
            while fh.read(1 << 20):
                pass


def _cli_records(
    pipeline: Pipeline, sources: Sequence[str | Path], output: Path
) -> tuple[list[dict[str, Any]], float]:
    """Run ``docvlm extract`` over ``sources`` in a child process; (records, wall seconds)."""
    opts = pipeline.options
    if opts.engine.kind != "layout":
        raise DatasetError("the CLI benchmark runs the layout engine only")
    cmd = [
        sys.executable,
        str(_REPO / "cli.py"),
        "extract",
        *map(str, sources),
        "-o",
        str(output),
        "--no-progress",
        "--workers",
        str(opts.workers),
        "--dpi",
        str(opts.ingest.dpi),
        "--ocr",
        opts.ocr.backend,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=os.environ.copy())
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # 1: some records are errors, which the tally counts
        raise DatasetError(f"docvlm extract failed (exit {proc.returncode}): {proc.stderr[-800:]}")
    with output.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()], seconds


def run_benchmark(
    pipeline: Pipeline,
    data: str | Path,
    labels: str | None = None,
    gold_path: str | Path | None = None,
    output: str | Path | None = None,
    limit: int | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    via_cli: bool = False,
    floor: bool = True,
) -> BenchmarkResult:
    """Run ``pipeline`` over ``data`` and measure it; score against labels when ``labels`` is given.

    With labels, the documents are those the labels name (found next to the label files, or in
    ``data``); without, every document in ``data`` is run. Records go to ``output`` (JSONL) when
    given. ``via_cli`` runs ``docvlm extract`` with the pipeline's options in a child process
    instead (start-up included); ``floor`` also times PyMuPDF over the same PDF files.
    """
    data = Path(data)
    if not data.exists():
        raise DatasetError(f"data folder not found: {data}")
    load0 = _load()
    sources, gold = _sources(data, labels, gold_path, limit)
    _warm(sources)
    floor_result = pymupdf_floor(sources) if floor else None
    cpu0 = _cpu_seconds()
    trace: list[float] = []
    if via_cli:
        with tempfile.TemporaryDirectory(prefix="docvlm-bench-") as tmp:
            out = Path(output) if output else Path(tmp) / "records.jsonl"
            recs, seconds = _cli_records(pipeline, sources, out)
        for rec in recs:
            if on_record is not None:
                on_record(rec)
    else:
        recs = []
        expected = len(sources)
        sample = largest_child_rss_mb if pipeline.options.workers > 1 else current_rss_mb
        t0 = time.perf_counter()
        with contextlib.ExitStack() as stack:
            out_fh = stack.enter_context(Path(output).open("w", encoding="utf-8")) if output else None
            for ex in pipeline.run(sources):
                rec = ex.to_record()
                recs.append(rec)
                if out_fh is not None:
                    out_fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                if on_record is not None:
                    on_record(rec)
                if expected and (len(recs) * 10) // expected > len(trace):
                    rss = sample()
                    if rss is not None:
                        trace.append(rss)
        seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    own, children = peak_rss_mb()
    result = BenchmarkResult(
        documents=len(recs),
        pages=0,
        errors=0,
        seconds=seconds,
        peak_rss_mb=own,
        peak_rss_children_mb=children,
        workers=pipeline.options.workers,
        rss_trace_mb=trace,
        cpu_seconds=cpu,
        via_cli=via_cli,
        floor=floor_result,
        ocr=f"{pipeline.options.ocr.backend}, {pipeline.options.ocr.detector} detector",
        machine=machine_info(load0),
    )
    _tally(result, recs)
    if gold is not None:
        records = {doc_key(r["source"]): r for r in recs}
        scored_gold = {k: v for k, v in gold.items() if k in records} if limit is not None else gold
        result.score = score_extraction(records, scored_gold)
    return result


def _tally(result: BenchmarkResult, recs: Sequence[dict[str, Any]]) -> None:
    """Pages, errors, stage sums, and born-digital vs scan timings from the records."""
    stage: dict[str, float] = {}
    for rec in recs:
        n = int(rec.get("pages") or 0)
        result.pages += n
        result.errors += rec.get("status") == "error"
        timings = rec.get("timings") or {}
        for k, v in timings.items():
            stage[k] = stage.get(k, 0.0) + float(v)
        if not n or rec.get("status") == "error":
            continue
        spent = float(timings.get("total_s") or 0.0)
        if _is_scan(rec):
            result.scan_page_seconds.append(spent / n)
            result.scan_pages += n
            if "ocr_cpu_s" in timings:
                result.scan_page_cpu_seconds.append(float(timings["ocr_cpu_s"]) / n)
        else:
            result.text_pages += n
            result.text_seconds += spent
    result.stage_seconds = dict(sorted(stage.items()))


def _document_for(gold: GoldDoc, data: Path) -> Path | None:
    if gold.document and Path(gold.document).is_file():
        return Path(gold.document)
    for suffix in (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        for folder in (data, data / "img", data / "pdfs"):
            cand = folder / f"{gold.key}{suffix}"
            if cand.is_file():
                return cand
    return None
