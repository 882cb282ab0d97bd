"""``docvlm eval``: DocVQA ANLS, extraction scores, reports and the accuracy+speed benchmark.

The lead's ``cli.py`` mounts ``eval_app`` with ``app.add_typer(eval_app, name="eval")``.
Exit codes: 0 when the command ran, 2 on usage errors (missing files, unknown label format).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from docvlm.labels.formats import LABEL_FORMATS, DatasetError

if TYPE_CHECKING:
    from docvlm.pipeline import Pipeline

_log = logging.getLogger(__name__)

eval_app = typer.Typer(
    name="eval",
    help="Score docvlm: DocVQA ANLS, field accuracy and line-item F1, HTML reports, benchmarks.",
    no_args_is_help=True,
    add_completion=False,
)

LabelsOpt = Annotated[
    str, typer.Option("--labels", help=f"label format: {', '.join(LABEL_FORMATS)}", case_sensitive=False)
]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug")]
DpiOpt = Annotated[int, typer.Option("--dpi", help="render/OCR resolution for scans")]


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _usage_error(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(2)


def _check_labels(labels: str) -> str:
    low = labels.lower()
    if low not in LABEL_FORMATS:
        raise _usage_error(f"unknown label format {labels!r}; use one of {', '.join(LABEL_FORMATS)}")
    return low


def _pipeline(dpi: int, workers: int = 1, einvoice: str = "both") -> Pipeline:
    # imported here so that --help does not load the pipeline
    from docvlm.einvoice.reader import EinvoiceOptions
    from docvlm.pipeline import Pipeline, PipelineOptions

    options = PipelineOptions.from_settings(
        dpi=dpi,
        workers=workers,
        einvoice=EinvoiceOptions(mode=einvoice),  # type: ignore[arg-type]
    )
    return Pipeline(options)


@eval_app.command("docvqa")
def docvqa_cmd(
    dataset: Annotated[Path, typer.Option("--dataset", help="DocVQA JSON file (official format)")],
    root: Annotated[
        Path | None,
        typer.Option("--root", help="folder the 'image' paths are relative to (default: the file's)"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the submission [{questionId, answer}] here")
    ] = None,
    details: Annotated[
        Path | None, typer.Option("--details", help="write per-question details (JSON)")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="only the first N questions")] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="worker processes (documents in parallel)")
    ] = 1,
    dpi: DpiOpt = 200,
    verbose: VerboseOpt = 0,
) -> None:
    """Answer every question of a DocVQA-format dataset and print ANLS (overall, per type, per document)."""
    _setup_logging(verbose)
    from evaluation.docvqa import default_answer_fn, run_docvqa, write_submission

    pipe = _pipeline(dpi, workers)
    try:
        result = run_docvqa(
            dataset,
            root,
            pipe.load_pages,
            default_answer_fn(pipe),
            limit=limit,
            workers=workers,
            worker_options=pipe.options.model_dump(),
        )
    except DatasetError as exc:
        raise _usage_error(str(exc)) from exc
    finally:
        pipe.close()
    if output is not None:
        write_submission(result.predictions, output)
    if details is not None:
        details.write_text(json.dumps(result.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    typer.echo(result.summary())


@eval_app.command("extract")
def extract_cmd(
    pred: Annotated[list[Path], typer.Option("--pred", help="prediction JSONL (repeatable)")],
    gold: Annotated[
        Path | None,
        typer.Option(
            "--gold", help="label folder or file (with --labels einvoice: default the predicted documents)"
        ),
    ] = None,
    labels: LabelsOpt = "auto",
    json_out: Annotated[Path | None, typer.Option("--json", help="write the full scores as JSON")] = None,
    worst: Annotated[int, typer.Option("--worst", help="how many worst cases to list")] = 10,
    verbose: VerboseOpt = 0,
) -> None:
    """Score extraction records against labels: per-field table, line-item F1, calibration."""
    _setup_logging(verbose)
    from docvlm.labels.einvoice import read_einvoice_gold
    from evaluation.readers import read_gold, read_predictions
    from evaluation.report import report_json, report_markdown
    from evaluation.score import score_extraction

    fmt = _check_labels(labels)
    if gold is None and fmt != "einvoice":
        raise _usage_error("give --gold (only --labels einvoice reads the truth from the documents)")
    try:
        preds = read_predictions(pred)
        if gold is None:  # e-invoices are their own labels: the XML of each predicted document
            truth = read_einvoice_gold(r["source"] for r in preds.values())
        else:
            truth = read_gold(gold, fmt)
        score = score_extraction(preds, truth)
    except DatasetError as exc:
        raise _usage_error(str(exc)) from exc
    where = gold if gold is not None else "the documents' e-invoice XML"
    typer.echo(report_markdown(score, title=f"extraction vs {where}", n_worst=worst))
    if json_out is not None:
        json_out.write_text(
            json.dumps(report_json(score, n_worst=worst), indent=2, ensure_ascii=False), "utf-8"
        )


@eval_app.command("report")
def report_cmd(
    pred: Annotated[list[Path], typer.Option("--pred", help="prediction JSONL (repeatable)")],
    gold: Annotated[Path, typer.Option("--gold", help="label folder or file")],
    labels: LabelsOpt = "auto",
    html_out: Annotated[Path | None, typer.Option("--html", help="self-contained HTML report")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="JSON report")] = None,
    markdown_out: Annotated[Path | None, typer.Option("--markdown", help="Markdown report")] = None,
    title: Annotated[str, typer.Option("--title")] = "docvlm evaluation",
    verbose: VerboseOpt = 0,
) -> None:
    """Write HTML (charts + worst-case page crops), JSON and/or Markdown reports."""
    _setup_logging(verbose)
    from evaluation.readers import read_gold, read_predictions
    from evaluation.report import write_reports
    from evaluation.score import score_extraction

    fmt = _check_labels(labels)
    if html_out is None and json_out is None and markdown_out is None:
        raise _usage_error("give at least one of --html, --json, --markdown")
    if html_out is not None:
        from docvlm.errors import MissingDependency
        from evaluation.report import require_charts

        try:
            require_charts()
        except MissingDependency as exc:
            raise _usage_error(str(exc)) from exc
    try:
        score = score_extraction(read_predictions(pred), read_gold(gold, fmt))
    except DatasetError as exc:
        raise _usage_error(str(exc)) from exc
    for p in write_reports(score, html_out, json_out, markdown_out, title=title):
        typer.echo(f"wrote {p}")


@eval_app.command("benchmark")
def benchmark_cmd(
    data: Annotated[Path, typer.Option("--data", help="folder of documents (and labels)")],
    labels: Annotated[
        str | None, typer.Option("--labels", help=f"label format: {', '.join(LABEL_FORMATS[1:])}")
    ] = None,
    no_labels: Annotated[bool, typer.Option("--no-labels", help="speed and memory only, any folder")] = False,
    gold: Annotated[Path | None, typer.Option("--gold", help="label folder when not inside --data")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the records (JSONL)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the measurements as JSON")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="only the first N documents")] = None,
    workers: Annotated[int, typer.Option("--workers", help="worker processes")] = 1,
    via_cli: Annotated[
        bool, typer.Option("--cli", help="run `docvlm extract` in a child process (start-up included)")
    ] = False,
    floor: Annotated[
        bool, typer.Option("--floor/--no-floor", help='also time PyMuPDF get_text("words") on the same PDFs')
    ] = True,
    einvoice: Annotated[
        str,
        typer.Option("--einvoice", help="both, xml or visual: visual scores the page reading of e-invoices"),
    ] = "both",
    chooser: Annotated[
        bool,
        typer.Option(
            "--chooser", help="also time the layout chooser (features + prediction) on the born-digital PDFs"
        ),
    ] = False,
    startup: Annotated[
        int,
        typer.Option(
            "--startup",
            help="also time `docvlm --help` and `docvlm schema invoice`, N fresh runs each (0: not)",
        ),
    ] = 0,
    dpi: DpiOpt = 200,
    verbose: VerboseOpt = 0,
) -> None:
    """Run extraction over a folder and print accuracy and speed together.

    Speed: pages/s, and the floor (PyMuPDF reading the same PDFs' words) with docvlm's time as a
    multiple of it; for scans seconds a page at p50/p90/max; peak RSS per worker; with --startup,
    the command line's start-up.
    """
    _setup_logging(verbose)
    from evaluation.benchmark import chooser_cost, run_benchmark

    if no_labels and labels:
        raise _usage_error("--labels and --no-labels exclude each other")
    if not no_labels and not labels:
        raise _usage_error("give --labels FORMAT, or --no-labels for a speed-only run")
    fmt = None if no_labels else _check_labels(labels or "")
    if workers < 1:
        raise _usage_error("--workers must be >= 1")
    if einvoice not in ("both", "xml", "visual"):
        raise _usage_error("--einvoice takes both, xml or visual")
    if startup < 0:
        raise _usage_error("--startup must be >= 0")
    pipe = _pipeline(dpi, workers, einvoice)
    cost = None
    try:
        result = run_benchmark(
            pipe, data, fmt, gold_path=gold, output=output, limit=limit, via_cli=via_cli, floor=floor
        )
        if chooser:  # after the timed run, in this process: it does not share the CPU with it
            from docvlm.sources import iter_sources

            sources = list(iter_sources([data]))[:limit] if limit is not None else list(iter_sources([data]))
            cost = chooser_cost(pipe, sources)
    except DatasetError as exc:
        raise _usage_error(str(exc)) from exc
    finally:
        pipe.close()
    starts = []
    if startup:  # after the run too, with the CPU to themselves
        from evaluation.startup import measure_startup

        starts = measure_startup(startup)
    typer.echo(result.summary())
    if cost is not None:
        typer.echo(cost.summary())
    for times in starts:
        typer.echo(times.line())
    if json_out is not None:
        out = result.to_dict()
        if starts:
            out["startup"] = {times.command: times.to_dict() for times in starts}
        if cost is not None:
            out["chooser"] = {
                "documents": cost.documents,
                "pages": cost.pages,
                "ms_per_page": round(cost.ms_per_page, 3),
                "pool_s": round(cost.pool_s, 3),
                "score_s": round(cost.score_s, 3),
            }
        json_out.write_text(json.dumps(out, indent=2), encoding="utf-8")


@eval_app.command("crossval")
def crossval_cmd(
    inputs: Annotated[list[str], typer.Argument(help="document files or folders, one dataset each")],
    gold: Annotated[
        Path | None, typer.Option("--gold", help="label folder (default: each input's own)")
    ] = None,
    labels: LabelsOpt = "auto",
    logo_max: Annotated[
        int, typer.Option("--logo-max", help="datasets with up to this many groups: leave one group out")
    ] = 30,
    folds: Annotated[int, typer.Option("--folds", help="folds of whole groups for datasets with more")] = 5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the held-out records (JSONL)")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the scores per dataset as JSON")
    ] = None,
    fit: Annotated[
        bool, typer.Option("--fit", help="also score a model trained on everything (a fit)")
    ] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress")] = False,
    synthetic: Annotated[
        list[str] | None,
        typer.Option(
            "--synthetic",
            help="generated documents (repeatable): in every fold's training, never held out or scored",
        ),
    ] = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Leave-one-group-out: train on all groups but one, score the one left out, for every group."""
    _setup_logging(verbose)
    from docvlm.training.crossval import crossval, gold_docs, write_records
    from docvlm.training.data import load_training_docs
    from evaluation.crossval_report import crossval_markdown

    try:
        docs = load_training_docs(inputs, gold, labels.lower(), progress=not no_progress)
        generated = (
            load_training_docs(synthetic, None, "auto", progress=not no_progress, synthetic=True)
            if synthetic
            else []
        )
    except DatasetError as exc:
        raise _usage_error(str(exc)) from exc
    if not docs:
        raise _usage_error("no labelled documents found")
    result = crossval(docs + generated, seed=seed, logo_max=logo_max, folds=folds, progress=not no_progress)
    fitted = tables_fit = None
    if fit:
        from docvlm.training.crossval import fit_records, fit_tables

        fitted = fit_records(docs + generated, seed=seed)
        tables_fit = fit_tables(docs + generated, seed=seed)
    text, scores = crossval_markdown(docs, gold_docs(docs), result, fitted, tables_fit)
    typer.echo(text)
    if output is not None:
        write_records(output, result.records)
    if json_out is not None:
        json_out.write_text(json.dumps(scores, indent=2, ensure_ascii=False), encoding="utf-8")
