"""Supervised batch execution: sources in, one ``Extraction`` per source out, in input order,
whatever a document does to the process that reads it.

With limits on (the default) or more than one worker, documents run in worker processes, each
reusing its engine and OCR models across documents. Workers are fresh interpreters, spawned, never
forked (onnxruntime and torch are not fork-safe); unlike multiprocessing's spawn they do not
re-import the caller's ``__main__``, so a script without a ``__main__`` guard works. The parent is the watchdog, since a document stuck in MuPDF holds the worker's GIL:
- a document that runs past its time limit, or whose worker's memory passes ``max_worker_mb``,
  gets a ``ResourceLimit`` error record saying which limit and how far it got; its worker is
  killed and replaced. Workers also run under ``RLIMIT_DATA``, so an allocation past the limit
  fails inside the worker instead of growing it;
- a worker that dies (SIGKILL, segfault, the OOM killer) has its document retried once on a new
  worker; a document that takes two workers down gets a ``WorkerDied`` record;
- records leave through a bounded reorder buffer, so a slow document holds back the others for
  at most its limit;
- SIGTERM and SIGINT stop the workers, hand out the finished records, then raise ``Interrupted``.

A source is a path, or (source name, file bytes) for data read elsewhere (object storage, a Ray
block). A ``persistent`` runner (a Ray actor's) keeps its idle workers between ``run`` calls until
``close``, and leaves the process's signals to its host.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from docvlm.datamodel import Extraction
from docvlm.errors import DocvlmError, EngineError, Interrupted, ResourceLimit, WorkerDied
from docvlm.sources import bytes_sha256, file_sha256, iter_sources
from docvlm.spawn import runs_in_workers, start_worker_process, take_early_worker

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from docvlm.pipeline import PipelineOptions

_log = logging.getLogger(__name__)

# each page read from a text layer (about 10 ms of work) extends its document's time limit by this
# share of the limit, up to MAX_TIMEOUT_SCALE times the limit. Pages that are rendered and OCR'd
# earn nothing: a tiny file can hold thousands of frames, so their count must not buy time.
TEXT_PAGE_ALLOWANCE = 0.01
MAX_TIMEOUT_SCALE = 10.0
# a document that takes this many workers down is not tried again
MAX_WORKER_DEATHS = 2
POLL_S = 0.2
RSS_EVERY_S = 0.05
STARTUP_TIMEOUT_S = 300.0
STOP_GRACE_S = 2.0
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class LimitOptions(BaseModel):
    """Per-document limits, enforced from outside the work; 0 turns a limit off."""

    model_config = ConfigDict(extra="forbid")
    doc_timeout_s: float = Field(
        default=120.0,
        ge=0,
        description="wall-clock seconds a document may take (more for long text-layer PDFs); 0: none",
    )
    max_worker_mb: int = Field(default=1500, ge=0, description="memory of a worker process in MB; 0: none")
    reorder_window: int = Field(
        default=256, ge=1, description="documents in flight or finished but not yet handed out"
    )

    @property
    def enabled(self) -> bool:
        return self.doc_timeout_s > 0 or self.max_worker_mb > 0


def run_batch(
    options: PipelineOptions,
    inputs: Iterable[str | Path],
    extract_many: Callable[[Sequence[str]], list[Extraction]],
    skip: Container[str] | None = None,
    on_source: Callable[[str], None] | None = None,
    engine_injected: bool = False,
) -> Iterator[Extraction]:
    """One Extraction per input document, in input order; supervised when :func:`supervised` says so.

    ``extract_many`` runs documents in this process (no limits); ``skip`` holds sources already done.
    """
    done = skip if skip is not None else ()
    sources = (str(p) for p in iter_sources(inputs) if str(p) not in done)
    if supervised(options, engine_injected):
        yield from BatchRunner(options).run(sources, on_source)
        return
    batch = max(1, getattr(options.engine, "batch_size", 1))
    chunk: list[str] = []
    for src in sources:
        if on_source:
            on_source(src)
        chunk.append(src)
        if len(chunk) >= batch:
            yield from extract_many(chunk)
            chunk = []
    if chunk:
        yield from extract_many(chunk)


def supervised(options: PipelineOptions, engine_injected: bool = False) -> bool:
    """Documents run in worker processes when limits are on or there are several workers (``runs_in_workers``)."""
    engine = options.engine
    local_model = engine.kind == "transformers" or (
        engine.kind == "hybrid" and engine.vlm.kind == "transformers"
    )
    return runs_in_workers(options.workers, options.limits.enabled, local_model, engine_injected)


#: what a runner reads: a path, or (source name, file bytes)
Source = str | tuple[str, bytes]


@dataclass
class _Task:
    seq: int
    source: str
    data: bytes | None = None  # the file's bytes, when they do not come from the path ``source``
    deaths: list[str] = field(default_factory=list)  # how the workers it took down died


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    conn: Connection
    spawned: float
    ready: bool = False
    task: _Task | None = None
    started: float | None = None  # when the worker took the task
    deadline: float = math.inf
    page_count: int = 0
    pages_done: int = 0
    sha256: str | None = None
    peak_mb: float = 0.0
    rss_mb: float | None = None  # the last reading of its resident memory
    rss_at: float = -math.inf  # when it was read

    def reset(self) -> None:
        self.task, self.started, self.deadline = None, None, math.inf
        self.page_count, self.pages_done, self.sha256 = 0, 0, None


class BatchRunner:
    """Runs documents in supervised worker processes; see the module docstring."""

    def __init__(self, options: PipelineOptions, persistent: bool = False) -> None:
        self.options = options
        self.persistent = persistent
        self.limits: LimitOptions = options.limits
        self._workers: list[_Worker] = []
        self._dump = options.model_dump(mode="json")
        self._signum: int | None = None
        self._startup_failures = 0
        #: measurements of the run: the largest worker RSS seen, and each worker's start-up seconds
        self.peak_worker_mb = 0.0
        self.startup_s: list[float] = []

    # ---- public ---------------------------------------------------------------------------

    def run(
        self, sources: Iterable[Source], on_source: Callable[[str], None] | None = None
    ) -> Iterator[Extraction]:
        previous = {} if self.persistent else self._catch_signals()
        try:
            yield from self._loop(iter(sources), on_source)
        finally:
            if self.persistent:
                for w in [w for w in self._workers if w.task is not None]:  # a run left midway
                    self._kill(w)
                    self._drop(w)
            else:
                self._stop_workers()
            self._restore_signals(previous)

    def close(self) -> None:
        """Stop the workers (a ``persistent`` runner's; ``run`` stops the others itself)."""
        self._stop_workers()

    def busy(self) -> dict[int, str]:
        """pid -> source of the workers that are reading a document now."""
        out = {}
        for w in list(self._workers):
            task = w.task
            if task is not None and w.started is not None:
                out[w.proc.pid] = task.source
        return out

    # ---- the loop -------------------------------------------------------------------------

    def _loop(
        self, sources: Iterator[Source], on_source: Callable[[str], None] | None
    ) -> Iterator[Extraction]:
        waiting: deque[_Task] = deque()
        finished: dict[int, list[Extraction]] = {}  # a file of several invoices gives several records
        next_out = next_seq = 0
        exhausted = False

        def hand_out() -> None:
            nonlocal next_seq, exhausted
            while True:
                if not waiting and not exhausted and next_seq - next_out < self.limits.reorder_window:
                    item = next(sources, None)
                    if item is None:
                        exhausted = True
                    else:
                        task = _Task(next_seq, item) if isinstance(item, str) else _Task(next_seq, *item)
                        if on_source:
                            on_source(task.source)
                        waiting.append(task)
                        next_seq += 1
                worker = self._free_worker() if waiting else None
                if worker is None:
                    break
                self._assign(worker, waiting.popleft())

        while True:
            if self._signum is not None:
                for seq in sorted(finished):  # flush what is done, then stop
                    yield from finished.pop(seq)
                raise Interrupted(self._signum)
            hand_out()
            if exhausted and not waiting and not any(w.task for w in self._workers):
                break
            self._wait()
            for task, ex in self._collect(waiting):
                finished.setdefault(task.seq, []).append(ex)
            if self._signum is None:
                # a worker that just finished takes its next document before the records are written:
                # it would otherwise wait while the caller writes them
                hand_out()
            while next_out in finished:
                yield from finished.pop(next_out)
                next_out += 1
        for seq in sorted(finished):
            yield from finished.pop(seq)

    def _free_worker(self) -> _Worker | None:
        """An idle worker (ready ones first), a new one, or None when ``workers`` are busy."""
        idle = [w for w in self._workers if w.task is None]
        if len(self._workers) - len(idle) >= self.options.workers:
            return None
        if idle:
            return max(idle, key=lambda w: w.ready)
        return self._spawn()

    def _keep_standby(self) -> None:
        """Start a spare worker when a document has used half its time, so that its replacement is ready."""
        if len(self._workers) > self.options.workers or any(w.task is None for w in self._workers):
            return
        now = time.monotonic()
        for w in self._workers:
            if (
                w.started is not None
                and w.deadline < math.inf
                and now - w.started > (w.deadline - w.started) / 2
            ):
                _log.debug("%s is slow; starting a standby worker", w.task.source if w.task else "?")
                self._spawn()
                return

    def _spawn(self) -> _Worker:
        # a worker started early (``start_worker_early``) has imported the stack while it waited
        proc, conn, spawned = take_early_worker() or start_worker_process()
        with contextlib.suppress(OSError):  # if it died already, _collect sees that
            conn.send(
                (self._dump, self.limits.max_worker_mb, os.getpid(), logging.getLogger().getEffectiveLevel())
            )
        worker = _Worker(proc=proc, conn=conn, spawned=spawned)
        self._workers.append(worker)
        return worker

    def _assign(self, worker: _Worker, task: _Task) -> None:
        worker.reset()
        worker.task = task
        with contextlib.suppress(OSError):  # if it died already, _collect sees that and retries the task
            worker.conn.send((task.seq, task.source, task.data))

    def _wait(self) -> None:
        from multiprocessing.connection import wait

        now = time.monotonic()
        timeout = min([POLL_S] + [max(0.0, w.deadline - now) for w in self._workers])
        if self._workers:  # a worker that dies closes its end of the pipe, which wakes this up too
            wait([w.conn for w in self._workers], timeout)
        else:
            time.sleep(timeout)

    def _collect(self, waiting: deque[_Task]) -> list[tuple[_Task, Extraction]]:
        """Read every worker's messages, enforce the limits, handle deaths; returns finished tasks."""
        out: list[tuple[_Task, Extraction]] = []
        for w in list(self._workers):
            if not (self._read_messages(w, out) and w.proc.poll() is None):
                self._read_messages(w, out)  # what it sent before it died
                self._bury(w, waiting, out)
                continue
            limit = self._check_limits(w)
            if limit is None:
                continue
            self._kill(w)
            if w.task is not None:
                _log.warning("%s: %s; its worker was stopped", w.task.source, limit)
                out.append((w.task, self._error_record(w, w.task, limit)))
                w.reset()
            self._bury(w, waiting, out)
        self._keep_standby()
        return out

    def _read_messages(self, w: _Worker, out: list[tuple[_Task, Extraction]]) -> bool:
        """Handle what ``w`` sent; False when its pipe is closed (it died)."""
        try:
            while w.conn.poll():
                self._handle(w, w.conn.recv(), out)
        except (EOFError, OSError):
            return False
        except DocvlmError:
            raise
        except Exception as exc:  # a message torn by a dying worker
            _log.debug("unreadable message from worker %s: %r", w.proc.pid, exc)
            return False
        return True

    def _handle(self, w: _Worker, msg: tuple[Any, ...], out: list[tuple[_Task, Extraction]]) -> None:
        kind = msg[0]
        now = time.monotonic()
        if kind == "ready":
            w.ready = True
            self._startup_failures = 0
            self.startup_s.append(now - w.spawned)
            _log.debug("worker %s ready after %.1f s", w.proc.pid, now - w.spawned)
        elif kind == "init_error":
            raise EngineError(f"a worker process could not start: {msg[1]}")
        elif w.task is None or msg[1] != w.task.seq:
            return
        elif kind == "start":
            _log.debug("worker %s: %s", w.proc.pid, w.task.source)
            w.started = now
            if self.limits.doc_timeout_s > 0:
                w.deadline = now + self.limits.doc_timeout_s
        elif kind == "opened":
            w.page_count, w.sha256 = msg[2], msg[3]
        elif kind == "page":
            w.pages_done = msg[2]
            if msg[3] == "text" and msg[2] > 1 and w.started is not None and self.limits.doc_timeout_s > 0:
                cap = w.started + self.limits.doc_timeout_s * MAX_TIMEOUT_SCALE
                w.deadline = min(cap, w.deadline + self.limits.doc_timeout_s * TEXT_PAGE_ALLOWANCE)
        elif kind == "done":
            out.extend((w.task, Extraction.from_record(rec)) for rec in msg[2])
            w.reset()
        elif kind == "memory":  # an allocation failed in the worker; it exits after this message
            detail = f"an allocation failed under the {self.limits.max_worker_mb} MB limit ({msg[2]})"
            exc = ResourceLimit(f"memory limit: {detail}, {self._where(w)}", "memory")
            out.append((w.task, self._error_record(w, w.task, exc)))
            w.reset()

    def _check_limits(self, w: _Worker) -> ResourceLimit | None:
        now = time.monotonic()
        # read at most every RSS_EVERY_S: a worker wakes the parent several times a document
        if now - w.rss_at >= RSS_EVERY_S:
            w.rss_mb, w.rss_at = _rss_mb(w.proc.pid), now
        rss = w.rss_mb
        if rss is not None:
            w.peak_mb = max(w.peak_mb, rss)
            self.peak_worker_mb = max(self.peak_worker_mb, rss)
        if w.task is None or w.started is None:
            if not w.ready and time.monotonic() - w.spawned > STARTUP_TIMEOUT_S:
                self._kill(w)
                raise EngineError(f"a worker process did not start within {STARTUP_TIMEOUT_S:.0f} s")
            return None
        max_mb = self.limits.max_worker_mb
        if max_mb and rss is not None and rss > max_mb:
            return ResourceLimit(
                f"memory limit: the worker reached {rss:.0f} MB, over the {max_mb} MB limit, {self._where(w)}",
                "memory",
            )
        if time.monotonic() > w.deadline:
            allowed = w.deadline - w.started
            timeout = self.limits.doc_timeout_s
            why = f"--doc-timeout {timeout:g} s" + (
                ", extended for its text pages" if allowed > timeout + 0.05 else ""
            )
            return ResourceLimit(
                f"time limit: still running after {allowed:.1f} s ({why}), {self._where(w, elapsed=False)}",
                "time",
            )
        return None

    @staticmethod
    def _where(w: _Worker, elapsed: bool = True) -> str:
        """How far the document got, in words."""
        if not w.page_count:
            where = "while opening the file"
        elif w.pages_done >= w.page_count:
            where = f"after reading all {w.page_count} pages"
        else:
            where = f"at page {w.pages_done + 1} of {w.page_count}"
        if elapsed and w.started is not None:
            where += f", {time.monotonic() - w.started:.1f} s in"
        return where

    def _bury(self, w: _Worker, waiting: deque[_Task], out: list[tuple[_Task, Extraction]]) -> None:
        """``w`` is dead: record or retry its document, and drop it (a new one is spawned on demand)."""
        if w.proc.poll() is None:
            self._kill(w)
        code = w.proc.returncode
        how = _how_it_died(code)
        self._drop(w)
        task = w.task
        if not w.ready:
            self._startup_failures += 1
            if task is not None:
                waiting.appendleft(task)
            if self._startup_failures >= 2:
                raise EngineError(f"worker processes die while starting ({how})")
            return
        if task is None:
            return
        task.deaths.append(how)
        if len(task.deaths) >= MAX_WORKER_DEATHS:
            _log.error(
                "%s took down %d workers (%s); not trying it again", task.source, len(task.deaths), how
            )
            msg = f"the worker process died ({how}) on this document twice, {self._where(w)}; not tried again"
            out.append((task, self._error_record(w, task, WorkerDied(msg, how))))
        else:
            _log.warning(
                "worker %s died (%s) on %s; trying it once more on a new worker", w.proc.pid, how, task.source
            )
            waiting.appendleft(task)

    def _drop(self, w: _Worker) -> None:
        with contextlib.suppress(OSError):
            w.conn.close()
        self._workers.remove(w)

    def _error_record(self, w: _Worker, task: _Task, exc: DocvlmError) -> Extraction:
        """The error record of ``task``, with what its worker ``w`` knew about the file."""
        source = task.source
        ex = Extraction(
            source=source,
            sha256=w.sha256 or (bytes_sha256(task.data) if task.data is not None else file_sha256(source)),
            engine=self.options.engine.kind,
            pages=w.page_count,
        ).fail(exc)
        if ex.error is not None and isinstance(exc, ResourceLimit):
            ex.error["limit"] = exc.limit
        if ex.error is not None and isinstance(exc, WorkerDied) and exc.signal:
            ex.error["signal"] = exc.signal
        if w.started is not None:
            ex.timings["total_s"] = time.monotonic() - w.started
        return ex

    # ---- processes and signals ------------------------------------------------------------

    def _kill(self, w: _Worker) -> None:
        with contextlib.suppress(OSError):
            w.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            w.proc.wait(timeout=5)

    def _stop_workers(self) -> None:
        for w in self._workers:
            if w.task is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)  # done: exit after closing the engine
            else:
                with contextlib.suppress(OSError):
                    w.proc.kill()  # mid-document: nothing to wait for
        from multiprocessing.connection import wait

        end = time.monotonic() + STOP_GRACE_S
        for w in self._workers:
            # a worker's end of the pipe closes as it exits: that wakes this up, not Popen.wait's
            # polls (up to 50 ms apart)
            with contextlib.suppress(OSError, ValueError):
                wait([w.conn], max(0.0, end - time.monotonic()))
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.proc.wait(timeout=max(0.0, end - time.monotonic()))
            if w.proc.poll() is None:
                self._kill(w)
            with contextlib.suppress(OSError):
                w.conn.close()
        if self._workers:
            _log.debug("largest worker: %.0f MB", max(w.peak_mb for w in self._workers))
        self._workers.clear()

    def _catch_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def stop(signum: int, frame: Any) -> None:
            if self._signum is not None:  # a second signal: stop waiting for the workers
                raise KeyboardInterrupt
            self._signum = signum

        previous: dict[int, Any] = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # keep what nohup or a shell's & ignored
                previous[sig] = signal.signal(sig, stop)
        return previous

    def _restore_signals(self, previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _how_it_died(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-code).name
        return f"signal {-code}"
    return f"exit code {code}"


def _rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process in MB, from /proc (None where there is no /proc)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * _PAGE_SIZE / 2**20
    except (OSError, ValueError, IndexError):
        return None
