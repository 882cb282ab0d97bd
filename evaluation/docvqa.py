"""Run question answering over a DocVQA-format dataset and score it with ANLS.

In: an official DocVQA JSON file, the folder its ``image`` paths are relative to, and a pipeline
(ingest + OCR + engine). Each document is opened once and all its questions are answered on the
same pages. Out: a ``DocVQAResult`` with the submission entries ``[{"questionId", "answer"}]``,
overall ANLS, ANLS per question type (when the dataset has ``question_types``) and per document.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docvlm.datamodel import Page
from docvlm.errors import DocvlmError
from evaluation.metrics import anls_score
from evaluation.readers import DocVQAItem, read_docvqa
from schemas.docvqa import Answer, Prediction

if TYPE_CHECKING:
    from docvlm.pipeline import Pipeline

_log = logging.getLogger(__name__)

AnswerFn = Callable[[Sequence[Page], str], Answer]


@dataclass
class GroupScore:
    """Mean ANLS of a group of questions (a question type or a document)."""

    anls: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"anls": round(self.anls, 4), "n": self.n}


@dataclass
class DocVQAResult:
    """Scores and predictions of one DocVQA run; ``n`` counts the questions with gold answers."""

    dataset: str
    anls: float
    n: int
    per_type: dict[str, GroupScore]
    per_document: dict[str, GroupScore]
    predictions: list[Prediction]
    details: list[dict[str, Any]] = field(default_factory=list)
    failed_documents: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "anls": round(self.anls, 4),
            "questions": self.n,
            "per_question_type": {k: v.to_dict() for k, v in self.per_type.items()},
            "per_document": {k: v.to_dict() for k, v in self.per_document.items()},
            "failed_documents": self.failed_documents,
            "seconds": round(self.seconds, 3),
            "details": self.details,
        }

    def summary(self) -> str:
        """Human-readable lines: overall, per question type, per document."""
        if self.n == 0:
            return f"{len(self.predictions)} questions answered; the dataset has no gold answers to score"
        out = [f"ANLS {self.anls:.4f} over {self.n} questions ({self.dataset}, {self.seconds:.1f} s)"]
        if self.per_type:
            out.append("per question type:")
            out += [f"  {k:<24} {v.anls:.4f}  (n={v.n})" for k, v in sorted(self.per_type.items())]
        out.append("per document:")
        out += [f"  {k:<24} {v.anls:.4f}  (n={v.n})" for k, v in self.per_document.items()]
        if self.failed_documents:
            out.append(f"{len(self.failed_documents)} documents could not be read:")
            out += [f"  {k}: {v}" for k, v in self.failed_documents.items()]
        return "\n".join(out)


def write_submission(predictions: Sequence[Prediction], path: str | Path) -> None:
    """Write the official submission format ``[{"questionId", "answer"}]``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps([pr.model_dump() for pr in predictions], ensure_ascii=False, indent=1), "utf-8")
    tmp.replace(p)  # atomic, so an interrupted run never leaves half a file


def _group(items: Sequence[DocVQAItem]) -> dict[Path, list[DocVQAItem]]:
    groups: dict[Path, list[DocVQAItem]] = {}
    for it in items:
        groups.setdefault(it.document, []).append(it)
    return groups


def default_answer_fn(pipeline: Pipeline) -> AnswerFn:
    """The pipeline's engine answers (``BaseEngine.answer``), whichever engine it is."""
    return pipeline.engine.answer


def run_docvqa(
    dataset_path: str | Path,
    root: str | Path | None,
    load_pages: Callable[[Path], Sequence[Page]],
    answer: AnswerFn,
    limit: int | None = None,
    workers: int = 1,
    worker_options: dict[str, Any] | None = None,
) -> DocVQAResult:
    """Answer every question of the dataset and score the answers with ANLS.

    ``load_pages`` opens one document (e.g. ``Pipeline.load_pages``); ``answer`` answers one
    question on those pages. Each document is read once for all its questions, and files with the
    same bytes (sha256) once between them. With ``workers`` > 1 and ``worker_options`` (a dumped
    ``PipelineOptions``) the documents are spread over worker processes, each with its own
    pipeline. A document that cannot be opened gets empty answers and is listed in
    ``failed_documents``; the run goes on.
    """
    t0 = time.perf_counter()
    dataset, items = read_docvqa(dataset_path, root)
    if limit is not None:
        items = items[:limit]
    answers: dict[int, Answer] = {}
    failed: dict[str, str] = {}
    index = {id(it): i for i, it in enumerate(items)}
    jobs = _by_content(_group(items))
    results: Iterable[tuple[list[Answer] | None, str | None]]
    if workers > 1 and worker_options is not None:
        results = _answer_in_workers(jobs, workers, worker_options)
    else:
        results = (_answer_document(load_pages, answer, path, group) for path, group, _ in jobs)
    for (_, group, paths), (got, error) in zip(jobs, results, strict=True):
        if got is None:
            for p in paths:
                failed[str(p)] = error or "unreadable"
            continue
        for it, ans in zip(group, got, strict=True):
            answers[index[id(it)]] = ans
    predictions: list[Prediction] = []
    details: list[dict[str, Any]] = []
    by_type: dict[str, list[float]] = defaultdict(list)
    by_doc: dict[str, list[float]] = defaultdict(list)
    scores: list[float] = []
    for i, it in enumerate(items):
        q = it.question
        ans = answers.get(i, Answer())
        predictions.append(Prediction(questionId=q.questionId, answer=ans.answer or ""))
        # a test split has no gold answers: those questions get predictions but no score
        s: float | None = anls_score(ans.answer or "", q.answers) if q.answers else None
        if s is not None:
            scores.append(s)
            for t in q.question_types:
                by_type[t].append(s)
            doc_key = str(q.docId) if q.docId is not None else it.document.name
            by_doc[doc_key].append(s)
        details.append(
            {
                "questionId": q.questionId,
                "question": q.question,
                "document": str(it.document),
                "answer": ans.answer,
                "answers": q.answers,
                "anls": None if s is None else round(s, 4),
                "field": ans.field,
                "page": ans.page,
                "bbox": ans.bbox,
                "confidence": ans.confidence,
            }
        )
    mean = sum(scores) / len(scores) if scores else 0.0
    return DocVQAResult(
        dataset=dataset.dataset_name,
        anls=mean,
        n=len(scores),
        per_type={k: GroupScore(sum(v) / len(v), len(v)) for k, v in by_type.items()},
        per_document={k: GroupScore(sum(v) / len(v), len(v)) for k, v in by_doc.items()},
        predictions=predictions,
        details=details,
        failed_documents=failed,
        seconds=time.perf_counter() - t0,
    )


# ---- reading each document once, in this process or in workers ---------------------------------

Job = tuple[Path, list[DocVQAItem], list[Path]]  # (the path read, its questions, every path with its bytes)


def _content_key(path: Path) -> str:
    """sha256 of the file's bytes; the path itself when it cannot be read (the reader says why)."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError:
        return f"path:{path}"
    return h.hexdigest()


def _by_content(groups: dict[Path, list[DocVQAItem]]) -> list[Job]:
    """One job per distinct file content: its first path, the questions of all its paths, the paths."""
    jobs: dict[str, Job] = {}
    for path, group in groups.items():
        key = _content_key(path)
        if key in jobs:
            jobs[key][1].extend(group)
            jobs[key][2].append(path)
        else:
            jobs[key] = (path, list(group), [path])
    return list(jobs.values())


def _answer_document(
    load_pages: Callable[[Path], Sequence[Page]], answer: AnswerFn, path: Path, group: Sequence[DocVQAItem]
) -> tuple[list[Answer] | None, str | None]:
    """Read ``path`` once and answer its questions: (answers, None), or (None, why it could not be read)."""
    try:
        pages = load_pages(path)
    except DocvlmError as exc:
        _log.error("cannot open %s: %s", path, exc)
        return None, f"{type(exc).__name__}: {exc}"
    out: list[Answer] = []
    for it in group:
        try:
            out.append(answer(pages, it.question.question))
        except DocvlmError as exc:
            _log.error("question %s failed: %s", it.question.questionId, exc)
            out.append(Answer())
    return out, None


_WORKER: tuple[Callable[[Path], Sequence[Page]], AnswerFn] | None = None


def _init_worker(options: dict[str, Any]) -> None:
    global _WORKER
    from docvlm.pipeline import Pipeline, PipelineOptions

    pipe = Pipeline(PipelineOptions.model_validate(options))
    _WORKER = (pipe.load_pages, default_answer_fn(pipe))


def _work(path: Path, group: list[DocVQAItem]) -> tuple[list[dict[str, Any]] | None, str | None]:
    if _WORKER is None:
        raise RuntimeError("worker not initialised")
    got, error = _answer_document(*_WORKER, path, group)
    return (None if got is None else [a.model_dump() for a in got]), error


def _answer_in_workers(
    jobs: Sequence[Job], workers: int, options: dict[str, Any]
) -> Iterator[tuple[list[Answer] | None, str | None]]:
    """``_answer_document`` for each job in ``workers`` processes, results in job order."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")  # onnxruntime and torch are not fork-safe once initialised
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(options,)
    ) as pool:
        futures = [pool.submit(_work, path, group) for path, group, _ in jobs]
        for fut in futures:
            try:
                got, error = fut.result()
            except Exception as exc:  # a worker that died still leaves its questions unanswered, not the run
                yield None, f"worker failed: {type(exc).__name__}: {exc}"
                continue
            yield (None if got is None else [Answer.model_validate(a) for a in got]), error
