"""Sink stage: output records in, JSONL / CSV / Parquet files out.

Every file sink checks its path before any document is read (``create_sink``: the folder exists
and takes files, the path is not a directory, its extension fits the format), holds a lock on it,
and spools the records as JSON lines to ``<out>.partial`` as they come (``docvlm.spool``). On
close, JSONL moves the spool into place; CSV and Parquet convert it into their two tables through
temporary files renamed into place. So a crash never leaves a half-written output, nothing is
lost to a kill, and ``resume=True`` continues an interrupted run in every format.

The two tables have the columns of ``docvlm.columns.table_layout`` (derived from the schema's
model, so every field is kept and every batch has the same columns). CSV writes the record's
values as text (money as its exact decimal string). Parquet writes one fixed Arrow schema in
every batch: money ``decimal128(18, 2)``, quantities, unit prices and rates ``decimal128(18, 4)``,
dates ``date32``, typed nulls. A value its Parquet column cannot hold (more decimals than the
column's scale, too many digits) is never rounded: its cell is null, the documents row gets the
warning code ``parquet_value_dropped`` and the log names the source, column and value.

CSV cells that start with ``= + - @`` (or a tab or carriage return) get a leading ``'`` so that a
spreadsheet shows them as text instead of running them as formulas; plain numbers such as
``-12.50`` are left as they are.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import json
import logging
import os
import re
import sys
from collections.abc import Collection, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from docvlm.errors import OutputError, ValueNotRepresentable
from docvlm.paths import get_path
from docvlm.spool import OutputLock, Spool, check_folder, fsync_folder, safe_temp

if TYPE_CHECKING:
    from pydantic import BaseModel

    from docvlm.columns import Column, TableLayout

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
#: the warning code a documents row gets when a value did not fit its Parquet column
DROPPED_CODE = "parquet_value_dropped"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d+)*|[.,]\d+)")


def output_format(path: str | Path, fmt: OutputFormat | str | None = None) -> OutputFormat:
    """The format of an output: ``fmt`` if given (an extension must be one of its own), else the extension."""
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
    if suffix and suffix not in FORMAT_SUFFIXES[chosen]:  # out.xlsx with --format jsonl is a mistake too
        want = " or ".join(FORMAT_SUFFIXES[chosen])
        raise OutputError(f"{path} does not fit --format {chosen.value}: use a {want} name")
    return chosen


def schema_layout(schema: type[BaseModel] | None = None) -> TableLayout:
    """The table columns of ``schema`` (default: the invoice); the schemas load with the first table, not the CLI."""
    from docvlm.columns import table_layout

    if schema is None:
        from schemas.invoice import Invoice

        schema = Invoice
    return table_layout(schema)


def document_row(rec: dict[str, Any], layout: TableLayout | None = None) -> dict[str, Any]:
    """One flat row per document: status columns, every field of the schema, and summary columns."""
    layout = layout or schema_layout()
    data = rec.get("data")
    conf = rec.get("confidence") or {}
    err = rec.get("error") or {}
    page_range = rec.get("page_range") or [None, None]
    row: dict[str, Any] = {
        "source": rec.get("source"),
        "sha256": rec.get("sha256"),
        "status": rec.get("status"),
        "document_type": rec.get("document_type"),
        "engine": rec.get("engine"),
        "pages": rec.get("pages"),
        "part": rec.get("part", 1),
        "page_first": page_range[0],
        "page_last": page_range[1],
    }
    for col in layout.fields:
        row[col.name] = get_path(data, col.name)
    items = get_path(data, layout.items_field) if layout.items_field else None
    row["line_item_count"] = len(items) if isinstance(items, list) else 0
    row["min_confidence"] = min(conf.values()) if conf else None
    row["warnings"] = ";".join(w.get("code", "") for w in rec.get("warnings") or [])
    row["error_type"] = err.get("type")
    row["error_message"] = err.get("message")
    row["total_s"] = (rec.get("timings") or {}).get("total_s")
    return row


def line_item_rows(rec: dict[str, Any], layout: TableLayout | None = None) -> list[dict[str, Any]]:
    """The line items of one record, keyed by source, part (the invoice in the file) and position."""
    layout = layout or schema_layout()
    items = get_path(rec.get("data"), layout.items_field) if layout.items_field else None
    rows = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        row: dict[str, Any] = {"source": rec.get("source"), "part": rec.get("part", 1), "index": i}
        for col in layout.item_fields:
            row[col.name] = get_path(item, col.name)
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

    def __init__(
        self,
        path: str | Path,
        resume: bool = False,
        retry_errors: bool = False,
        schema: type[BaseModel] | None = None,
    ) -> None:
        items = Path(path)
        items = items.with_name(f"{items.stem}.line_items{items.suffix or self.suffix}")
        if items.is_dir():
            raise OutputError(f"{items} (the line items beside {path}) is a directory")
        self.layout = schema_layout(schema)
        super().__init__(path, resume, retry_errors)
        if resume and not self._spool.kept and self.path.exists():
            _log.warning(
                "%s has no .partial to resume; a finished %s output is written again", self.path, self.suffix
            )

    @property
    def items_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}.line_items{self.path.suffix or self.suffix}")

    def _rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        docs: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for rec in self._spool.records():
            docs.append(document_row(rec, self.layout))
            items.extend(line_item_rows(rec, self.layout))
        return docs, items

    def _write_rows(self, rows: list[dict[str, Any]], columns: tuple[Column, ...], fd: int) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        docs, items = self._rows()
        tables = ((docs, self.layout.documents, self.path), (items, self.layout.items, self.items_path))
        written: list[tuple[Path, Path]] = []
        try:
            for rows, columns, dest in tables:
                fd, tmp = safe_temp(dest, "tmp")
                written.append((tmp, dest))
                self._write_rows(rows, columns, fd)
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


def _csv_text(value: Any) -> str:
    """A record value as CSV text: exact decimal strings as they are, null empty, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str(csv_cell(value))
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return str(csv_cell(json.dumps(value, ensure_ascii=False, default=str)))


class CsvSink(_TableSink):
    """``out.csv`` (one row per document) and ``out.line_items.csv`` keyed by source, part and index."""

    suffix = ".csv"

    def _write_rows(self, rows: list[dict[str, Any]], columns: tuple[Column, ...], fd: int) -> None:
        names = [c.name for c in columns]
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(names)
            writer.writerows([_csv_text(row.get(n)) for n in names] for row in rows)
            fh.flush()
            os.fsync(fh.fileno())


class ParquetSink(_TableSink):
    """``out.parquet`` and ``out.line_items.parquet`` with the schema's fixed Arrow schema (typed, every batch alike)."""

    suffix = ".parquet"

    def _rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        from docvlm.columns import typed_value

        docs, items = super()._rows()
        dropped: dict[tuple[Any, Any], list[str]] = {}
        for rows, columns in ((items, self.layout.items), (docs, self.layout.documents)):
            for row in rows:
                for col in columns:
                    try:
                        row[col.name] = typed_value(col, row.get(col.name))
                    except ValueNotRepresentable as exc:
                        name = (
                            col.name
                            if rows is docs
                            else f"{self.layout.items_field}.{row['index']}.{col.name}"
                        )
                        _log.warning("%s: %s %s; its Parquet cell is null", row["source"], name, exc)
                        row[col.name] = None
                        dropped.setdefault((row["source"], row["part"]), []).append(name)
        for row in docs:  # the documents row says which of its values (or its items') were dropped
            if (row["source"], row["part"]) in dropped:
                row["warnings"] = ";".join(c for c in (row["warnings"], DROPPED_CODE) if c)
        return docs, items

    def _write_rows(self, rows: list[dict[str, Any]], columns: tuple[Column, ...], fd: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([pa.field(c.name, c.arrow_type()) for c in columns])
        table = pa.Table.from_pylist(rows, schema=schema)
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())


def create_sink(
    path: str | Path,
    fmt: OutputFormat | str | None = None,
    resume: bool = False,
    retry_errors: bool = False,
    schema: type[BaseModel] | None = None,
) -> Sink:
    """A sink for ``path`` (``-`` is JSONL on stdout), checked and locked before any document is read.

    The format is ``fmt``, else the file extension; raises ``OutputError`` (``OutputLocked`` when
    another run holds the output) for a path that cannot be used. ``schema`` (the model of the
    records' ``data``) gives the CSV and Parquet columns.
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
    return table(path, resume=resume, retry_errors=retry_errors, schema=schema)


def write_records(
    records: Iterable[dict[str, Any]],
    path: str | Path,
    fmt: OutputFormat | str | None = None,
    schema: type[BaseModel] | None = None,
) -> int:
    """Write all records atomically; returns how many were written (``schema``: as for ``create_sink``)."""
    with create_sink(path, fmt, schema=schema) as sink:
        for rec in records:
            sink.write(rec)
    return sink.count
