"""Sink stage: output records in, JSONL / CSV / Parquet files out.

Every sink writes to a temporary sibling and renames it into place on close, so a crash never
leaves a half-written output. The JSONL sink flushes each record to ``<out>.partial`` as it goes;
``resume=True`` picks the records of an interrupted run back up and reports their sources as done.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from docvlm.paths import get_path

_log = logging.getLogger(__name__)


class OutputFormat(str, enum.Enum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


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
    """The line items of one record, keyed by source and position."""
    from schemas.invoice import LINE_ITEM_FIELDS

    items = ((rec.get("data") or {}).get("line_items")) or []
    rows = []
    for i, item in enumerate(items):
        row: dict[str, Any] = {"source": rec.get("source"), "index": i}
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
        """Drop what was written (temporary files) without touching the destination."""

    def done_sources(self) -> set[str]:
        """Sources already written by an interrupted earlier run (resume)."""
        return set()

    def __enter__(self) -> Sink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _tmp_for(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


class JsonlSink(Sink):
    """JSON Lines, one record per line; ``-`` writes to stdout."""

    def __init__(self, path: str | Path, resume: bool = False) -> None:
        super().__init__(path)
        self._stdout = str(path) == "-"
        self._done: set[str] = set()
        self._fh: IO[str]
        if self._stdout:
            self._fh = sys.stdout
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.path.with_name(self.path.name + ".partial")
        kept: list[str] = []
        if resume:
            for src in (self.partial, self.path):
                if src.exists():
                    kept = _complete_lines(src)
                    break
        self._fh = open(self.partial, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()/abort()
        for line in kept:
            self._fh.write(line + "\n")
            self._done.add(json.loads(line)["source"])
        self.count = len(kept)
        self._fh.flush()

    def done_sources(self) -> set[str]:
        return set(self._done)

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        if self._stdout:
            self._fh.flush()
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        # the .partial file stays so that --resume can pick the batch back up; the destination is untouched
        if not self._stdout:
            self._fh.close()


def _complete_lines(path: Path) -> list[str]:
    """The whole, parseable lines of a JSONL file (a torn last line from a crash is dropped)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and "source" in obj:
                out.append(line)
    return out


class _TableSink(Sink):
    """Collects flat rows and writes a documents table plus a line-items table on close."""

    suffix = ""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.docs: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []

    @property
    def items_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}.line_items{self.path.suffix or self.suffix}")

    def write(self, record: dict[str, Any]) -> None:
        self.docs.append(document_row(record))
        self.items.extend(line_item_rows(record))
        self.count += 1

    def _frames(self) -> tuple[Any, Any]:
        import pandas as pd

        from schemas.invoice import LINE_ITEM_FIELDS

        docs = pd.DataFrame(self.docs, columns=list(document_row({}).keys()))
        items = pd.DataFrame(self.items, columns=["source", "index", *LINE_ITEM_FIELDS])
        return docs, items

    def _write_frame(self, frame: Any, path: Path) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        docs, items = self._frames()
        pairs = [(docs, self.path), (items, self.items_path)]
        tmps = []
        try:
            for frame, dest in pairs:
                tmp = _tmp_for(dest, "tmp")
                self._write_frame(frame, tmp)
                tmps.append((tmp, dest))
            for tmp, dest in tmps:
                os.replace(tmp, dest)
        finally:
            for tmp, _ in tmps:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()


class CsvSink(_TableSink):
    """``out.csv`` (one row per document) and ``out.line_items.csv`` keyed by source."""

    suffix = ".csv"

    def _write_frame(self, frame: Any, path: Path) -> None:
        frame.to_csv(path, index=False)


class ParquetSink(_TableSink):
    """``out.parquet`` and ``out.line_items.parquet`` through pandas/pyarrow; money stays decimal strings."""

    suffix = ".parquet"

    def _write_frame(self, frame: Any, path: Path) -> None:
        frame.to_parquet(path, index=False)


def create_sink(path: str | Path, fmt: OutputFormat | str | None = None, resume: bool = False) -> Sink:
    """A sink for ``path``; the format defaults to the file suffix, then JSONL."""
    if fmt is None:
        suffix = Path(str(path)).suffix.lower().lstrip(".")
        fmt = suffix if suffix in {f.value for f in OutputFormat} else OutputFormat.JSONL
    fmt = OutputFormat(fmt)
    if fmt is OutputFormat.JSONL:
        return JsonlSink(path, resume=resume)
    if str(path) == "-":
        raise ValueError(f"{fmt.value} output needs a file path, not stdout")
    return CsvSink(path) if fmt is OutputFormat.CSV else ParquetSink(path)


def write_records(
    records: Iterable[dict[str, Any]], path: str | Path, fmt: OutputFormat | str | None = None
) -> int:
    """Write all records atomically; returns how many were written."""
    with create_sink(path, fmt) as sink:
        for rec in records:
            sink.write(rec)
    return sink.count
