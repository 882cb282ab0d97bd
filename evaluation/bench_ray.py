"""Ray job vs the local job on the same files: rows per input, identical records, time ratio, kill, memory.

    python -m evaluation.bench_ray --data ../shared/data/invoices ../shared/data/receipts/sroie/img --total 500

The inputs are copied into a scratch folder, topped up to ``--total`` documents with byte-distinct
copies (a comment appended to a PDF, one trailing byte after a JPEG/PNG end marker, which every
reader ignores), then run (1) by the local pipeline with ``--workers``, (2) by ``extract_dataset``
on a local Ray with as many CPUs, (3) again on Ray with one actor process killed with SIGKILL
mid-job (after ``--kill-at`` of the rows came back). Prints the rows per input, the mismatches
(records are keyed by source and part: a file of several invoices gives several), the wall times
and their ratio, the machine's load, and the RSS of each local worker and each actor sampled once
a second over the run.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.runner import LimitOptions
from docvlm.scale import connect
from docvlm.sources import SUPPORTED_SUFFIXES


def make_inputs(folders: list[str], total: int, out: Path, copies: str = "pdf") -> list[Path]:
    """Every file under ``folders`` once, then byte-distinct copies up to ``total`` files.

    ``copies="all"`` copies the files in turn, so the copies keep the inputs' mix of scans and
    born-digital PDFs; ``"pdf"`` copies only the PDFs (a scan costs about 4 s of CPU, a text-layer
    PDF a small share of that), so a large run stays within reach of a shared 2-core machine.
    """
    originals = sorted(
        p
        for f in folders
        for p in Path(f).rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
    )
    if not originals:
        raise SystemExit(f"no documents under {' '.join(folders)}")
    pool = originals if copies == "all" else [p for p in originals if p.suffix.lower() == ".pdf"]
    if not pool:
        raise SystemExit("no PDFs to copy; use --copies all")
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(max(total, len(originals))):
        n = i - len(originals)  # which copy this is (negative: an original)
        src = originals[i] if n < 0 else pool[n % len(pool)]
        dest = out / f"{i:05d}_{src.name}"
        data = src.read_bytes()
        if n >= 0:
            data += (
                f"\n%copy {i}\n".encode() if src.suffix.lower() == ".pdf" else b"\x00" * (n // len(pool) + 1)
            )
        dest.write_bytes(data)
        files.append(dest)
        if len(files) >= total:
            break
    return files


def _mix(files: list[Path]) -> str:
    kinds: dict[str, int] = {}
    for f in files:
        kinds[f.suffix.lower()] = kinds.get(f.suffix.lower(), 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))


Key = tuple[str, int]


def _key(rec: dict[str, Any]) -> Key:
    """A record's place in the output: its source and which invoice of the file it is."""
    return rec["source"], int(rec.get("part") or 1)


def _strip(rec: dict[str, Any]) -> dict[str, Any]:
    rec = dict(rec)
    rec.pop("timings", None)
    return rec


def _say(text: str) -> None:
    print(text, flush=True)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f}"


def _pids(marker: str) -> list[int]:
    """Processes of this run (descendants: the machine is shared) whose command line holds ``marker``.

    Ray names an actor's process after its class; the local job's workers run ``docvlm.worker``.
    """
    import psutil

    found = []
    for p in psutil.Process().children(recursive=True):
        try:
            if any(marker in part for part in p.cmdline()):
                found.append(p.pid)
        except psutil.Error:
            continue
    return found


class RssSampler:
    """Once a second, in a thread: the RSS of each process whose command line holds ``marker`` and
    of its child processes (a Ray actor's supervised worker), with how many rows were done then.

    ``rows`` is set by the caller as rows come back, so the report compares the memory over the
    first quarter of the documents with the last quarter.
    """

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.rows = 0
        #: pid -> [(rows done, own RSS MB, children's RSS MB)]
        self.samples: dict[int, list[tuple[int, float, float]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(1.0):
            for pid in _pids(self.marker):
                try:
                    proc = psutil.Process(pid)
                    own = proc.memory_info().rss / 2**20
                    kids = sum(c.memory_info().rss for c in proc.children(recursive=True)) / 2**20
                except psutil.Error:
                    continue
                self.samples.setdefault(pid, []).append((self.rows, own, kids))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, what: str, total: int) -> None:
        """Per process: its mean RSS (and its workers') while each quarter of the ``total`` rows was made."""
        for pid, values in sorted(self.samples.items()):
            peak = max(v[1] + v[2] for v in values)
            line = f"  {what} {pid}: {len(values)} samples 1 s apart, rows {values[0][0]}-{values[-1][0]}; by quarter of rows:"
            for q in range(4):
                part = [
                    v
                    for v in values
                    if total * q / 4 <= v[0] < total * (q + 1) / 4 or (q == 3 and v[0] >= total)
                ]
                if not part:
                    line += " -"
                    continue
                own = sum(v[1] for v in part) / len(part)
                kids = sum(v[2] for v in part) / len(part)
                line += f" {own:.0f}" + (f"+{kids:.0f}" if kids else "") + " MB"
            _say(line + f"; peak {peak:.0f} MB" + (" (actor+worker)" if any(v[2] for v in values) else ""))


def run_local(
    folder: Path, workers: int, limits: LimitOptions
) -> tuple[dict[Key, dict[str, Any]], float, RssSampler]:
    """The local job, as ``docvlm extract --workers N`` runs it (supervised worker processes)."""
    t0 = time.perf_counter()
    pipe = Pipeline(PipelineOptions(workers=workers, limits=limits))
    recs: dict[Key, dict[str, Any]] = {}
    with RssSampler("docvlm.worker") as rss:
        try:
            for ex in pipe.run([str(folder)]):
                rec = ex.to_record()
                recs[_key(rec)] = rec
                rss.rows = len(recs)
                if len(recs) % 50 == 0:
                    _say(f"  local: {len(recs)} records, {time.perf_counter() - t0:.0f} s, {_load()}")
        finally:
            pipe.close()
    return recs, time.perf_counter() - t0, rss


def run_ray(
    folder: Path, actors: int, limits: LimitOptions, kill_at: int | None
) -> tuple[list[dict[str, Any]], float, RssSampler, int | None]:
    """The Ray job, with the local job's limits (so each actor supervises one worker process);
    with ``kill_at``, one actor process gets SIGKILL once that many rows came back."""
    from docvlm.scale import RayOptions, extract_dataset, records

    killed: int | None = None
    recs: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with RssSampler("DocumentExtractor") as rss:
        opts = RayOptions(pipeline=PipelineOptions(limits=limits), concurrency=actors)
        for rec in records(extract_dataset([str(folder)], opts)):
            recs.append(rec)
            rss.rows = len(recs)
            if kill_at is not None and killed is None and len(recs) >= kill_at:
                pids = _pids("DocumentExtractor")
                if pids:
                    killed = pids[0]
                    os.kill(killed, signal.SIGKILL)
                    _say(f"  killed actor pid {killed} after {len(recs)} rows")
            if len(recs) % 50 == 0:
                _say(f"  ray: {len(recs)} rows, {time.perf_counter() - t0:.0f} s, {_load()}")
    return recs, time.perf_counter() - t0, rss, killed


def compare(
    label: str, recs: list[dict[str, Any]], local: dict[Key, dict[str, Any]], files: list[Path]
) -> None:
    """Rows per input, duplicates, missing rows and records that differ from the local job's."""
    count: dict[Key, int] = {}
    for r in recs:
        count[_key(r)] = count.get(_key(r), 0) + 1
    dup = sum(1 for n in count.values() if n > 1)
    missing = set(local) - set(count)
    extra = set(count) - set(local)
    sources = {k[0] for k in count}
    no_row = [f for f in files if str(f) not in sources]
    differ = [
        k for k in count if k in local and _strip(local[k]) != _strip(next(r for r in recs if _key(r) == k))
    ]
    split = sum(1 for k in count if k[1] > 1)
    _say(
        f"{label}: {len(recs)} rows for {len(files)} inputs ({len(sources)} sources with a row, "
        f"{len(no_row)} without; {split} rows are a further invoice of a split file), "
        f"{dup} rows twice, {len(missing)} local rows missing, {len(extra)} rows local lacks, "
        f"{len(differ)} records differ from local (timings aside)"
    )
    for k in differ[:3]:
        _say(f"  differs: {k}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--total", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--copies",
        choices=("pdf", "all"),
        default="pdf",
        help="what the copies are made of (see make_inputs)",
    )
    ap.add_argument("--doc-timeout", type=float, default=120.0, help="both jobs' --doc-timeout (0: none)")
    ap.add_argument("--max-worker-mb", type=int, default=1500, help="both jobs' --max-worker-mb (0: none)")
    ap.add_argument(
        "--kill-only",
        action="store_true",
        help="only the run with an actor killed, checked against the inputs",
    )
    ap.add_argument(
        "--kill-at", type=float, default=0.3, help="share of the rows after which an actor is killed"
    )
    args = ap.parse_args()
    import ray

    scratch = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    try:
        files = make_inputs(args.data, args.total, scratch / "in", args.copies)
        limits = LimitOptions(doc_timeout_s=args.doc_timeout, max_worker_mb=args.max_worker_mb)
        _say(
            f"{len(files)} documents ({_mix(files)}; copies of: {args.copies}) in {scratch / 'in'}; "
            f"{_load()} on {os.cpu_count()} CPUs; limits {limits.doc_timeout_s:g} s, {limits.max_worker_mb} MB"
        )
        local: dict[Key, dict[str, Any]] = {}
        t_local = math.nan
        if not args.kill_only:
            local, t_local, local_rss = run_local(scratch / "in", args.workers, limits)
            _say(f"local --workers {args.workers}: {len(local)} records in {t_local:.1f} s; {_load()}")
            local_rss.report("local worker", len(local))
        t0 = time.perf_counter()
        connect(num_cpus=args.workers)
        ray.data.DataContext.get_current().enable_progress_bars = False
        t_init = time.perf_counter() - t0
        _say(f"ray.init: {t_init:.1f} s")
        kill_at = max(1, int((len(local) or len(files)) * args.kill_at))
        runs = [("ray", None), ("ray, one actor killed", kill_at)]
        for label, kill in runs[1:] if args.kill_only else runs:
            recs, wall, rss, killed = run_ray(scratch / "in", args.workers, limits, kill)
            compare(label, recs, local, files)
            _say(
                f"  {wall:.1f} s, ray/local = {wall / t_local:.2f} (with ray.init {(wall + t_init) / t_local:.2f}); "
                f"{_load()}" + (f"; killed pid {killed}" if killed else "; no actor killed")
            )
            rss.report("actor", len(recs))
            t_init = 0.0
        ray.shutdown()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
