"""Run question answering over a DocVQA-format dataset and score it with ANLS.

In: an official DocVQA JSON file, the folder its ``image`` paths are relative to, and a pipeline
(ingest + OCR + engine). Each document is opened once and all its questions are answered on the
same pages. Out: a ``DocVQAResult`` with the submission entries ``[{"questionId", "answer"}]``,
overall ANLS, ANLS per question type (when the dataset has ``question_types``) and per document.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
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
    """The layout engine answers through ``docvlm.qa``; other engines through their ``answer``."""
    if pipeline.engine_name == "layout":
        from docvlm.qa import answer_question

        engine = pipeline.engine
        return lambda pages, q: answer_question(pages, q, engine=engine)
    return pipeline.engine.answer


def run_docvqa(
    dataset_path: str | Path,
    root: str | Path | None,
    load_pages: Callable[[Path], Sequence[Page]],
    answer: AnswerFn,
    limit: int | None = None,
) -> DocVQAResult:
    """Answer every question of the dataset and score the answers with ANLS.

    ``load_pages`` opens one document (e.g. ``Pipeline.load_pages``); ``answer`` answers one
    question on those pages. A document that cannot be opened gets empty answers and is listed in
    ``failed_documents``; the run goes on.
    """
    t0 = time.perf_counter()
    dataset, items = read_docvqa(dataset_path, root)
    if limit is not None:
        items = items[:limit]
    answers: dict[int, Answer] = {}
    failed: dict[str, str] = {}
    index = {id(it): i for i, it in enumerate(items)}
    for doc_path, group in _group(items).items():
        try:
            pages = load_pages(doc_path)
        except DocvlmError as exc:
            _log.error("cannot open %s: %s", doc_path, exc)
            failed[str(doc_path)] = f"{type(exc).__name__}: {exc}"
            continue
        for it in group:
            try:
                answers[index[id(it)]] = answer(pages, it.question.question)
            except DocvlmError as exc:
                _log.error("question %s failed: %s", it.question.questionId, exc)
                answers[index[id(it)]] = Answer()
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
