"""Output safety under every file sink: a lock, a crash-safe record spool, resume, safe temp files.

- ``OutputLock``: an exclusive ``fcntl.flock`` on ``<out>.lock``. A second run on the same output
  fails at once with ``OutputLocked`` instead of mixing its records with the first run's.
- ``Spool``: records are appended as JSON lines to ``<out>.partial`` as they come (one ``write``
  per record), so a kill loses at most the record being written. A resumed run appends to the kept
  ``.partial`` after cutting a torn last line; it never rewrites what it keeps. ``commit`` drops
  the records a resumed run superseded and moves the result into place atomically.
- ``ResumeIndex``: what the spool already holds, keyed by resolved absolute path plus sha256, so
  a document counts as done whatever path spelling the resumed run uses, and a changed file
  is read again.
- ``safe_temp``: temporary files come from ``mkstemp`` in the target folder (``O_EXCL``, random
  name), so nothing writes through a planted symlink.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docvlm.errors import OutputError, OutputLocked
from docvlm.ingest import file_sha256

_log = logging.getLogger(__name__)

_OPEN_FLAGS = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def source_key(source: str) -> str:
    """What identifies a source across runs: its resolved absolute path (a URI as it is)."""
    return source if _is_uri(source) else os.path.realpath(source)


def _is_uri(source: str) -> bool:
    scheme, sep, _ = source.partition("://")
    return bool(sep) and scheme.isalnum()


def safe_temp(dest: Path, tag: str) -> tuple[int, Path]:
    """A new temporary file beside ``dest`` (``O_EXCL``, random name): its fd and path."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=f".{tag}", dir=dest.parent or Path("."))
    except OSError as exc:
        raise OutputError(f"cannot create a file in {dest.parent or Path('.')}: {exc.strerror}") from exc
    return fd, Path(name)


def check_folder(dest: Path) -> None:
    """``dest`` can be written: its folder exists and takes a new file, and it is not a directory."""
    folder = dest.parent if str(dest.parent) else Path(".")
    if dest.is_dir():
        raise OutputError(f"{dest} is a directory; give a file name, e.g. {dest / 'out.jsonl'}")
    if not folder.is_dir():
        raise OutputError(f"the folder of {dest} does not exist: {folder}")
    fd, probe = safe_temp(dest, "probe")  # the real test of writability (access() is wrong for root)
    os.close(fd)
    probe.unlink()


def fsync_folder(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class OutputLock:
    """An exclusive lock on an output, held from before the first document to after the last write."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.path = dest.with_name(dest.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o644)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise OutputError(f"{self.path} is a symbolic link; refusing to follow it") from exc
                raise OutputError(f"cannot create the lock file {self.path}: {exc.strerror}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise OutputLocked(
                        f"another docvlm run (pid {holder}) is writing {self.dest}; "
                        "wait for it to finish or choose another -o"
                    ) from exc
                raise OutputError(f"cannot lock {self.path}: {exc.strerror}") from exc
            # a run that finishes unlinks its lock file: make sure we hold the one at the path now
            if _same_file(self.path, fd):
                os.ftruncate(fd, 0)
                _write_all(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
                return
            os.close(fd)
        raise OutputLocked(f"could not take the lock on {self.dest}: other runs keep replacing {self.path}")

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still holding it, so no one else holds an unlinked lock
        os.close(self._fd)
        self._fd = None


class ResumeIndex:
    """The documents an interrupted run already recorded; ``source in index`` means skip it.

    A source is done when a kept record has the same resolved path and the file still has the
    recorded sha256 (a missing file matches a record without one); a URI (``s3://...``, read by a
    Ray job) when a kept record has it. With ``retry_errors``, error records do not count as done.
    Iterating gives the sources of the kept records, as recorded.
    """

    def __init__(self, retry_errors: bool = False) -> None:
        self.retry_errors = retry_errors
        self._done: dict[str, tuple[str | None, str | None]] = {}
        self._sources: dict[str, str] = {}

    def add(self, record: dict[str, Any]) -> None:
        key = source_key(str(record["source"]))
        self._done[key] = (record.get("sha256"), record.get("status"))
        self._sources[key] = str(record["source"])

    def __contains__(self, source: object) -> bool:
        entry = self._done.get(source_key(str(source)))
        if entry is None:
            return False
        sha, status = entry
        if self.retry_errors and status == "error":
            return False
        return _is_uri(str(source)) or file_sha256(str(source)) == sha

    def __len__(self) -> int:
        return len(self._done)

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources.values())


class Spool:
    """Records as JSON lines in ``<dest>.partial``, appended as they come; see the module docstring.

    ``resume`` keeps the ``.partial`` of an interrupted run (or, when ``seed_from_dest``, copies a
    finished JSONL output into a new one) and indexes it in ``self.index``.
    """

    def __init__(
        self, dest: Path, resume: bool = False, retry_errors: bool = False, seed_from_dest: bool = False
    ) -> None:
        self.dest = dest
        self.path = dest.with_name(dest.name + ".partial")
        self.index = ResumeIndex(retry_errors)
        # source key -> the lines that hold its latest records: one per invoice of the file (``part``),
        # written one after the other; a later extraction of the source supersedes all of them
        self._last: dict[str, set[int]] = {}
        self._prev: tuple[str, int] | None = None  # the source key and part of the last line
        self._lines = 0
        self.kept = 0
        if resume and os.path.lexists(self.path):
            self._fd = self._open_kept()
        elif resume and seed_from_dest and os.path.lexists(dest):
            self._fd = self._new(copy_from=dest)
        else:
            if os.path.lexists(self.path):
                _log.warning(
                    "replacing %s, left by an interrupted run; use --resume to continue such a run", self.path
                )
            self._fd = self._new()

    # ---- opening --------------------------------------------------------------------------

    def _new(self, copy_from: Path | None = None) -> int:
        fd, tmp = safe_temp(self.dest, "partial")
        try:
            if copy_from is not None:
                src = _open_regular(copy_from, os.O_RDONLY)
                try:
                    for line in self._index_lines(_iter_lines(src)):
                        _write_all(fd, line)
                finally:
                    os.close(src)
            try:
                os.replace(tmp, self.path)  # replaces a planted symlink itself, never its target
            except OSError as exc:
                raise OutputError(f"cannot create {self.path}: {exc.strerror}") from exc
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return fd

    def _open_kept(self) -> int:
        fd = _open_regular(self.path, os.O_RDWR)
        try:
            whole = 0
            for line in self._index_lines(_iter_lines(fd)):
                whole += len(line)
            size = os.fstat(fd).st_size
            if whole < size:  # a torn last line from a kill mid-write
                _log.info("%s: cutting a torn last line of %d bytes", self.path, size - whole)
                os.ftruncate(fd, whole)
            os.lseek(fd, 0, os.SEEK_END)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _index_lines(self, lines: Iterator[bytes]) -> Iterator[bytes]:
        """Index the records of whole ``lines`` (a torn last line is left out); yields every whole line.

        A whole line that is not a record is yielded (its bytes stay) but never indexed, so
        ``commit`` drops it.
        """
        for raw in lines:
            if not raw.endswith(b"\n"):
                return
            rec = _parse(raw)
            if rec is not None:
                self._note(rec)
                self.index.add(rec)
                self.kept += 1
            else:
                self._lines += 1  # a line no record owns: it forces the filtered copy at commit
            yield raw

    def _note(self, rec: dict[str, Any]) -> None:
        key, part = source_key(str(rec["source"])), int(rec.get("part") or 1)
        if self._prev is not None and self._prev[0] == key and part > self._prev[1]:
            self._last[key].add(self._lines)  # the next invoice of the same file
        else:
            self._last[key] = {self._lines}
        self._prev = (key, part)
        self._lines += 1

    # ---- writing --------------------------------------------------------------------------

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        _write_all(self._fd, line.encode("utf-8"))
        self._note(record)

    def records(self) -> Iterator[dict[str, Any]]:
        """The latest record of every source, in spool order (superseded records left out)."""
        for _, rec in self._latest():
            yield rec

    def _latest(self) -> Iterator[tuple[bytes, dict[str, Any]]]:
        for number, raw in enumerate(_iter_lines(self._fd)):
            rec = _parse(raw)
            if rec is not None and number in self._last.get(source_key(str(rec["source"])), ()):
                yield raw, rec

    def commit_jsonl(self) -> None:
        """Move the spool into place as the JSONL output, without the records a resume superseded."""
        self._check_ours()
        os.fsync(self._fd)
        if sum(len(lines) for lines in self._last.values()) == self._lines:
            os.replace(self.path, self.dest)
        else:
            fd, tmp = safe_temp(self.dest, "tmp")
            try:
                for raw, _ in self._latest():
                    _write_all(fd, raw)
                os.fsync(fd)
                os.replace(tmp, self.dest)
            finally:
                os.close(fd)
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            self.path.unlink()
        fsync_folder(self.dest)
        self.close()

    def discard(self) -> None:
        """The records are safely elsewhere (a converted output): remove the spool."""
        self._check_ours()
        self.path.unlink()
        self.close()

    def close(self) -> None:
        """Close, keeping the ``.partial`` for ``--resume``."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _check_ours(self) -> None:
        if not _same_file(self.path, self._fd):
            raise OutputError(f"{self.path} was replaced while this run wrote it; the output is not moved")


def _same_file(path: Path, fd: int) -> bool:
    """Is ``path`` itself (not followed) the file open as ``fd``?"""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        rec = json.loads(raw)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) and "source" in rec else None


def _iter_lines(fd: int) -> Iterator[bytes]:
    """The lines of an open file from its start (``pread``: the write offset is not moved)."""
    pos, rest = 0, b""
    while chunk := os.pread(fd, 1 << 20, pos):
        pos += len(chunk)
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest


def _open_regular(path: Path, flags: int) -> int:
    """Open a regular file, never through a symlink."""
    try:
        fd = os.open(path, flags | _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{path} is a symbolic link; refusing to follow it") from exc
        raise OutputError(f"cannot open {path} to resume: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutputError(f"{path} is not a regular file")
    return fd
