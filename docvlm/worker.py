"""A worker process of the supervised runner (``docvlm.runner``): documents in over a pipe, records out.

The worker builds its pipeline once (engine and OCR models are reused across documents), then
reads each document the parent sends (a path, or a name and the file's bytes) and reports progress (opened, each page), then the record.
It runs under ``RLIMIT_DATA``; a document whose allocation fails there is reported as a memory
limit, and the worker exits so that a fresh one takes over. It dies with its parent (Linux
``PR_SET_PDEATHSIG``), so a killed run leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
from typing import TYPE_CHECKING, Any

from docvlm.datamodel import Extraction, Page
from docvlm.errors import EngineError

if TYPE_CHECKING:
    pass

_log = logging.getLogger(__name__)

#: the command line a worker runs (``python -c BOOT FD``): a fresh interpreter, not a fork
BOOT = "import sys; from docvlm.worker import worker_main; worker_main(int(sys.argv[1]))"
# how an allocation that failed under RLIMIT_DATA reads once a stage has turned it into an error
_MEMORY_MARKERS = ("memoryerror", "out of memory", "bad_alloc", "failed to allocate", "cannot allocate")
_ALLOC_FAILED = re.compile(r"\b(?:m|c|re)alloc \([^)]*\) failed")  # MuPDF's words for a failed allocation


def worker_main(fd: int) -> None:
    """A worker process: build the pipeline once, then read the documents the parent sends over ``fd``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop (and spawns them so)
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    # the stack, before the options: a worker started early imports it while its parent sets up
    # (an import that fails here fails again below, where it is reported)
    with contextlib.suppress(Exception):
        import docvlm.pipeline  # noqa: F401
    try:
        options, max_mb, parent_pid, log_level = conn.recv()
    except (EOFError, OSError):
        return  # started early for a run that needed no worker
    _die_with_parent(parent_pid)
    logging.basicConfig(level=log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        from docvlm.pipeline import Pipeline, PipelineOptions

        opts = PipelineOptions.model_validate(options).model_copy(update={"workers": 1})
        pipe = Pipeline(opts)
        # the engine is built before any document is timed; the OCR models load with the first scan
        # (about 1 s of its time limit), as in one process: a batch of born-digital PDFs never needs
        # them, and preloading cost every worker about 100 MB
        pipe.engine.warm()  # its models too
        if max_mb:
            _limit_memory(max_mb)
    except Exception as exc:
        conn.send(("init_error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    seq = -1

    def progress(ex: Extraction, page: Page | None) -> None:
        if page is None:
            conn.send(("opened", seq, ex.pages, ex.sha256))
        else:
            conn.send(("page", seq, page.number, page.word_source.value))

    pipe.on_progress = progress
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        seq, source, data = task
        conn.send(("start", seq))
        try:
            # one record per invoice of the file
            found = pipe.extract_all(source) if data is None else pipe.extract_bytes([(source, data)])
            recs = [ex.to_record() for ex in found]
        except MemoryError:
            conn.send(("memory", seq, "MemoryError"))
            break
        except Exception as exc:  # a stage failed outside its own guards: still one record
            _log.exception("unexpected error on %s", source)
            recs = [Extraction(source=source, engine=opts.engine.kind).fail(exc).to_record()]
        failure = next((f for f in map(_memory_failure, recs) if f), None) if max_mb else None
        if failure:
            conn.send(("memory", seq, failure))
            break  # a fresh worker takes over: this one's heap is fragmented and near the limit
        conn.send(("done", seq, recs))
    with contextlib.suppress(Exception):
        pipe.close()
    # every record is sent and the pipeline closed: the interpreter's finalization (freeing the
    # models, the caches and the modules, 0.2-0.3 s, which the parent waits for) is skipped, as
    # multiprocessing's own workers skip it
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _memory_failure(rec: dict[str, Any]) -> str | None:
    """The message of a record that failed because an allocation failed, if it did."""
    texts = [(rec.get("error") or {}).get("message") or ""]
    texts += [w.get("message", "") for w in rec.get("warnings") or [] if w.get("code") == "page_error"]
    for text in texts:
        if any(marker in text.lower() for marker in _MEMORY_MARKERS) or _ALLOC_FAILED.search(text):
            return text[:200]
    return None


def _die_with_parent(parent_pid: int) -> None:
    """Make the kernel kill this worker when the parent dies (even by SIGKILL), where Linux allows it."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before that took effect
        os._exit(1)


def _limit_memory(max_mb: int) -> None:
    """``RLIMIT_DATA`` so that this worker's heap and anonymous maps stay within ``max_mb`` of RSS.

    RLIMIT_AS would count the address space onnxruntime and the thread stacks reserve (a loaded
    worker maps about 900 MB for 210 MB resident), so it would fail documents far below the limit.
    The file-backed part of RSS (code, models mapped from disk) is left out of the data budget.
    """
    import resource

    status = _proc_status()
    file_backed = (status.get("RssFile", 0) + status.get("RssShmem", 0)) * 1024
    budget = max_mb * 2**20 - file_backed
    if status and status.get("VmData", 0) * 1024 >= budget:
        raise EngineError(
            f"--max-worker-mb {max_mb} is below what a worker holds once its models are loaded "
            f"({(status['VmData'] * 1024 + file_backed) / 2**20:.0f} MB)"
        )
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        budget = min(budget, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (budget, hard))


def _proc_status() -> dict[str, int]:
    """The kB fields of /proc/self/status ({} where there is no /proc)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                parts = value.split()
                if len(parts) == 2 and parts[1] == "kB":
                    out[key] = int(parts[0])
    except OSError:
        return {}
    return out
