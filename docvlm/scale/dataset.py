"""The extraction job on Ray Data: sources in, one flat row per document (per invoice of a file) out.

In: paths, folders and globs (walked as ``docvlm extract`` walks them), URIs of any filesystem
pyarrow or fsspec reaches (``s3://``, ``gs://``, ``abfs://``), or a dataset of file bytes
(``bytes`` plus ``source`` or ``path`` columns, as ``ray.data.read_binary_files`` gives). Files
are read with ``read_binary_files`` and run through the pipeline in ``map_batches`` by a pool
of actors, each of which builds the engine and its OCR models once.

Out: a dataset whose rows follow ``ROW_SCHEMA``: the documents table of the Parquet sink
(``sinks.document_row``), the line items nested as a list of structs (``sinks.line_item_rows``)
and ``record``, the record's JSONL line, so that nothing of the output contract is lost. A bad
file is an error row; a missing local path or URI is an error row made on the driver.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from docvlm.datamodel import Extraction
from docvlm.errors import IngestError, MissingDependency
from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.sinks import document_row, line_item_rows
from docvlm.sources import SUPPORTED_SUFFIXES, iter_sources
from schemas.invoice import HEADER_FIELDS, LINE_ITEM_FIELDS

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.data import Dataset

_log = logging.getLogger(__name__)

#: column of the flat row that holds the whole record as its JSONL line
RECORD_COLUMN = "record"
#: CPUs a read task reserves: reading is I/O, and a reservation would starve a pool that holds every CPU
READ_CPUS = 0
#: read tasks at once: they reserve no CPU, so without a cap Ray starts a process for each of them
#: (seen: 32 worker processes of about 180 MB each for 500 local files on 2 CPUs)
READ_CONCURRENCY = 2
#: tries to start a local Ray
START_ATTEMPTS = 3
_READ_ARGS: dict[str, Any] = {"num_cpus": READ_CPUS, "concurrency": READ_CONCURRENCY}


class RayOptions(BaseModel):
    """How the job is spread: actors, CPUs each, documents per batch."""

    model_config = ConfigDict(extra="forbid")

    pipeline: PipelineOptions = Field(default_factory=PipelineOptions)
    concurrency: int | None = Field(
        default=None,
        ge=1,
        description="actors running the pipeline; None: as many as the cluster's CPUs allow",
    )
    num_cpus: float = Field(default=1.0, gt=0, description="CPUs reserved by each actor")
    batch_size: int = Field(default=4, ge=1, description="documents handed to an actor at once")


def import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise MissingDependency("ray", "ray") from e
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the cluster at ``address`` (``auto``, ``ray://host:10001``), or start a local one when None.

    Does nothing when Ray is already initialised in this process (a test session, a notebook).
    """
    ray = import_ray()
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
        return
    # Ray starts its worker processes at niceness 15 (RAY_worker_niceness): on a busy machine the
    # local cluster's actors would get a fraction of the CPU `--workers N` gets; run them at ours
    os.environ.setdefault("RAY_worker_niceness", "0")
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
            return
        except Exception as exc:  # Ray waits a fixed 30 s for its raylet, too little on a loaded machine
            if attempt == START_ATTEMPTS or "timed out during startup" not in str(exc):
                raise
            _log.warning("the local Ray did not start in time (%s); starting it again", exc)
            ray.shutdown()


# ---------------------------------------------------------------- rows


def row_schema() -> pa.Schema:
    """The Arrow schema of an output row: fixed, so blocks of any batch concatenate and write alike."""
    import pyarrow as pa

    item = pa.struct([("index", pa.int64()), *((f, pa.string()) for f in LINE_ITEM_FIELDS)])
    numeric = {"pages": pa.int64(), "line_item_count": pa.int64(), "min_confidence": pa.float64()}
    numeric |= {"part": pa.int64(), "page_first": pa.int64(), "page_last": pa.int64()}
    numeric["total_s"] = pa.float64()
    fields = [(name, numeric.get(name, pa.string())) for name in document_row({})]
    return pa.schema([*fields, ("line_items", pa.list_(item)), (RECORD_COLUMN, pa.string())])


def records_to_table(recs: Sequence[dict[str, Any]]) -> pa.Table:
    """Output records as rows of ``row_schema()``."""
    import pyarrow as pa

    rows = []
    for rec in recs:
        row = document_row(rec)
        for path in HEADER_FIELDS:  # a model value the schema keeps as a number still reads as text
            if row[path] is not None and not isinstance(row[path], str):
                row[path] = str(row[path])
        items = []
        for item in line_item_rows(rec):
            item.pop("source")
            item.pop("part", None)  # the row's own column
            items.append({k: (v if v is None or k == "index" else str(v)) for k, v in item.items()})
        row["line_items"] = items
        row[RECORD_COLUMN] = json.dumps(rec, ensure_ascii=False, default=str)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=row_schema())


def error_record(source: str, exc: BaseException, engine: str) -> dict[str, Any]:
    return Extraction(source=source, engine=engine).fail(exc).to_record()


class DocumentExtractor:
    """The Ray Data UDF: a batch of (source, bytes) in, a table of output rows out.

    One instance lives in each actor, built once per actor, not per batch. With limits on (the
    default, ``options.limits``) the actor is the watchdog of one supervised worker process
    (``docvlm.runner``), which holds the engine and the OCR models and reads the documents: a
    document past its time or memory limit gets a ``ResourceLimit`` error row, and its worker is
    replaced, as in the local job. With limits off, the actor runs the pipeline itself.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        from docvlm.runner import BatchRunner, supervised

        opts = PipelineOptions.model_validate(options).model_copy(update={"workers": 1})
        self.engine_name = opts.engine.kind
        self.runner: BatchRunner | None = None
        self.pipe: Pipeline | None = None
        if supervised(opts):
            self.runner = BatchRunner(opts, persistent=True)  # its worker lives as long as the actor
            return
        self.pipe = Pipeline(opts)
        self.batch = max(1, getattr(opts.engine, "batch_size", 1))
        _ = self.pipe.engine
        if opts.ocr.backend != "none":
            from docvlm.ocr import get_ocr

            try:
                get_ocr(opts.ocr)
            except Exception as exc:  # an OCR backend that cannot load fails its pages, not the actor
                _log.warning("OCR backend %s could not be loaded: %s", opts.ocr.backend, exc)

    def __call__(self, batch: pa.Table) -> pa.Table:
        sources = [str(s) for s in batch.column("source").to_pylist()]
        items = [
            (s, bytes(b or b"")) for s, b in zip(sources, batch.column("bytes").to_pylist(), strict=True)
        ]
        if self.runner is not None:  # a worker that cannot start fails the task (Ray retries it)
            return records_to_table([ex.to_record() for ex in self.runner.run(items)])
        assert self.pipe is not None
        recs: list[dict[str, Any]] = []
        for start in range(0, len(items), self.batch):
            chunk = items[start : start + self.batch]
            try:
                recs.extend(ex.to_record() for ex in self.pipe.extract_bytes(chunk))
            except Exception as exc:  # the pipeline turns bad documents into records; this guards the rest
                _log.exception("pipeline failed on a batch of %d documents", len(chunk))
                recs.extend(error_record(s, exc, self.engine_name) for s, _ in chunk)
        return records_to_table(recs)

    def __del__(self) -> None:
        runner = getattr(self, "runner", None)  # None also when __init__ failed
        if runner is not None:  # the worker also dies with the actor's process (PR_SET_PDEATHSIG)
            runner.close()


# ---------------------------------------------------------------- sources


def _is_uri(item: str) -> bool:
    return "://" in item and not item.startswith("file://")


def _uri_files(uri: str) -> tuple[Any, list[str], str]:
    """The filesystem of ``uri``, the supported files under it (or the file itself) and its scheme."""
    import pyarrow.fs as pafs

    scheme = uri.split("://", 1)[0]
    try:
        fs, root = pafs.FileSystem.from_uri(uri)
    except (ValueError, NotImplementedError) as exc:  # a scheme pyarrow lacks: reach it through fsspec
        _log.debug("pyarrow has no filesystem for %s (%s); using fsspec", uri, exc)
        import fsspec
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        fs = PyFileSystem(FSSpecHandler(fsspec.filesystem(scheme)))
        root = uri.split("://", 1)[1]
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.File:
        return fs, [root], scheme
    if info.type != pafs.FileType.Directory:
        raise IngestError(f"file not found: {uri}")
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    files = sorted(
        f.path
        for f in found
        if f.type == pafs.FileType.File
        and Path(f.path).suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in Path(f.path).relative_to(root).parts)
    )
    return fs, files, scheme


def _named(names: dict[str, str] | None, scheme: str | None) -> Any:
    """A batch function turning Ray's ``path`` column into the record's ``source``."""

    def name(batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        paths = batch.column("path").to_pylist()
        if names is not None:
            sources = [names.get(p, p) for p in paths]
        else:
            sources = [f"{scheme}://{p}" for p in paths]
        return pa.table({"source": sources, "bytes": batch.column("bytes")})

    return name


def read_sources(
    inputs: Iterable[str | Path], skip: Collection[str] | None = None, engine: str = "layout"
) -> tuple[Dataset | None, list[dict[str, Any]]]:
    """A dataset of (``source``, ``bytes``) for the inputs, and error records for those that cannot be read.

    Local inputs are expanded exactly as the local job expands them (``sources.iter_sources``), so
    the sources match its records; URIs are listed through their filesystem. ``skip`` holds the
    sources already written (resume).
    """
    ray = import_ray()
    skip = skip or set()
    local: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    parts = []
    for item in inputs:
        text = str(item)
        if not _is_uri(text):
            path = text[len("file://") :] if text.startswith("file://") else text
            for p in iter_sources([path]):
                src = str(p)
                if src in skip:
                    continue
                if p.is_file():
                    local[os.path.abspath(p)] = src
                else:
                    errors.append(error_record(src, IngestError(f"file not found: {src}"), engine))
            continue
        try:
            fs, files, scheme = _uri_files(text)
        except (OSError, IngestError) as exc:
            if text not in skip:
                errors.append(error_record(text, IngestError(str(exc)), engine))
            continue
        files = [f for f in files if f"{scheme}://{f}" not in skip]
        if files:
            ds = ray.data.read_binary_files(files, include_paths=True, filesystem=fs, **_READ_ARGS)
            parts.append(ds.map_batches(_named(None, scheme), batch_format="pyarrow"))
    if local:
        ds = ray.data.read_binary_files(list(local), include_paths=True, **_READ_ARGS)
        parts.append(ds.map_batches(_named(local, None), batch_format="pyarrow"))
    if not parts:
        return None, errors
    return (parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]), errors


# ---------------------------------------------------------------- the job


def extract_dataset(
    source: Iterable[str | Path] | Dataset,
    options: RayOptions | None = None,
    skip: Collection[str] | None = None,
) -> Dataset:
    """One output row per input document (``row_schema()``), computed lazily by a pool of actors.

    ``source`` is a list of paths or URIs, or a dataset of file bytes. Generative engines run
    here too (each actor its own engine); for vLLM on a GPU cluster use ``docvlm.scale.vlm``.
    """
    ray = import_ray()
    options = options or RayOptions()
    engine = options.pipeline.engine.kind
    errors: list[dict[str, Any]] = []
    if isinstance(source, ray.data.Dataset):
        names = source.columns() or []
        ds = source if "source" in names else source.map_batches(_named({}, None), batch_format="pyarrow")
    else:
        ds, errors = read_sources(source, skip, engine)
    out = None
    if ds is not None:
        concurrency = options.concurrency or _default_concurrency(options.num_cpus)
        out = ds.map_batches(
            DocumentExtractor,
            fn_constructor_kwargs={"options": options.pipeline.model_dump(mode="json")},
            batch_size=options.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_cpus=options.num_cpus,
        )
    if errors:
        bad = ray.data.from_arrow(records_to_table(errors))
        out = bad if out is None else out.union(bad)
    if out is None:
        return ray.data.from_arrow(records_to_table([]))
    return out


def _default_concurrency(num_cpus: float) -> int:
    cpus = float(import_ray().cluster_resources().get("CPU", 1))
    return max(1, int(cpus // num_cpus))


__all__ = [
    "RECORD_COLUMN",
    "DocumentExtractor",
    "RayOptions",
    "connect",
    "extract_dataset",
    "read_sources",
    "records_to_table",
    "row_schema",
]
