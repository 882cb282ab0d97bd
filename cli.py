"""docvlm command line: a thin Typer layer over the public Python API (docvlm.pipeline)."""

from __future__ import annotations

import json
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from docvlm.engines import HybridOptions, LayoutOptions, OpenAIOptions, TransformersOptions
from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.sinks import OutputFormat, create_sink
from evaluation.cli import eval_app

app = typer.Typer(
    name="docvlm",
    help="Invoices and forms in, validated and grounded JSON out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


class OcrKind(str, Enum):
    RAPIDOCR = "rapidocr"
    TESSERACT = "tesseract"
    NONE = "none"


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
    OcrKind | None,
    typer.Option("--ocr", help="OCR backend for pages without a text layer [default: rapidocr]."),
]
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
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def build_engine_options(
    engine: EngineKind,
    model: str | None,
    base_url: str | None,
    api_key_env: str = "OPENAI_API_KEY",
    device: str | None = None,
    dtype: str | None = None,
) -> LayoutOptions | TransformersOptions | OpenAIOptions | HybridOptions:
    """Map CLI flags onto the typed engine options."""
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
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="Worker processes (layout engine) [default: 1]."),
    ] = None,
    schema: Annotated[str, typer.Option("--schema", help="Document type schema.")] = "invoice",
    einvoice: EinvoiceOpt = EinvoiceMode.BOTH,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip documents an interrupted run already wrote.")
    ] = False,
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
    _setup_logging(verbose)
    from docvlm.einvoice.reader import EinvoiceOptions

    options = PipelineOptions.from_settings(
        engine=build_engine_options(engine, model, base_url, api_key_env, device, dtype),
        dpi=dpi,
        ocr_backend=ocr.value if ocr else None,
        workers=workers,
        schema_name=schema,
        einvoice=EinvoiceOptions(mode=einvoice.value),
    )
    if ray:
        from docvlm.scale.job import run_job

        try:
            counts, done = run_job(inputs, output, fmt, options, ray_address, resume=resume)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--format") from exc
        _report(counts, done, output)
    try:
        sink = create_sink(output, fmt, resume=resume)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--format") from exc
    pipe = Pipeline(options)
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit="doc", file=sys.stderr)
    counts = {"ok": 0, "partial": 0, "error": 0}
    try:
        with sink:
            for ex in pipe.run(inputs, skip=sink.done_sources()):
                sink.write(ex.to_record())
                counts[ex.status.value] += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(counts)
    finally:
        if bar is not None:
            bar.close()
        pipe.close()
    _report(counts, len(sink.done_sources()), output)


def _report(counts: dict[str, int], done: int, output: str) -> None:
    """The summary line on stderr, and the exit code: 0 all ok, 1 some errors, 2 nothing found."""
    total = sum(counts.values())
    if total == 0 and not done:
        typer.echo("no input documents found", err=True)
        raise typer.Exit(2)
    typer.echo(
        f"{total} documents: {counts['ok']} ok, {counts['partial']} partial, {counts['error']} error"
        + ("" if output == "-" else f" -> {output}"),
        err=True,
    )
    raise typer.Exit(1 if counts["error"] else 0)


@app.command()
def ask(
    path: Annotated[Path, typer.Argument(help="A document (PDF or image).")],
    question: Annotated[str, typer.Argument(help="A question about the document.")],
    engine: EngineOpt = EngineKind.LAYOUT,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    dpi: DpiOpt = None,
    ocr: OcrOpt = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Answer a question about one document: the printed answer, its page, box and confidence."""
    _setup_logging(verbose)
    from docvlm.errors import DocvlmError

    options = PipelineOptions.from_settings(
        engine=build_engine_options(engine, model, base_url, api_key_env, device, dtype),
        dpi=dpi,
        ocr_backend=ocr.value if ocr else None,
    )
    pipe = Pipeline(options)
    try:
        answer = pipe.ask(path, question)
    except DocvlmError as exc:
        typer.echo(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}))
        raise typer.Exit(1) from exc
    finally:
        pipe.close()
    typer.echo(answer.model_dump_json())


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
    except DatasetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not docs:
        typer.echo("error: no labelled documents found", err=True)
        raise typer.Exit(2)
    start = None if from_scratch else (init or DEFAULT_MODEL_DIR)
    if start is not None and not (Path(start) / "meta.json").is_file():
        start = None
    meta = train_model(docs, output, start, seed, trainers=components(folds, progress=not no_progress))
    head = meta["components"]["header"]["scores"]
    typer.echo(f"{len(docs)} documents, {meta['training_data']['groups']} groups -> {output}")
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


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help="invoice, receipt, form or docvqa_answer")] = "invoice",
) -> None:
    """Print the JSON Schema of a document type."""
    from schemas import json_schema_text

    try:
        typer.echo(json_schema_text(name))
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="NAME") from exc


if __name__ == "__main__":
    app()
