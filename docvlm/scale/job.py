"""The output side of a Ray job: rows to a JSONL file or a Parquet folder, resume, and the CLI's run.

In: a dataset of output rows (``docvlm.scale.dataset``). Out: JSONL through the local sink (one
file, atomic, resumable) or Parquet files in Ray's partitioned layout under one folder; the
counts of records by status for the CLI's summary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docvlm.pipeline import PipelineOptions
from docvlm.scale.dataset import RECORD_COLUMN, RayOptions, connect, extract_dataset
from docvlm.sinks import JsonlSink, OutputFormat

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.data import Dataset

_log = logging.getLogger(__name__)


def records(ds: Dataset) -> Iterator[dict[str, Any]]:
    """The output records of a dataset of rows, streamed to the caller."""
    for batch in ds.iter_batches(batch_format="pyarrow", batch_size=64):
        table: pa.Table = batch
        for line in table.column(RECORD_COLUMN).to_pylist():
            yield json.loads(line)


def done_sources(output: str | Path, fmt: OutputFormat) -> Collection[str]:
    """Sources an earlier run already wrote to ``output`` (a JSONL file or a Parquet folder)."""
    out = Path(output)
    if fmt is OutputFormat.PARQUET:
        if not out.is_dir():
            return set()
        import pyarrow.dataset as pads

        files = [str(p) for p in out.rglob("*.parquet") if not p.name.startswith(".")]
        if not files:
            return set()
        table = pads.dataset(files, format="parquet").to_table(columns=["source"])
        return {str(s) for s in table.column("source").to_pylist()}

    sink = JsonlSink(output, resume=True)
    try:
        return sink.done_sources()
    finally:
        sink.abort()


def write_dataset(ds: Dataset, output: str | Path, fmt: OutputFormat, resume: bool = False) -> dict[str, int]:
    """Write the rows: Parquet to a folder in Ray's partitioned layout, JSONL to one file.

    Returns the count of new records by status. A JSONL file goes through the local sink (atomic,
    resumable); Parquet files are added to the folder, so a resumed run keeps the earlier ones.
    """
    counts = {"ok": 0, "partial": 0, "error": 0}
    if fmt is OutputFormat.PARQUET:
        ds = ds.materialize()
        ds.write_parquet(str(output))
        for status, n in _status_counts(ds).items():
            counts[status] = counts.get(status, 0) + n
        return counts
    if fmt is not OutputFormat.JSONL:
        raise ValueError(f"--ray writes jsonl or parquet, not {fmt.value}")

    with JsonlSink(output, resume=resume) as sink:
        for rec in records(ds):
            sink.write(rec)
            counts[rec["status"]] = counts.get(rec["status"], 0) + 1
    return counts


def _status_counts(ds: Dataset) -> dict[str, int]:
    counts: dict[str, int] = {}
    for batch in ds.select_columns(["status"]).iter_batches(batch_format="pyarrow"):
        table: pa.Table = batch
        for status in table.column("status").to_pylist():
            counts[status] = counts.get(status, 0) + 1
    return counts


def output_format(output: str, fmt: OutputFormat | str | None) -> OutputFormat:
    """The format of a Ray job's output: as given, else Parquet for a ``.parquet`` name or a folder, else JSONL."""
    if fmt is not None:
        chosen = OutputFormat(fmt)
    elif output.endswith(("/", ".parquet")) or Path(output).is_dir():
        chosen = OutputFormat.PARQUET
    else:
        chosen = OutputFormat.JSONL
    if chosen is OutputFormat.CSV:
        raise ValueError("--ray writes jsonl or parquet (a folder), not csv")
    if output == "-" and chosen is OutputFormat.PARQUET:
        raise ValueError("parquet output needs a folder, not stdout")
    return chosen


def run_job(
    inputs: Sequence[str],
    output: str,
    fmt: OutputFormat | str | None,
    options: PipelineOptions,
    address: str | None = None,
    resume: bool = False,
    ray_options: RayOptions | None = None,
) -> tuple[dict[str, int], int]:
    """``docvlm extract --ray``: the job on the cluster at ``address`` (a local one when None).

    Returns the counts of the records written by status, and how many sources an earlier run had
    already written (resume).
    """
    chosen = output_format(output, fmt)
    skip: Collection[str] = done_sources(output, chosen) if resume and output != "-" else set()
    connect(address)
    opts = (ray_options or RayOptions()).model_copy(update={"pipeline": options})
    ds = extract_dataset(list(inputs), opts, skip=skip)
    return write_dataset(ds, output, chosen, resume=resume), len(skip)


__all__ = ["done_sources", "output_format", "records", "run_job", "write_dataset"]
