"""docvlm command line: a thin Typer layer over the public Python API (docvlm.pipeline).

Only Typer and the names the flags need are imported here; the pipeline, the engines and the
schemas are imported by the command that runs, so ``--help`` or ``schema`` loads none of the stack.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from docvlm.sinks import OutputFormat
from evaluation.cli import eval_app

if TYPE_CHECKING:
    from docvlm.engines import HybridOptions, LayoutOptions, OpenAIOptions, TransformersOptions
    from docvlm.pipeline import Pipeline, PipelineOptions

app = typer.Typer(
    name="docvlm",
    help="Invoices and forms in, validated and grounded JSON out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: no `<bool>` on flags, and `[...]` in a help text stays text
)
app.add_typer(eval_app, name="eval")


class EngineKind(str, Enum):
    LAYOUT = "layout"
    TRANSFORMERS = "transformers"
    OPENAI = "openai"
    HYBRID = "hybrid"


class EinvoiceMode(str, Enum):
    BOTH = "both"
    XML = "xml"
    VISUAL = "visual"


class OcrBackendKind(str, Enum):
    RAPIDOCR = "rapidocr"
    TESSERACT = "tesseract"


class OcrMode(str, Enum):
    AUTO = "auto"
    FORCE = "force"
    NEVER = "never"


class SplitMode(str, Enum):
    AUTO = "auto"
    NEVER = "never"


EngineOpt = Annotated[EngineKind, typer.Option("--engine", "-e", help="Extraction engine.")]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model id or local folder (transformers), served model name (openai), or a `docvlm train` folder (layout).",
    ),
]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1")
]
ApiKeyEnvOpt = Annotated[str, typer.Option("--api-key-env", help="Env var that holds the API key.")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="cuda, mps or cpu (default: choose).")]
DtypeOpt = Annotated[
    str | None, typer.Option("--dtype", help="bfloat16, float16 or float32 (default: choose).")
]
DpiOpt = Annotated[
    int | None,
    typer.Option("--dpi", min=50, max=600, help="Raster resolution for OCR and VLMs [default: 200]."),
]
OcrOpt = Annotated[
    str | None,
    typer.Option(
        "--ocr",
        metavar="auto|force|never",
        help="auto: OCR the pages whose text layer is missing or wrong; force: OCR every page; "
        "never: the text layer or nothing (default: auto).",
    ),
]
OcrBackendOpt = Annotated[
    OcrBackendKind | None,
    typer.Option("--ocr-backend", help="OCR engine (default: rapidocr)."),
]


def ocr_flags(ocr: str | None, backend: OcrBackendKind | None) -> tuple[str | None, str | None]:
    """``--ocr`` and ``--ocr-backend`` as (mode, backend); the old ``--ocr rapidocr|tesseract|none`` still works."""
    if ocr is None or ocr in OcrMode._value2member_map_:
        return ocr, backend.value if backend else None
    if ocr == "none":
        return OcrMode.NEVER.value, backend.value if backend else None
    if ocr in OcrBackendKind._value2member_map_ and backend is None:
        typer.echo(f"note: --ocr {ocr} is now --ocr-backend {ocr}", err=True)
        return None, ocr
    raise typer.BadParameter(f"{ocr!r} is not one of auto, force, never", param_hint="--ocr")


VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug.")]
EinvoiceOpt = Annotated[
    EinvoiceMode,
    typer.Option(
        "--einvoice",
        help="E-invoices (ZUGFeRD, Factur-X, XRechnung, UBL): both = data from the XML, checked "
        "against the page; xml = the XML only; visual = ignore the XML and read the page.",
    ),
]


def _setup_logging(verbose: int) -> None:
    """Log to stderr at ``DOCVLM_LOG_LEVEL`` (default WARNING); -v means INFO, -vv DEBUG."""
    from docvlm.settings import DocvlmSettings

    if verbose:
        level: int | str = logging.INFO if verbose == 1 else logging.DEBUG
    else:
        level = DocvlmSettings().log_level.upper()
    try:
        logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    except ValueError as exc:  # an unknown level name in DOCVLM_LOG_LEVEL
        raise typer.BadParameter(f"DOCVLM_LOG_LEVEL: {exc}") from exc


def build_engine_options(
    engine: EngineKind,
    model: str | None,
    base_url: str | None,
    api_key_env: str = "OPENAI_API_KEY",
    device: str | None = None,
    dtype: str | None = None,
) -> LayoutOptions | TransformersOptions | OpenAIOptions | HybridOptions:
    """Map CLI flags onto the typed engine options."""
    from docvlm.engines import HybridOptions, LayoutOptions, OpenAIOptions, TransformersOptions

    if engine is EngineKind.LAYOUT:
        return LayoutOptions(model=model)  # a model folder from `docvlm train`, or the package's
    if not model:
        raise typer.BadParameter(f"--engine {engine.value} needs --model", param_hint="--model")
    vlm: TransformersOptions | OpenAIOptions
    if engine is EngineKind.OPENAI or (engine is EngineKind.HYBRID and base_url):
        vlm = OpenAIOptions(
            model=model,
            base_url=base_url or OpenAIOptions.model_fields["base_url"].default,
            api_key_env=api_key_env,
        )
    else:
        vlm = TransformersOptions(model=model, device=device, dtype=dtype)
    if engine is EngineKind.HYBRID:
        return HybridOptions(vlm=vlm)
    return vlm


@app.command()
def extract(
    inputs: Annotated[
        list[str], typer.Argument(help="Files, folders (walked recursively) or glob patterns.")
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Output file, or - for JSONL on stdout.")
    ] = "-",
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", "-f", help="jsonl, csv or parquet (default: from -o).")
    ] = None,
    engine: EngineOpt = EngineKind.LAYOUT,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    dpi: DpiOpt = None,
    ocr: OcrOpt = None,
    ocr_backend: OcrBackendOpt = None,
    split: Annotated[
        SplitMode,
        typer.Option(
            "--split", help="auto: one record per invoice when a file holds several; never: one per file."
        ),
    ] = SplitMode.AUTO,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Worker processes (not for the transformers engine) [default: 1]; with --ray, actors "
            "[default: one per CPU of the cluster].",
        ),
    ] = None,
    schema: Annotated[
        str,
        typer.Option(
            "--schema",
            help="What to extract: invoice, receipt, form, module:Class (a Pydantic model) or a JSON "
            "Schema file.",
        ),
    ] = "invoice",
    einvoice: EinvoiceOpt = EinvoiceMode.BOTH,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run: skip the documents it recorded.")
    ] = False,
    retry_errors: Annotated[
        bool,
        typer.Option("--retry-errors", help="With --resume (implied): read error records' documents again."),
    ] = False,
    doc_timeout: Annotated[
        float,
        typer.Option(
            "--doc-timeout",
            min=0,
            envvar="DOCVLM_DOC_TIMEOUT",
            help="Seconds a document may take before it becomes a ResourceLimit record (longer for "
            "long text-layer PDFs); 0: no limit.",
        ),
    ] = 120.0,
    max_worker_mb: Annotated[
        int,
        typer.Option(
            "--max-worker-mb",
            min=0,
            envvar="DOCVLM_MAX_WORKER_MB",
            help="Memory a worker process may use, in MB; a document that needs more becomes a "
            "ResourceLimit record. 0: no limit.",
        ),
    ] = 1500,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    ray: Annotated[bool, typer.Option("--ray", help="Run as a Ray Data job (needs the ray extra).")] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="Ray cluster: auto or ray://host:port [default: start a local one]."
        ),
    ] = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Extract header fields and line items: one record per input document."""
    # the run's objects are left to the end of the process: its last collections over them (about
    # 0.1 s of the interpreter's finalization) are skipped; the sink and the workers close explicitly
    atexit.register(gc.freeze)
    from docvlm.spawn import runs_in_workers, start_worker_early

    limits_on = doc_timeout > 0 or max_worker_mb > 0  # LimitOptions.enabled, before the options are built
    if not ray and runs_in_workers(workers or 1, limits_on, _local_model(engine, base_url)):
        start_worker_early()  # the run's worker imports the stack while this process sets up
    _setup_logging(verbose)
    from docvlm.einvoice.reader import EinvoiceOptions
    from docvlm.errors import EngineError, Interrupted, OutputError
    from docvlm.pipeline import PipelineOptions
    from docvlm.runner import LimitOptions
    from docvlm.sinks import create_sink
    from docvlm.split import SplitOptions

    ocr_mode, backend = ocr_flags(ocr, ocr_backend)
    options = PipelineOptions.from_settings(
        engine=build_engine_options(engine, model, base_url, api_key_env, device, dtype),
        dpi=dpi,
        ocr_backend=backend,
        ocr_mode=ocr_mode,
        workers=workers,
        schema_name=schema,
        split=SplitOptions(mode=split.value),
        einvoice=EinvoiceOptions(mode=einvoice.value),
        limits=LimitOptions(doc_timeout_s=doc_timeout, max_worker_mb=max_worker_mb),
    )
    if ray:
        _schema_pipeline(options).close()
        _run_ray(inputs, output, fmt, options, ray_address, resume, retry_errors, workers)
    pipe = _schema_pipeline(options)  # the schema and the engine's support for it, before any file is read
    try:  # the output is checked and locked before any document is read
        sink = create_sink(
            output, fmt, resume=resume or retry_errors, retry_errors=retry_errors, schema=pipe.schema
        )
    except OutputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from docvlm.progress import ProgressBar, survey_inputs

    bar: ProgressBar | None = None
    counts = {"ok": 0, "partial": 0, "error": 0}
    kept = f"; the records so far are in {output}.partial: run again with --resume" if output != "-" else ""
    try:
        with sink:
            survey = survey_inputs(inputs, sink.done_sources())  # counted first, for the bar and the notices
            for line in survey.notices():
                typer.echo(line, err=True)
            if resume or retry_errors:
                typer.echo(
                    f"resuming {output}: {survey.done} documents already done, {len(survey.todo)} to read",
                    err=True,
                )
            bar = ProgressBar(len(survey.todo), enabled=progress and sys.stderr.isatty(), file=sys.stderr)
            for ex in pipe.run(survey.todo, on_source=bar.on_source()):
                sink.write(ex.to_record())
                counts[ex.status.value] += 1
                bar.finished(counts, file_done=ex.part >= ex.parts)
    except Interrupted as exc:
        typer.echo(f"{exc} after {sum(counts.values())} documents{kept}", err=True)
        raise typer.Exit(128 + exc.signum) from None
    except EngineError as exc:  # the batch itself could not run (a worker could not start)
        typer.echo(f"error: {exc}{kept}", err=True)
        raise typer.Exit(2) from None
    except OutputError as exc:  # the finished output could not be moved into place
        typer.echo(f"error: {exc}{kept}", err=True)
        raise typer.Exit(1) from None
    finally:
        if bar is not None:
            bar.close()
        pipe.close()
    _report(counts, survey.done, output)


def _local_model(engine: EngineKind, base_url: str | None) -> bool:
    """A local transformers model (``build_engine_options``), which runs in this process, not in workers."""
    return engine is EngineKind.TRANSFORMERS or (engine is EngineKind.HYBRID and not base_url)


def _schema_pipeline(options: PipelineOptions) -> Pipeline:
    """The pipeline, once its schema resolves and its engine can extract it; exit 2 otherwise."""
    from docvlm.errors import EngineError
    from docvlm.pipeline import Pipeline
    from schemas.resolve import SchemaError

    try:
        pipe = Pipeline(options)
        pipe.check_schema()
    except (SchemaError, EngineError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return pipe


def _run_ray(
    inputs: list[str],
    output: str,
    fmt: OutputFormat | None,
    options: PipelineOptions,
    address: str | None,
    resume: bool,
    retry_errors: bool,
    actors: int | None,
) -> None:
    """``extract --ray``: the job on Ray (``--workers``: that many actors), then the summary line."""
    from docvlm.errors import OutputError
    from docvlm.scale import RayOptions
    from docvlm.scale.job import run_job

    kept = f"; the records so far are in {output}.partial: run again with --resume" if output != "-" else ""
    try:
        counts, done = run_job(
            inputs,
            output,
            fmt,
            options,
            address,
            resume=resume,
            ray_options=RayOptions(concurrency=actors),
            retry_errors=retry_errors,
        )
    except OutputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo(f"interrupted{kept if fmt is not OutputFormat.PARQUET else ''}", err=True)
        raise typer.Exit(130) from None
    _report(counts, done, output)


def _report(counts: dict[str, int], done: int, output: str) -> None:
    """The summary line on stderr, and the exit code: 0 all ok, 1 some errors, 2 nothing found."""
    total = sum(counts.values())
    if total == 0 and not done:
        typer.echo("error: no input documents found", err=True)
        raise typer.Exit(2)
    typer.echo(
        f"{total} documents: {counts['ok']} ok, {counts['partial']} partial, {counts['error']} error"
        + (f"; {done} already done" if done else "")
        + ("" if output == "-" else f" -> {output}"),
        err=True,
    )
    raise typer.Exit(1 if counts["error"] else 0)


@app.command()
def ask(
    path: Annotated[Path, typer.Argument(help="A document (PDF or image).")],
    questions: Annotated[
        list[str], typer.Argument(help="One or more questions about the document (it is read once).")
    ],
    engine: EngineOpt = EngineKind.LAYOUT,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    dpi: DpiOpt = None,
    ocr: OcrOpt = None,
    ocr_backend: OcrBackendOpt = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Answer questions about one document: per question, a JSON line with the printed answer, its page,
    box and confidence (null where nothing on the page supports an answer)."""
    _setup_logging(verbose)
    from docvlm.errors import DocvlmError
    from docvlm.pipeline import Pipeline, PipelineOptions

    ocr_mode, backend = ocr_flags(ocr, ocr_backend)
    options = PipelineOptions.from_settings(
        engine=build_engine_options(engine, model, base_url, api_key_env, device, dtype),
        dpi=dpi,
        ocr_backend=backend,
        ocr_mode=ocr_mode,
    )
    pipe = Pipeline(options)
    try:
        for question in questions:  # the pipeline caches the file's pages by content: one read
            typer.echo(pipe.ask(path, question).model_dump_json())
    except DocvlmError as exc:
        typer.echo(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}))
        raise typer.Exit(1) from exc
    finally:
        pipe.close()


@app.command()
def review(
    pred: Annotated[list[Path], typer.Argument(help="JSONL records written by docvlm extract.")],
    html_out: Annotated[Path, typer.Option("--html", help="The review page to write.")] = Path("review.html"),
    dpi: Annotated[int, typer.Option("--dpi", min=36, max=300, help="Resolution of the page images.")] = 100,
    verbose: VerboseOpt = 0,
) -> None:
    """Look over a batch without labels: every field's box and line item drawn on its page, least sure first."""
    _setup_logging(verbose)
    from evaluation.readers import DatasetError
    from evaluation.review import write_review

    try:
        path, n = write_review(pred, html_out, dpi=dpi)
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="PRED") from exc
    typer.echo(f"{n} records -> {path}", err=True)


@app.command()
def train(
    inputs: Annotated[
        list[str], typer.Argument(help="Document files or folders (SROIE folders: their transcripts).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model folder to write.")],
    gold: Annotated[
        Path | None, typer.Option("--gold", help="Label folder or file (default: each input's own folder).")
    ] = None,
    labels: Annotated[
        str,
        typer.Option("--labels", help="docvlm, invoice2data, sroie, einvoice or auto.", case_sensitive=False),
    ] = "auto",
    from_scratch: Annotated[
        bool, typer.Option("--from-scratch", help="Ignore the package's model (default: add to it).")
    ] = False,
    init: Annotated[
        Path | None, typer.Option("--init", help="Continue from this model folder instead of the package's.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same data + seed = same model).")] = 0,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds (by layout group).")] = 4,
    synthetic: Annotated[
        list[str] | None,
        typer.Option(
            "--synthetic",
            help="Generated documents (files or folders, their labels beside them, repeatable): they train "
            "the models, and never calibrate, decide or score them.",
        ),
    ] = None,
    seller_profiles: Annotated[
        bool,
        typer.Option(
            "--seller-profiles/--no-seller-profiles",
            help="Also learn where each labelled seller prints each field (sellers.json), for its next documents.",
        ),
    ] = True,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Train the layout engine's chooser and table model on labelled documents; prints cross-validated scores.

    Use the result with `docvlm extract ... --engine layout --model MODEL_DIR`.
    """
    _setup_logging(verbose)
    from docvlm.engines.layout.ranker import DEFAULT_MODEL_DIR
    from docvlm.training import components
    from docvlm.training.data import load_training_docs
    from docvlm.training.train import train_model
    from evaluation.readers import DatasetError

    fmt = labels.lower()
    try:
        docs = load_training_docs(inputs, gold, fmt, progress=not no_progress)
        if synthetic:
            docs += load_training_docs(synthetic, None, "auto", progress=not no_progress, synthetic=True)
    except DatasetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not docs:
        typer.echo("error: no labelled documents found", err=True)
        raise typer.Exit(2)
    start = None if from_scratch else (init or DEFAULT_MODEL_DIR)
    if start is not None and not (Path(start) / "meta.json").is_file():
        start = None
    meta = train_model(
        docs,
        output,
        start,
        seed,
        trainers=components(folds, progress=not no_progress, sellers=seller_profiles),
    )
    head = meta["components"]["header"]["scores"]
    n_synthetic = meta["training_data"]["synthetic"]
    typer.echo(
        f"{len(docs)} documents ({n_synthetic} generated), {meta['training_data']['groups']} groups -> {output}"
    )
    typer.echo(f"cross-validated ({head['cross_validation']}): accuracy {head['overall_accuracy']:.3f}")
    typer.echo("| field | n | model | rules | candidate recall |\n|---|---:|---:|---:|---:|")
    for name, s in head["fields"].items():
        typer.echo(
            f"| {name} | {s['n']} | {s['accuracy']:.3f} | {s['rules_accuracy']:.3f} | {s['candidate_recall']:.3f} |"
        )
    tables = meta["components"].get("tables", {}).get("scores", {}).get("cross_validated")
    if tables:
        typer.echo(
            f"line items ({meta['components']['tables']['scores']['cross_validation']}): F1 {tables['f1']:.3f} "
            f"(P {tables['precision']:.3f}, R {tables['recall']:.3f})"
        )
    sellers = meta["components"].get("sellers")
    if sellers:
        measured = ", ".join(f"{f} {m['right']}/{m['decided']}" for f, m in sellers["measured"].items())
        typer.echo(
            f"seller profiles: {sellers['sellers']} sellers; they decide {', '.join(sellers['fields'])}"
            f" (each seller's documents read with a profile of its others: {measured or 'none measured'})"
        )


@app.command("quantize-ocr")
def quantize_ocr(
    inputs: Annotated[list[str], typer.Argument(help="Page images (files or folders) to calibrate on.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The folder to write the detector to.")],
    verbose: VerboseOpt = 0,
) -> None:
    """Rebuild the int8 text detector from RapidOCR's float model, calibrated on page images.

    The package's copy (docvlm/ocr/models) is built by this command; see the README for its inputs.
    Needs the onnx package.
    """
    _setup_logging(verbose)
    from docvlm.errors import OcrError
    from docvlm.ocr.int8 import build_int8_detector
    from docvlm.sources import SUPPORTED_SUFFIXES, iter_sources

    rasters = SUPPORTED_SUFFIXES - {".pdf", ".xml"}
    images = [p for p in iter_sources(inputs) if p.suffix.lower() in rasters]
    if not images:
        typer.echo("error: no images found", err=True)
        raise typer.Exit(2)
    try:
        manifest = build_int8_detector(images, output)
    except OcrError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    cal = manifest["calibration"]
    typer.echo(
        f"int8 detector of {manifest['source']['file']} -> {output} "
        f"({cal['inputs']} detector inputs from {cal['images']} images)"
    )


@app.command()
def schema(
    name: Annotated[
        str,
        typer.Argument(help="invoice, receipt, form, docvqa_answer, module:Class or a JSON Schema file"),
    ] = "invoice",
) -> None:
    """Print the JSON Schema of a document type (for a user's model: as records give it)."""
    import os

    from schemas import BUILTIN_NAMES

    if name in BUILTIN_NAMES:  # the stored text while it matches the sources: no model is built
        from schemas.publish import schema_text

        typer.echo(schema_text(name))
        return
    # nothing is validated here: skip pydantic's scan of every installed package for plugins
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from schemas.resolve import SchemaError, resolve_schema

    try:
        resolved = resolve_schema(name)
    except SchemaError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from exc
    typer.echo(json.dumps(resolved.model.model_json_schema(), indent=2))


if __name__ == "__main__":
    app()
