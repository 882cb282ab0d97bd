"""Dataset readers: DocVQA question files and prediction JSONL; gold labels from ``docvlm.labels``.

The gold readers (every label format into a ``GoldDoc``) live in the library, which trains on
labelled folders; they are re-exported here for the evaluation. Predictions are output-contract
records (see ARCHITECTURE.md) keyed by source stem.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from docvlm.labels.formats import LABEL_FORMATS as LABEL_FORMATS
from docvlm.labels.formats import DatasetError as DatasetError
from docvlm.labels.formats import LabelFormat as LabelFormat

# re-exported: the readers' callers find the gold readers, the formats and the error here too
from docvlm.labels.gold import DOCUMENT_SUFFIXES as DOCUMENT_SUFFIXES
from docvlm.labels.gold import GoldBox as GoldBox
from docvlm.labels.gold import GoldDoc as GoldDoc
from docvlm.labels.gold import detect_label_format as detect_label_format
from docvlm.labels.gold import doc_key as doc_key
from docvlm.labels.gold import flatten_invoice as flatten_invoice
from docvlm.labels.gold import read_docile_label as read_docile_label
from docvlm.labels.gold import read_docvlm_label as read_docvlm_label
from docvlm.labels.gold import read_gold as read_gold
from docvlm.labels.gold import read_invoice2data_label as read_invoice2data_label
from docvlm.labels.gold import read_label as read_label
from docvlm.labels.gold import read_sroie_label as read_sroie_label
from schemas.docvqa import Dataset, Question

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# DocVQA


@dataclass
class DocVQAItem:
    """One question with its document resolved on disk."""

    question: Question
    document: Path


def resolve_document(root: Path, image: str) -> Path:
    """Find the file a DocVQA ``image`` entry names under ``root``; a PDF of the same stem is accepted."""
    candidate = (root / image).resolve()
    if candidate.is_file():
        return candidate
    for suffix in DOCUMENT_SUFFIXES:
        alt = candidate.with_suffix(suffix)
        if alt.is_file():
            return alt
    # DocVQA images are often listed as "documents/x.png" while users keep files flat
    flat = root / Path(image).name
    for alt in (flat, *(flat.with_suffix(s) for s in DOCUMENT_SUFFIXES)):
        if alt.is_file():
            return alt.resolve()
    raise DatasetError(f"document {image!r} not found under {root}")


def read_docvqa(path: str | Path, root: str | Path | None = None) -> tuple[Dataset, list[DocVQAItem]]:
    """Read an official DocVQA JSON file and resolve each question's document against ``root``.

    ``root`` defaults to the dataset file's folder. Returns the parsed dataset and one item per
    question, in file order.
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"dataset file not found: {p}")
    try:
        dataset = Dataset.model_validate_json(p.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise DatasetError(f"{p} is not a DocVQA dataset file: {exc}") from exc
    base = Path(root) if root is not None else p.parent
    items = [DocVQAItem(question=q, document=resolve_document(base, q.image)) for q in dataset.data]
    _log.info("read %d questions on %d documents from %s", len(items), len({i.document for i in items}), p)
    return dataset, items


# ---------------------------------------------------------------------------------------------
# Predictions


def iter_records(paths: str | Path | Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """Output-contract records of JSONL files, in file order; ``DatasetError`` for a bad file or line."""
    files = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    for f in files:
        if not f.is_file():
            raise DatasetError(f"prediction file not found: {f}")
        with f.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{f}:{lineno}: not JSON: {exc}") from exc
                if not isinstance(rec, dict) or "source" not in rec:
                    raise DatasetError(f"{f}:{lineno}: a record needs a 'source'")
                yield rec


def read_predictions(paths: str | Path | Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """Read output-contract records from JSONL files into ``{key: record}`` (key = source stem).

    A later record for the same key replaces an earlier one (a resumed run appends).
    """
    out: dict[str, dict[str, Any]] = {}
    for rec in iter_records(paths):
        key = doc_key(rec["source"])
        if key in out and out[key]["source"] != rec["source"]:
            # e.g. invoice.pdf and invoice.png in one folder: only one can be scored
            _log.warning(
                "%s and %s share the key %r; the later record is scored",
                out[key]["source"],
                rec["source"],
                key,
            )
        out[key] = rec
    return out


def record_fields(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Predicted header fields (dotted paths) and line items of one record; an error record has none."""
    fields, items = flatten_invoice(record.get("data"))
    return fields, items or []
