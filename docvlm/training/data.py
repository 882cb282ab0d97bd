"""Training documents: labelled documents read into ``TrainingDoc``s (pages, gold, layout group).

In: document paths (files or folders) and their labels (``--gold``, ``--labels`` as in ``docvlm
eval extract``). Out: one ``TrainingDoc`` per labelled document. Documents are read the way the
engine reads them: PDFs through ingest (text layer, else OCR), images through OCR, and SROIE
transcripts (``box/NNN.csv``) as the page words of their receipt. An e-invoice is read from its
page only: its embedded XML is never opened here.

Groups: an e-invoice takes the ``layout_group`` of a ``manifest.json`` beside it; a receipt of a
SROIE-style key takes its company; any other document is its own group.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docvlm.datamodel import Page, Word, WordSource
from docvlm.errors import DocvlmError

_log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
TRANSCRIPT_SUFFIX = ".csv"


@dataclass
class TrainingDoc:
    """One labelled document (see the contract in ``docvlm.training``)."""

    source: str
    group: str
    pages: list[Page]
    gold: dict[str, Any]
    dataset: str = ""
    # a generated document (``--synthetic``): it trains the models, and never calibrates them, decides
    # where they are used or scores them, for confidences must describe real documents
    synthetic: bool = False
    cache: dict[str, Any] = field(default_factory=dict, repr=False)


def nest_fields(flat: dict[str, Any], line_items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Dotted header paths (``vendor.name``) as an Invoice-shaped dict, only the labelled keys."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    if line_items is not None:
        out["line_items"] = line_items
    return out


def gold_value(gold: dict[str, Any], path: str) -> tuple[bool, Any]:
    """(labelled, value) of a dotted path in an Invoice-shaped gold dict."""
    node: Any = gold
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def transcript_page(csv_path: Path) -> Page:
    """A SROIE transcript as one OCR-like page: its lines split into words, boxes shared out by position."""
    from PIL import Image

    from docvlm.labels.gold import transcript_lines
    from docvlm.ocr import quad_to_words

    words: list[Word] = []
    for i, (quad, text) in enumerate(transcript_lines(csv_path)):
        words.extend(quad_to_words(text, quad, 1.0, i))
    image = csv_path.parent.parent / "img" / f"{csv_path.stem}.jpg"
    if image.is_file():
        with Image.open(image) as im:
            width, height = float(im.size[0]), float(im.size[1])
    else:  # the printed area plus a margin stands in for the scan's size
        width = max((w.x1 for w in words), default=1.0) * 1.05
        height = max((w.y1 for w in words), default=1.0) * 1.02
    return Page(number=1, width=width, height=height, unit="px", words=words, word_source=WordSource.OCR)


def _documents(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "box").is_dir() and (path / "key").is_dir():
        path = path / "box"  # a SROIE-style folder: the transcripts are its documents
    files = [p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES]
    if not files:
        files = sorted(path.glob(f"*{TRANSCRIPT_SUFFIX}"))
    return files


def _gold_root(doc_root: Path, gold: Path | None) -> Path:
    if gold is not None:
        return gold
    base = doc_root if doc_root.is_dir() else doc_root.parent
    if base.name == "box" and (base.parent / "key").is_dir():
        return base.parent / "key"
    if (base / "key").is_dir() and (base / "box").is_dir():
        return base / "key"
    if (base / "ground_truth").is_dir() and not any(base.glob("*.json")):
        return base / "ground_truth"  # docvlm's own layout (samples/, generate.py --batch)
    return base


def _manifest_groups(folder: Path) -> dict[str, str]:
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return {}
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    out: dict[str, str] = {}
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and e.get("file") and e.get("layout_group"):
            out[Path(str(e["file"])).stem] = str(e["layout_group"])
    return out


def _company_key(name: Any) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(name or "").casefold()).strip()


def load_training_docs(
    paths: Sequence[str | Path],
    gold: str | Path | None = None,
    labels: str = "auto",
    load_pages: Any = None,
    progress: bool = False,
    synthetic: bool = False,
) -> list[TrainingDoc]:
    """Pair every document under ``paths`` with its label (by stem) and read its pages.

    ``load_pages(path) -> list[Page]`` reads a document file (default: ``Pipeline().load_pages``);
    documents without a label are skipped with a log line, and so are documents that fail to read.
    ``synthetic``: the documents are generated ones (``TrainingDoc.synthetic``).
    """
    from docvlm.labels.gold import read_gold

    loader = load_pages
    out: list[TrainingDoc] = []
    for raw in paths:
        root = Path(raw)
        docs = _documents(root)
        gold_root = _gold_root(root, Path(gold) if gold is not None else None)
        golds = read_gold(gold_root, labels)
        groups = _manifest_groups(root if root.is_dir() else root.parent)
        folder = root if root.is_dir() else root.parent
        dataset = folder.name if folder.name not in ("box", "img") else folder.parent.name
        items = [d for d in docs if d.stem in golds]
        skipped = len(docs) - len(items)
        if skipped:
            _log.info("%s: %d documents have no label and are left out", root, skipped)
        for d in _progress(items, progress, f"reading {dataset}"):
            g = golds[d.stem]
            try:
                if d.suffix.lower() == TRANSCRIPT_SUFFIX:
                    pages = [transcript_page(d)]
                else:
                    if loader is None:
                        from docvlm.pipeline import Pipeline, PipelineOptions

                        loader = Pipeline(PipelineOptions()).load_pages
                    pages = loader(d)
            except DocvlmError as exc:
                _log.warning("%s: not read (%s); left out", d, exc)
                continue
            if g.label_format == "sroie":  # one shop's receipts may sit in several folders: one group
                group = f"company:{_company_key(g.fields.get('vendor.name'))}"
            else:
                group = f"{dataset}/{groups.get(d.stem, 'file:' + d.stem)}"
            labelled = nest_fields(g.fields, g.line_items if g.line_items_labelled else None)
            out.append(
                TrainingDoc(
                    source=str(d),
                    group=group,
                    pages=pages,
                    gold=labelled,
                    dataset=dataset,
                    synthetic=synthetic,
                )
            )
    return out


def _progress(items: Iterable[Any], enabled: bool, desc: str) -> Iterable[Any]:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(list(items), desc=desc, unit="doc", leave=False)
