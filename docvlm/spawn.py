"""Starting worker interpreters for the supervised runner (``docvlm.runner``), and one ahead of its run.

A worker is a fresh ``python -c BOOT FD`` (``docvlm.worker``), never a fork, with SIGINT ignored and
this package on its ``PYTHONPATH``; it waits on its end of a socket pair for its options. The CLI
starts one early (``start_worker_early``), so that it imports the stack while the parent sets up.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from docvlm.worker import BOOT

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


def runs_in_workers(workers: int, limits_on: bool, local_model: bool, engine_injected: bool = False) -> bool:
    """Whether documents run in worker processes: when limits are on or there are several workers.

    Not for an engine object handed to the Pipeline (it cannot cross a process boundary), nor for
    a local transformers model: it holds GBs (GPU) and batches documents in one process. The one
    rule, for the runner (``runner.supervised``, from the options) and for the CLI, which asks it
    from its raw flags before it has built the options, to start its worker early.
    """
    if engine_injected or local_model:
        return False
    return limits_on or workers > 1


def start_worker_process() -> tuple[subprocess.Popen[bytes], Connection, float]:
    """A fresh worker interpreter and this end of its pipe; it waits for its options (``worker_main``)."""
    from multiprocessing.connection import Connection

    ours, theirs = socket.socketpair()
    package_root = str(Path(__file__).resolve().parents[1])  # docvlm/ and schemas/ live here
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    # a worker starts with SIGINT ignored (kept across exec), so a Ctrl-C in the terminal, which
    # reaches the whole process group, never interrupts it: the parent decides when workers stop
    main = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=2,  # nothing a worker prints reaches stdout, which may carry the JSONL records
            env=env,
        )
    finally:
        if main:
            signal.signal(signal.SIGINT, handler)
        theirs.close()
    return proc, Connection(ours.detach()), time.monotonic()


#: a worker started before its run's options were known, for the first runner of this process, and
#: the environment it inherited
_EARLY: list[tuple[subprocess.Popen[bytes], Connection, float]] = []
_EARLY_ENV: dict[str, str] = {}


def start_worker_early() -> None:
    """Start one worker process now, before the run is configured, for the first ``BatchRunner`` to take.

    It imports the stack while this process reads its settings, resolves the schema and surveys
    the inputs (the CLI's ``extract``), so it is ready about that much sooner. A runner takes it while
    this process's environment is the one it inherited; unused, its pipe is closed (at the latest at
    exit) and it ends without reading a document.
    """
    if not _EARLY:
        _EARLY.append(start_worker_process())
        _EARLY_ENV.clear()
        _EARLY_ENV.update(os.environ)


def take_early_worker() -> tuple[subprocess.Popen[bytes], Connection, float] | None:
    """The worker started early, if it is alive and this process's environment is still the one it got."""
    if _EARLY and _EARLY[0][0].poll() is None and dict(os.environ) == _EARLY_ENV:
        return _EARLY.pop()
    _close_early()
    return None


def _close_early() -> None:
    while _EARLY:
        _, conn, _ = _EARLY.pop()
        with contextlib.suppress(OSError):
            conn.close()  # it ends without reading a document


atexit.register(_close_early)
