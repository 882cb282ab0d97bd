"""Sink stage: output records in, JSONL / CSV / Parquet files out.

Every file sink checks its path before any document is read (``create_sink``: the folder exists
and takes files, the path is not a directory, its extension fits the format), holds a lock on it,
and spools the records as JSON lines to ``<out>.partial`` as they come (``docvlm.spool``). On
close, JSONL moves the spool into place; CSV and Parquet convert it into their two tables through
temporary files renamed into place. So a crash never leaves a half-written output, nothing is
lost to a kill, and ``resume=True`` continues an interrupted run in every format.

CSV cells that start with ``= + - @`` (or a tab or carriage return) get a leading ``'`` so that a
spreadsheet shows them as text instead of running them as formulas; plain numbers such as
``-12.50`` are left as they are.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import re
import sys
from collections.abc import Collection, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from docvlm.errors import OutputError
from docvlm.paths import get_path
from docvlm.spool import OutputLock, Spool, check_folder, fsync_folder, safe_temp

_log = logging.getLogger(__name__)


class OutputFormat(str, enum.Enum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


#: the file extensions that fit each format
FORMAT_SUFFIXES: dict[OutputFormat, tuple[str, ...]] = {
    OutputFormat.JSONL: (".jsonl", ".ndjson", ".json"),
    OutputFormat.CSV: (".csv",),
    OutputFormat.PARQUET: (".parquet", ".pq"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d+)*|[.,]\d+)")


def output_format(path: str | Path, fmt: OutputFormat | str | None = None) -> OutputFormat:
    """The format of an output: ``fmt`` if given (the extension must not name another), else the extension."""
    if str(path) == "-":
        chosen = OutputFormat(fmt or OutputFormat.JSONL)
        if chosen is not OutputFormat.JSONL:
            raise OutputError(f"{chosen.value} output needs a file path, not stdout")
        return chosen
    suffix = Path(path).suffix.lower()
    named = next((f for f, sfx in FORMAT_SUFFIXES.items() if suffix in sfx), None)
    if fmt is None:
        if named is None and suffix:
            raise OutputError(
                f"cannot tell the output format from {suffix!r}: name the file .jsonl, .csv or .parquet, "
                "or give --format"
            )
        return named or OutputFormat.JSONL
    chosen = OutputFormat(fmt)
    if named is not None and named is not chosen:
        want = " or ".join(FORMAT_SUFFIXES[chosen])
        raise OutputError(f"{path} does not fit --format {chosen.value}: use a {want} name")
    return chosen


def document_row(rec: dict[str, Any]) -> dict[str, Any]:
    """One flat row per document: status columns, every header field, and summary columns."""
    data = rec.get("data")
    conf = rec.get("confidence") or {}
    err = rec.get("error") or {}
    row: dict[str, Any] = {
        "source": rec.get("source"),
        "sha256": rec.get("sha256"),
        "status": rec.get("status"),
        "document_type": rec.get("document_type"),
        "engine": rec.get("engine"),
        "pages": rec.get("pages"),
        "part": rec.get("part", 1),
        "page_first": (rec.get("page_range") or [None, None])[0],
        "page_last": (rec.get("page_range") or [None, None])[1],
    }
    from schemas.invoice import HEADER_FIELDS  # the schemas load with the first record, not the CLI

    for path in HEADER_FIELDS:
        row[path] = get_path(data, path)
    row["line_item_count"] = len((data or {}).get("line_items") or [])
    row["min_confidence"] = min(conf.values()) if conf else None
    row["warnings"] = ";".join(w.get("code", "") for w in rec.get("warnings") or [])
    row["error_type"] = err.get("type")
    row["error_message"] = err.get("message")
    row["total_s"] = (rec.get("timings") or {}).get("total_s")
    return row


def line_item_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The line items of one record, keyed by source, part (the invoice in the file) and position."""
    from schemas.invoice import LINE_ITEM_FIELDS

    items = ((rec.get("data") or {}).get("line_items")) or []
    rows = []
    for i, item in enumerate(items):
        row: dict[str, Any] = {"source": rec.get("source"), "part": rec.get("part", 1), "index": i}
        for f in LINE_ITEM_FIELDS:
            row[f] = item.get(f)
        rows.append(row)
    return rows


class Sink:
    """Base sink: ``write`` records, then ``close`` (or use it as a context manager)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Stop without finishing: keep what was written for ``--resume``; the destination is untouched."""

    def done_sources(self) -> Collection[str]:
        """Sources an interrupted earlier run already recorded (resume); ``source in`` it means skip."""
        return frozenset()

    def __enter__(self) -> Sink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class StdoutSink(Sink):
    """JSON Lines on stdout, one flushed line per record (nothing else is ever printed there)."""

    def __init__(self) -> None:
        super().__init__("-")

    def write(self, record: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
        self.count += 1

    def close(self) -> None:
        sys.stdout.flush()

    def abort(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()


class _SpooledSink(Sink):
    """A file sink: locked output, records spooled to ``<out>.partial``, ``_commit`` on close."""

    seed_from_dest = False  # can a finished output seed a resumed run (only when it holds whole records)?

    def __init__(self, path: str | Path, resume: bool = False, retry_errors: bool = False) -> None:
        super().__init__(path)
        if str(path) == "-":
            raise OutputError("a file sink needs a file path; create_sink('-') writes to stdout")
        self._lock = OutputLock(self.path)
        self._lock.acquire()
        try:
            self._spool = Spool(self.path, resume, retry_errors, seed_from_dest=self.seed_from_dest)
        except BaseException:
            self._lock.release()
            raise
        self.count = self._spool.kept
        if resume and self._spool.kept:
            _log.info("resuming %s: %d records kept", self.path, self._spool.kept)

    @property
    def partial(self) -> Path:
        return self._spool.path

    def done_sources(self) -> Collection[str]:
        return self._spool.index

    def write(self, record: dict[str, Any]) -> None:
        self._spool.write(record)
        self.count += 1

    def _commit(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        try:
            self._commit()
        finally:  # if the commit failed, the .partial stays for --resume
            self._spool.close()
            self._lock.release()

    def abort(self) -> None:
        self._spool.close()
        self._lock.release()


class JsonlSink(_SpooledSink):
    """JSON Lines, one record per line, moved into place on close."""

    seed_from_dest = True

    def _commit(self) -> None:
        self._spool.commit_jsonl()


class _TableSink(_SpooledSink):
    """A documents table plus a line-items table, converted from the spool on close."""

    suffix = ""

    def __init__(self, path: str | Path, resume: bool = False, retry_errors: bool = False) -> None:
        items = Path(path)
        items = items.with_name(f"{items.stem}.line_items{items.suffix or self.suffix}")
        if items.is_dir():
            raise OutputError(f"{items} (the line items beside {path}) is a directory")
        super().__init__(path, resume, retry_errors)
        if resume and not self._spool.kept and self.path.exists():
            _log.warning(
                "%s has no .partial to resume; a finished %s output is written again", self.path, self.suffix
            )

    @property
    def items_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}.line_items{self.path.suffix or self.suffix}")

    def _frames(self) -> tuple[Any, Any]:
        import pandas as pd

        from schemas.invoice import LINE_ITEM_FIELDS

        docs: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for rec in self._spool.records():
            docs.append(document_row(rec))
            items.extend(line_item_rows(rec))
        return (
            pd.DataFrame(docs, columns=list(document_row({}).keys())),
            pd.DataFrame(items, columns=["source", "part", "index", *LINE_ITEM_FIELDS]),
        )

    def _write_frame(self, frame: Any, fd: int) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        docs, items = self._frames()
        written: list[tuple[Path, Path]] = []
        try:
            for frame, dest in ((docs, self.path), (items, self.items_path)):
                fd, tmp = safe_temp(dest, "tmp")
                written.append((tmp, dest))
                self._write_frame(frame, fd)
            for tmp, dest in written:
                os.replace(tmp, dest)
        finally:
            for tmp, _ in written:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        fsync_folder(self.path)
        self._spool.discard()


def csv_cell(value: Any) -> Any:
    """A cell that a spreadsheet would run as a formula, made text with a leading ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class CsvSink(_TableSink):
    """``out.csv`` (one row per document) and ``out.line_items.csv`` keyed by source."""

    suffix = ".csv"

    def _write_frame(self, frame: Any, fd: int) -> None:
        import pandas as pd

        frame = frame.copy()
        for col in frame.columns:
            if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                frame[col] = frame[col].map(csv_cell)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False)
            fh.flush()
            os.fsync(fh.fileno())


class ParquetSink(_TableSink):
    """``out.parquet`` and ``out.line_items.parquet`` through pandas/pyarrow; money stays decimal strings."""

    suffix = ".parquet"

    def _write_frame(self, frame: Any, fd: int) -> None:
        with os.fdopen(fd, "wb") as fh:
            frame.to_parquet(fh, index=False)
            fh.flush()
            os.fsync(fh.fileno())


def create_sink(
    path: str | Path, fmt: OutputFormat | str | None = None, resume: bool = False, retry_errors: bool = False
) -> Sink:
    """A sink for ``path`` (``-`` is JSONL on stdout), checked and locked before any document is read.

    The format is ``fmt``, else the file extension; raises ``OutputError`` (``OutputLocked`` when
    another run holds the output) for a path that cannot be used.
    """
    chosen = output_format(path, fmt)
    if str(path) == "-":
        if resume:
            raise OutputError("--resume needs an output file, not stdout")
        return StdoutSink()
    check_folder(Path(path))
    if chosen is OutputFormat.JSONL:
        return JsonlSink(path, resume=resume, retry_errors=retry_errors)
    table = CsvSink if chosen is OutputFormat.CSV else ParquetSink
    return table(path, resume=resume, retry_errors=retry_errors)


def write_records(
    records: Iterable[dict[str, Any]], path: str | Path, fmt: OutputFormat | str | None = None
) -> int:
    """Write all records atomically; returns how many were written."""
    with create_sink(path, fmt) as sink:
        for rec in records:
            sink.write(rec)
    return sink.count
