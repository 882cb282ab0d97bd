"""Ray job vs the local job on the same files: rows per input, identical records, time ratio, kill, memory.

    python -m evaluation.bench_ray --data ../shared/data/invoices ../shared/data/receipts/sroie/img --total 500

The inputs are copied into a scratch folder, topped up to ``--total`` documents with byte-distinct
copies (a comment appended to a PDF, one trailing byte after a JPEG/PNG end marker, which every
reader ignores), then run (1) by the local pipeline with ``--workers``, (2) by ``extract_dataset``
on a local Ray with as many CPUs, (3) again on Ray with one actor process killed with SIGKILL
mid-job. Prints the counts, the mismatches, the wall times and their ratio, and each actor's RSS
sampled over the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from docvlm.ingest import SUPPORTED_SUFFIXES
from docvlm.pipeline import Pipeline, PipelineOptions


def make_inputs(folders: list[str], total: int, out: Path) -> list[Path]:
    """The files under ``folders`` plus byte-distinct copies of them, ``total`` in all."""
    originals = sorted(
        p
        for f in folders
        for p in Path(f).rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
    )
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(max(total, len(originals))):
        src = originals[i % len(originals)]
        dest = out / f"{i:05d}_{src.name}"
        data = src.read_bytes()
        if i >= len(originals):
            data += (
                f"\n%copy {i}\n".encode() if src.suffix.lower() == ".pdf" else b"\x00" * (i // len(originals))
            )
        dest.write_bytes(data)
        files.append(dest)
        if len(files) >= total:
            break
    return files


def _strip(rec: dict[str, Any], root: str) -> dict[str, Any]:
    rec = dict(rec)
    rec.pop("timings", None)
    return rec


def run_local(folder: Path, workers: int) -> tuple[dict[str, dict[str, Any]], float]:
    t0 = time.perf_counter()
    pipe = Pipeline(PipelineOptions(workers=workers))
    try:
        recs = {ex.source: ex.to_record() for ex in pipe.run([str(folder)])}
    finally:
        pipe.close()
    return recs, time.perf_counter() - t0


def _actor_pids() -> list[int]:
    import psutil

    return [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if any("DocumentExtractor" in part for part in (p.info["cmdline"] or []))
    ]


def _sample_rss(stop: threading.Event, samples: dict[int, list[float]]) -> None:
    import psutil

    while not stop.wait(1.0):
        for pid in _actor_pids():
            try:
                samples.setdefault(pid, []).append(psutil.Process(pid).memory_info().rss / 2**20)
            except psutil.Error:
                continue


def run_ray(
    folder: Path, actors: int, kill_after: float | None
) -> tuple[list[dict[str, Any]], float, dict[int, list[float]], int | None]:
    from docvlm.scale import RayOptions, extract_dataset, records

    samples: dict[int, list[float]] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(stop, samples), daemon=True)
    killed: list[int] = []

    def killer() -> None:
        assert kill_after is not None
        time.sleep(kill_after)
        pids = _actor_pids()
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    t0 = time.perf_counter()
    sampler.start()
    if kill_after is not None:
        threading.Thread(target=killer, daemon=True).start()
    recs = list(records(extract_dataset([str(folder)], RayOptions(concurrency=actors))))
    wall = time.perf_counter() - t0
    stop.set()
    return recs, wall, samples, (killed[0] if killed else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--total", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kill-after", type=float, default=30.0, help="seconds into the third run")
    args = ap.parse_args()
    import ray

    scratch = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    try:
        files = make_inputs(args.data, args.total, scratch / "in")
        print(f"{len(files)} documents in {scratch / 'in'}")
        local, t_local = run_local(scratch / "in", args.workers)
        print(f"local --workers {args.workers}: {len(local)} records in {t_local:.1f} s")
        t0 = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        print(f"ray.init: {time.perf_counter() - t0:.1f} s")
        for label, kill in (("ray", None), ("ray, one actor killed", args.kill_after)):
            recs, wall, rss, killed = run_ray(scratch / "in", args.workers, kill)
            by_source: dict[str, int] = {}
            for r in recs:
                by_source[r["source"]] = by_source.get(r["source"], 0) + 1
            dup = sum(1 for n in by_source.values() if n > 1)
            missing = set(local) - set(by_source)
            differ = [
                r["source"]
                for r in recs
                if r["source"] in local and _strip(r, "") != _strip(local[r["source"]], "")
            ]
            print(
                f"{label}: {len(recs)} rows, {len(by_source)} sources, {dup} duplicated, {len(missing)} missing, "
                f"{len(differ)} records differ from local; {wall:.1f} s, ray/local = {wall / t_local:.2f}"
                + (f"; killed pid {killed}" if killed else "")
            )
            for pid, values in sorted(rss.items()):
                if len(values) >= 4:
                    q = len(values) // 4
                    first, last = sum(values[:q]) / q, sum(values[-q:]) / q
                    print(
                        f"  actor {pid}: RSS first quarter {first:.0f} MB, last quarter {last:.0f} MB, peak {max(values):.0f} MB ({len(values)} samples)"
                    )
            for src in differ[:3]:
                print("  differs:", src)
        ray.shutdown()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
