"""The output side of a Ray job: rows to a JSONL file or a Parquet folder, resume, and the CLI's run.

In: a dataset of output rows (``docvlm.scale.dataset``). Out: JSONL through the local job's sink
(checked and locked before the job starts, spooled to ``<out>.partial`` as rows arrive, moved
into place at the end, resumable) or Parquet files in Ray's partitioned layout under one folder
(locked too when it is local; a resumed run adds files beside the earlier ones); the counts of
records by status for the CLI's summary.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docvlm.errors import OutputError
from docvlm.pipeline import PipelineOptions
from docvlm.scale.dataset import RECORD_COLUMN, RayOptions, connect, extract_dataset
from docvlm.sinks import OutputFormat, Sink, create_sink
from docvlm.spool import OutputLock, check_folder

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.data import Dataset

_log = logging.getLogger(__name__)


def records(ds: Dataset) -> Iterator[dict[str, Any]]:
    """The output records of a dataset of rows, streamed to the caller."""
    for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):  # each block as it arrives
        table: pa.Table = batch
        for line in table.column(RECORD_COLUMN).to_pylist():
            yield json.loads(line)


class ParquetFolder:
    """A Parquet output folder (local or a URI): its files, the sources they hold, a lock while written.

    Ray writes each block as its own file, straight into the folder. A file that a killed run left
    unreadable is moved aside as ``.<name>.torn`` (hidden, so Parquet readers skip it) and its
    documents count as not done, so ``--resume`` reads them again.
    """

    def __init__(self, output: str) -> None:
        import pyarrow.fs as pafs

        self.output = output
        self.fs: pafs.FileSystem
        self.root: str
        if "://" in output:
            self.fs, self.root = pafs.FileSystem.from_uri(output)
        else:
            self.fs, self.root = pafs.LocalFileSystem(), str(Path(output).absolute())
        self._lock: OutputLock | None = None

    def lock(self) -> None:
        """Check a local folder can be written and lock it (``<folder>.lock``), before the job starts."""
        if "://" in self.output:
            return
        dest = Path(self.root)
        if dest.exists() and not dest.is_dir():
            raise OutputError(f"{dest} is a file; Parquet output from --ray is a folder")
        check_folder(dest.with_name(dest.name + ".probe"))
        self._lock = OutputLock(dest)
        self._lock.acquire()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def files(self) -> list[str]:
        import pyarrow.fs as pafs

        if self.fs.get_file_info(self.root).type != pafs.FileType.Directory:
            return []
        found = self.fs.get_file_info(pafs.FileSelector(self.root, recursive=True))
        return sorted(
            f.path
            for f in found
            if f.type == pafs.FileType.File
            and f.base_name.endswith(".parquet")
            and not f.base_name.startswith((".", "_"))
        )

    def column(self, files: Sequence[str], name: str) -> list[Any]:
        """One column of the rows in ``files``; an unreadable file is moved aside (see the class docstring)."""
        import pyarrow.parquet as pq

        values: list[Any] = []
        for path in files:
            try:
                values.extend(
                    pq.read_table(path, columns=[name], filesystem=self.fs).column(name).to_pylist()
                )
            except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                aside = f"{path.rsplit('/', 1)[0]}/.{path.rsplit('/', 1)[-1]}.torn"
                _log.warning(
                    "%s cannot be read (%s); moved aside to %s, its documents are read again",
                    path,
                    exc,
                    aside,
                )
                with contextlib.suppress(OSError):
                    self.fs.move(path, aside)
        return values


def write_dataset(ds: Dataset, sink: Sink | ParquetFolder) -> dict[str, int]:
    """Write the rows: to a Parquet folder in Ray's partitioned layout, or record by record to ``sink``.

    Returns the count of new records by status. The sink is closed (its output moved into place)
    when every row is written, and aborted (its ``.partial`` kept for ``--resume``) otherwise.
    """
    counts = {"ok": 0, "partial": 0, "error": 0}
    if isinstance(sink, ParquetFolder):
        before = set(sink.files())
        ds.write_parquet(sink.output)
        new = [f for f in sink.files() if f not in before]
        for status in sink.column(new, "status"):
            counts[status] = counts.get(status, 0) + 1
        return counts
    with sink:
        for rec in records(ds):
            sink.write(rec)
            counts[rec["status"]] = counts.get(rec["status"], 0) + 1
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
        raise OutputError("--ray writes jsonl or parquet (a folder), not csv")
    if output == "-" and chosen is OutputFormat.PARQUET:
        raise OutputError("parquet output needs a folder, not stdout")
    return chosen


def run_job(
    inputs: Sequence[str],
    output: str,
    fmt: OutputFormat | str | None,
    options: PipelineOptions,
    address: str | None = None,
    resume: bool = False,
    ray_options: RayOptions | None = None,
    retry_errors: bool = False,
) -> tuple[dict[str, int], int]:
    """``docvlm extract --ray``: the job on the cluster at ``address`` (a local one when None).

    The output is checked and locked before Ray starts, as the local job does. Returns the counts
    of the records written by status, and how many sources an earlier run had already written
    (resume; ``retry_errors`` reads the documents of its error records again, JSONL only).
    """
    chosen = output_format(output, fmt)
    resume = resume or retry_errors
    target: Sink | ParquetFolder
    if chosen is OutputFormat.PARQUET:
        if retry_errors:
            raise OutputError(
                "--retry-errors with --ray needs JSONL output (a Parquet folder keeps its error rows)"
            )
        target = ParquetFolder(output)
        target.lock()
    else:
        target = create_sink(output, OutputFormat.JSONL, resume=resume, retry_errors=retry_errors)
    try:
        skip: Collection[str] = set()
        if resume and isinstance(target, Sink):
            skip = target.done_sources()
        elif resume and isinstance(target, ParquetFolder):
            skip = set(map(str, target.column(target.files(), "source")))
        connect(address)
        opts = (ray_options or RayOptions()).model_copy(update={"pipeline": options})
        ds = extract_dataset(list(inputs), opts, skip=skip)
        return write_dataset(ds, target), len(skip)
    except BaseException:
        if isinstance(target, Sink):
            target.abort()  # keeps the .partial for --resume (a closed sink ignores this)
        raise
    finally:
        if isinstance(target, ParquetFolder):
            target.release()


__all__ = ["ParquetFolder", "output_format", "records", "run_job", "write_dataset"]
