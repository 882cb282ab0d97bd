"""Reliability trial of ``docvlm extract``: hostile files, killed workers, signals, concurrent runs.

Each scenario runs the real CLI as a process, watches its process tree (wall time, peak RSS of the
main process and of every worker, sampled from /proc every 50 ms) and checks the records it left.
The tests in ``tests/unit/test_cli_reliability.py`` run the same scenarios at small sizes.

Scenarios:
- ``hostile``: 9-deep nested form XObjects (3 KB), a content stream inflating to 1 GiB of text
  operators, a 300-frame TIFF, and good documents, with 2 workers: every input gets a record, the
  good ones are ``ok``, the run ends within about 2 x ``--doc-timeout`` (beyond what a run on one
  good document takes: start-up), no process passes ``--max-worker-mb``;
- ``worker-kill``: a worker SIGKILLed mid-batch costs no record and prints no traceback;
- ``two-runs``: a second run on the same ``-o`` exits 2; the first run's records are all there;
- ``stdout``: ``-o -`` with a PDF MuPDF complains about: every stdout line is JSON;
- ``symlink``: a symlink planted at the ``.partial`` path is replaced, its target untouched;
- ``resume-jsonl``/``-csv``/``-parquet``: kill -9, then kill -9 during ``--resume``, then resume:
  nothing lost, nothing twice;
- ``sigterm``: after SIGTERM no process of the run is left within 5 s, and a resume finishes.

Run from the repository root: ``python -m evaluation.reliability [--doc-timeout 10] [--only hostile]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, str(REPO / "cli.py")]
NO_LIMITS = ["--doc-timeout", "0", "--max-worker-mb", "0"]  # documents in the CLI process itself
_PAGE = os.sysconf("SC_PAGE_SIZE")

# ---- watching a CLI process -------------------------------------------------------------------


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def children(pid: int) -> list[int]:
    """Live direct children of ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def pid_alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stat(pid: int) -> list[str]:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rfind(")") + 2 :].split()


def _rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of a file that may be being written."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


@dataclass
class Run:
    """A CLI process and what was measured while it ran."""

    proc: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)
    wall_s: float = 0.0
    peak_main_mb: float = 0.0
    peak_worker_mb: float = 0.0
    workers_seen: set[int] = field(default_factory=set)
    stdout: str = ""
    stderr: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def watch(self) -> Run:
        def sample() -> None:
            while not self._stop.is_set():
                self.peak_main_mb = max(self.peak_main_mb, _rss_mb(self.proc.pid))
                for child in children(self.proc.pid):
                    self.workers_seen.add(child)
                    self.peak_worker_mb = max(self.peak_worker_mb, _rss_mb(child))
                time.sleep(0.05)

        threading.Thread(target=sample, daemon=True).start()
        return self

    def finish(self, timeout: float = 600) -> Run:
        self.stdout, self.stderr = self.proc.communicate(timeout=timeout)
        self.wall_s = time.monotonic() - self.started
        self._stop.set()
        return self


def start(*args: str) -> Run:
    """``docvlm extract ARGS --no-progress`` in a new session (its process group is the run)."""
    proc = subprocess.Popen(
        [*CLI, "extract", *args, "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
    )
    return Run(proc).watch()


def run(*args: str, timeout: float = 600) -> Run:
    return start(*args).finish(timeout)


def largest_reaped_mb() -> float:
    """The largest RSS of any process this one waited for, directly or through its children."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# ---- inputs ---------------------------------------------------------------------------------------


def good_documents(folder: Path, n: int, prefix: str = "good") -> list[Path]:
    """``n`` small born-digital invoices (distinct files) in ``folder``."""
    from tests.helpers.documents import INVOICE_LINES, make_text_pdf

    folder.mkdir(parents=True, exist_ok=True)
    first = make_text_pdf(folder / f"{prefix}00.pdf", INVOICE_LINES)
    out = [first]
    for i in range(1, n):
        p = folder / f"{prefix}{i:02d}.pdf"
        p.write_bytes(first.read_bytes().replace(b"RE-2024-0042", f"RE-2024-{i:04d}".encode()))
        out.append(p)
    return out


# ---- scenarios ------------------------------------------------------------------------------------


def hostile(
    work: Path,
    timeout: float = 10,
    workers: int = 2,
    max_mb: int = 1500,
    bomb_mb: int = 1024,
    frames: int = 300,
    good: list[Path] | None = None,
) -> dict[str, Any]:
    from tests.helpers.hostile import content_bomb_pdf, many_frame_tiff, nested_xobject_pdf

    folder = work / "in"
    folder.mkdir(parents=True)
    stuck = [
        nested_xobject_pdf(folder / "nested_xobjects.pdf"),
        content_bomb_pdf(folder / "content_bomb.pdf", inflated_mb=bomb_mb),
        many_frame_tiff(folder / "frames.tif", frames=frames),
    ]
    goods = [Path(shutil.copy(p, folder / p.name)) for p in good] if good else good_documents(folder, 4)
    out = work / "out.jsonl"
    # what start-up costs on this machine now: the same command on one good document
    baseline = run(str(goods[0]), "-o", str(work / "baseline.jsonl"), "--workers", str(workers))
    r = run(str(folder), "-o", str(out), "--workers", str(workers), "--doc-timeout", f"{timeout:g}",
            "--max-worker-mb", str(max_mb))  # fmt: skip
    records = {Path(rec["source"]).name: rec for rec in read_jsonl(out)}
    return {
        "wall_s": r.wall_s,
        "one_document_s": baseline.wall_s,
        "over_one_document_s": r.wall_s - baseline.wall_s,
        "returncode": r.returncode,
        "peak_main_mb": r.peak_main_mb,
        "peak_worker_mb": r.peak_worker_mb,
        "workers_started": len(r.workers_seen),
        "records": records,
        "every_input_recorded": sorted(records) == sorted(p.name for p in [*stuck, *goods]),
        "good_ok": all(records.get(p.name, {}).get("status") == "ok" for p in goods),
        "stuck": {p.name: (records.get(p.name) or {}).get("error") for p in stuck},
        "within_2x_timeout": r.wall_s - baseline.wall_s <= 2 * timeout * 1.1,
        "under_memory_limit": max(r.peak_worker_mb, r.peak_main_mb) < max_mb,
        "traceback": "Traceback" in r.stderr,
    }


def worker_kill(work: Path, timeout: float = 8) -> dict[str, Any]:
    """SIGKILL the only worker while it is on a stuck document, as the OOM killer would."""
    from tests.helpers.hostile import nested_xobject_pdf

    goods = good_documents(work / "in", 5)
    stuck = nested_xobject_pdf(work / "in" / "good01_stuck.pdf")  # sorts after good01.pdf
    out = work / "out.jsonl"
    r = start(str(work / "in"), "-o", str(out), "--workers", "1", "--doc-timeout", f"{timeout:g}")
    wait_for(lambda: len(read_jsonl(out.with_name("out.jsonl.partial"))) >= 2, 300, "two records")
    time.sleep(0.5)
    victims = children(r.proc.pid)
    killed_at = time.monotonic() - r.started
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    r.finish()
    records = read_jsonl(out)
    sources = [rec["source"] for rec in records]
    return {
        "wall_s": r.wall_s,
        "killed_at_s": killed_at,
        "workers_killed": len(victims),
        "returncode": r.returncode,
        "records": records,
        "one_record_each": sorted(sources) == sorted(str(p) for p in [*goods, stuck]),
        "stuck_error": next((rec["error"] for rec in records if rec["source"] == str(stuck)), None),
        "good_ok": all(rec["status"] == "ok" for rec in records if rec["source"] != str(stuck)),
        "traceback": "Traceback" in r.stderr,
    }


def two_runs(work: Path, timeout: float = 4) -> dict[str, Any]:
    """A second run on the output a first run is writing."""
    from tests.helpers.hostile import nested_xobject_pdf

    inputs = [*good_documents(work / "in", 3), nested_xobject_pdf(work / "in" / "stuck.pdf")]
    out = work / "out.jsonl"
    first = start(*map(str, inputs), "-o", str(out), "--doc-timeout", f"{timeout:g}")
    wait_for(lambda: out.with_name("out.jsonl.lock").exists(), 120, "the first run's lock")
    second = run(str(inputs[0]), "-o", str(out), *NO_LIMITS)
    first.finish()
    records = read_jsonl(out)
    return {
        "second_returncode": second.returncode,
        "second_stderr": second.stderr,
        "first_returncode": first.returncode,
        "first_records": [rec["source"] for rec in records],
        "first_complete": [rec["source"] for rec in records] == [str(p) for p in inputs],
        "leftovers": sorted(p.name for p in work.iterdir() if p.name.startswith("out.jsonl.")),
    }


def stdout_purity(work: Path, in_process: bool = False) -> dict[str, Any]:
    from tests.helpers.documents import INVOICE_LINES, make_text_pdf
    from tests.helpers.hostile import complaining_pdf

    work.mkdir(parents=True, exist_ok=True)
    bad = complaining_pdf(work / "complains.pdf")
    good = make_text_pdf(work / "good.pdf", INVOICE_LINES)
    r = run(str(bad), str(good), "-o", "-", *(NO_LIMITS if in_process else []))
    lines = r.stdout.splitlines()
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            parsed.append(None)
    return {
        "returncode": r.returncode,
        "stdout_lines": len(lines),
        "json_lines": sum(p is not None for p in parsed),
        "sources": [p["source"] if p else None for p in parsed],
        "expected": [str(bad), str(good)],
        "statuses": [p["status"] if p else None for p in parsed],
    }


def planted_symlink(work: Path) -> dict[str, Any]:
    goods = good_documents(work / "in", 2)
    victim = work / "victim.txt"
    victim.write_text("precious\n")
    out = work / "out.jsonl"
    out.with_name("out.jsonl.partial").symlink_to(victim)
    r = run(*map(str, goods), "-o", str(out))
    return {
        "returncode": r.returncode,
        "victim_intact": victim.read_text() == "precious\n",
        "output_is_file": out.is_file() and not out.is_symlink(),
        "records": len(read_jsonl(out)),
    }


def resume_after_kills(
    work: Path, fmt: str = "jsonl", n: int = 24, in_process: bool = False
) -> dict[str, Any]:
    """kill -9 a run, kill -9 its ``--resume``, resume again (by absolute paths): count the records.

    The last resume runs in the CLI process: what it is for is the spool the killed runs left.
    """
    inputs = good_documents(work / "in", n)
    out = work / f"out.{fmt}"
    partial = out.with_name(out.name + ".partial")
    limits = NO_LIMITS if in_process else []
    first = start(str(work / "in"), "-o", str(out), *limits)
    wait_for(lambda: len(read_jsonl(partial)) >= 4, 300, "4 records")
    workers = children(first.proc.pid)
    first.proc.kill()
    first.finish()
    t0 = time.monotonic()
    wait_for(lambda: not any(pid_alive(w) for w in workers), 10, "the orphaned workers to exit")
    orphans_gone_s = time.monotonic() - t0
    kept_after_first = len(read_jsonl(partial))
    second = start(str(work / "in"), "-o", str(out), "--resume", *limits)
    wait_for(lambda: len(read_jsonl(partial)) >= kept_after_first + 4, 300, "4 more records")
    second.proc.kill()
    second.finish()
    kept_after_second = len(read_jsonl(partial))
    last = run(*(str(p.resolve()) for p in inputs), "-o", str(out), "--resume", *NO_LIMITS)
    if fmt == "jsonl":
        sources = [rec["source"] for rec in read_jsonl(out)]
        items = len(sources)
    else:
        import pandas as pd

        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        sources = list(read(out)["source"]) if out.exists() else []
        items = len(read(out.with_name(f"out.line_items.{fmt}"))) if out.exists() else 0
    resolved = sorted(os.path.realpath(s) for s in sources)
    return {
        "returncode": last.returncode,
        "stderr": last.stderr,
        "kept_after_kill": kept_after_first,
        "kept_after_resume_kill": kept_after_second,
        "orphans_gone_s": orphans_gone_s,
        "records": len(sources),
        "items": items,
        "inputs": n,
        "nothing_lost_nothing_twice": resolved == sorted(str(p.resolve()) for p in inputs),
        "partial_left": partial.exists(),
    }


def sigterm(work: Path) -> dict[str, Any]:
    """SIGTERM while both workers are deep in stuck documents; then resume."""
    from tests.helpers.hostile import nested_xobject_pdf

    good_documents(work / "in", 2)
    for i in range(2):
        nested_xobject_pdf(work / "in" / f"z{i}.pdf")
    out = work / "out.jsonl"
    partial = out.with_name("out.jsonl.partial")
    r = start(str(work / "in"), "-o", str(out), "--workers", "2", "--doc-timeout", "120")
    wait_for(lambda: len(read_jsonl(partial)) >= 2, 300, "the good records")
    time.sleep(1.0)
    processes = 1 + len(children(r.proc.pid))
    r.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    try:  # poll() reaps the main process, which would otherwise stay a zombie of this one
        wait_for(lambda: r.proc.poll() is not None and not group_alive(r.proc.pid), 10, "the run to exit")
        gone_s: float | None = time.monotonic() - t0
    except TimeoutError:
        gone_s = None
    r.finish()
    kept = [Path(rec["source"]).name for rec in read_jsonl(partial)]
    resumed = run(str(work / "in"), "-o", str(out), "--resume", "--doc-timeout", "2", "--workers", "2")
    return {
        "processes_before": processes,
        "all_gone_s": gone_s,
        "returncode": r.returncode,
        "stderr": r.stderr,
        "kept": kept,
        "resume_returncode": resumed.returncode,
        "final": [Path(rec["source"]).name for rec in read_jsonl(out)],
    }


SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {
    "hostile": hostile,
    "worker-kill": worker_kill,
    "two-runs": two_runs,
    "stdout": stdout_purity,
    "symlink": planted_symlink,
    "resume-jsonl": lambda w: resume_after_kills(w, "jsonl"),
    "resume-csv": lambda w: resume_after_kills(w, "csv"),
    "resume-parquet": lambda w: resume_after_kills(w, "parquet"),
    "sigterm": sigterm,
}


def _summary(name: str, res: dict[str, Any], seconds: float) -> str:
    """One line of figures and checks (lists of paths and whole records are left out)."""
    if name == "hostile":
        for rec_name, rec in sorted(res["records"].items()):
            err = rec.get("error") or {}
            t = (rec.get("timings") or {}).get("total_s") or 0.0
            print(f"    {rec_name:32s} {rec['status']:7s} {err.get('type', ''):14s} {t:6.1f} s  "
                  f"{err.get('message', '')[:100]}")  # fmt: skip
    parts = []
    for key, value in res.items():
        if isinstance(value, float):
            parts.append(f"{key}={value:.1f}")
        elif isinstance(value, (bool, int, type(None))) or (isinstance(value, str) and len(value) < 40):
            parts.append(f"{key}={value}")
        elif key == "stuck":
            parts.append("stuck=" + ",".join(f"{k}:{(v or {}).get('limit')}" for k, v in value.items()))
    return f"{name:15s} {seconds:6.1f} s  " + "  ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--doc-timeout", type=float, default=10.0)
    ap.add_argument("--max-worker-mb", type=int, default=1500)
    ap.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these (repeatable)")
    ap.add_argument(
        "--good", type=Path, default=REPO / "samples", help="good documents for the hostile batch"
    )
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args(argv)
    import tempfile

    base = args.keep or Path(tempfile.mkdtemp(prefix="docvlm-reliability-"))
    good = sorted(p for p in args.good.iterdir() if p.suffix.lower() in {".pdf", ".png", ".jpg"})
    for name in args.only or list(SCENARIOS):
        work = base / name
        t0 = time.monotonic()
        if name == "hostile":
            res = hostile(work, args.doc_timeout, max_mb=args.max_worker_mb, good=good)
        else:
            res = SCENARIOS[name](work)
        print(_summary(name, res, time.monotonic() - t0), flush=True)
    print(f"largest process waited for (RUSAGE_CHILDREN maxrss): {largest_reaped_mb():.0f} MB")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
