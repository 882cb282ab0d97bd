"""Gold labels: ground truth in several formats, read into one shape (``GoldDoc``).

In: a label file or a folder of them (docvlm ground truth, invoice2data expected output, SROIE key
files, DocILE annotations; the e-invoice format, whose documents are their own labels, is
``docvlm.labels.einvoice``). Out: a ``GoldDoc`` per document: a key (the file stem, used to match
predictions), flat header fields keyed by dotted path (``None`` = labelled empty; a path that is
missing is not labelled), line items as dicts keyed by ``LineItem`` field names, and gold boxes
where the format has them. Also the SROIE transcripts (``box/NNN.csv``: text lines with their
quadrilaterals).

The library reads labels to train and cross-validate the layout model (``docvlm.training``); the
evaluation reads them to score records.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from docvlm.labels.formats import LABEL_FORMATS, DatasetError
from docvlm.parsers import normalize_text
from schemas.invoice import HEADER_FIELDS, LINE_ITEM_FIELDS, Invoice

_log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES: tuple[str, ...] = (
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".bmp",
    ".webp",
    ".xml",
)


@dataclass
class GoldBox:
    """Where a gold value is printed: 1-based page and a box, relative (0..1) or in page units."""

    page: int
    bbox: tuple[float, float, float, float]
    relative: bool = False


@dataclass
class GoldDoc:
    """Ground truth of one document in the common shape every reader produces."""

    key: str
    fields: dict[str, Any] = field(default_factory=dict)
    line_items: list[dict[str, Any]] = field(default_factory=list)
    line_items_labelled: bool = False
    line_item_fields: tuple[str, ...] = ()
    boxes: dict[str, GoldBox] = field(default_factory=dict)
    label_format: str = ""
    label_path: str = ""
    document: str | None = None  # path of the document file when the reader knows it


def doc_key(path: str | Path) -> str:
    """The key predictions and labels are matched on: the file stem."""
    return Path(str(path).replace("\\", "/")).stem


# ---------------------------------------------------------------------------------------------
# Flattening invoices (docvlm ground truth and predictions share the Invoice JSON shape)


def flatten_invoice(data: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """Header fields of an Invoice JSON object by dotted path (only keys present), and its line items.

    Returns ``(fields, line_items)``; ``line_items`` is ``None`` when the object has no such key.
    """
    if not data:
        return {}, None
    fields: dict[str, Any] = {}
    for path in HEADER_FIELDS:
        node: Any = data
        found = True
        for part in path.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                found = False
                break
        if found:
            fields[path] = node
    items_raw = data.get("line_items")
    if items_raw is None:
        return fields, None
    items = [
        {k: it.get(k) for k in LINE_ITEM_FIELDS if k in it} for it in items_raw if isinstance(it, Mapping)
    ]
    return fields, items


def _is_invoice_shape(obj: Mapping[str, Any]) -> bool:
    """A bare Invoice JSON object (as the shared e-invoice truth is written): Invoice keys only, with parties or lines."""
    return (
        bool(obj)
        and set(obj) <= set(Invoice.model_fields)
        and (isinstance(obj.get("vendor"), Mapping) or isinstance(obj.get("line_items"), list))
    )


def read_docvlm_label(path: str | Path) -> GoldDoc:
    """docvlm ground truth: ``{"source", "document_type", "data": {Invoice JSON}}``, or a bare Invoice object.

    Keys present in ``data`` are labelled (``null`` = labelled empty); the key is the stem of
    ``source`` (or of the label file when ``source`` is missing).
    """
    p = Path(path)
    obj = _load_json(p)
    if isinstance(obj, Mapping) and "data" not in obj and _is_invoice_shape(obj):
        obj = {"data": obj}
    if not isinstance(obj, Mapping) or not isinstance(obj.get("data"), Mapping):
        raise DatasetError(f"{p} is not docvlm ground truth (expected an object with a 'data' object)")
    fields, items = flatten_invoice(obj["data"])
    source = obj.get("source")
    return GoldDoc(
        key=doc_key(source) if source else p.stem,
        fields=fields,
        line_items=items or [],
        line_items_labelled=items is not None,
        line_item_fields=tuple(k for k in LINE_ITEM_FIELDS if any(k in it for it in items or [])),
        label_format="docvlm",
        label_path=str(p),
        document=_docvlm_document(p, source) or _sibling_document(p),
    )


def _docvlm_document(label: Path, source: str | None) -> str | None:
    """samples/ground_truth/x.json names "x.pdf", which lives next to the label or one folder up."""
    if not source:
        return _sibling_document(label)
    for folder in (label.parent, label.parent.parent):
        cand = folder / Path(source).name
        if cand.is_file():
            return str(cand)
    return None


# ---------------------------------------------------------------------------------------------
# invoice2data

_I2D_HEADER = {
    "issuer": "vendor.name",
    "invoice_number": "invoice_number",
    "date": "invoice_date",
    "date_due": "due_date",
    "amount": "total",
    "amount_untaxed": "subtotal",
    "amount_tax": "tax_total",
    "currency": "currency",
    "vat": "vendor.tax_id",
    "iban": "vendor.iban",
}
# first key present wins, in this order
_I2D_LINE: dict[str, tuple[str, ...]] = {
    "description": ("name", "desc", "item"),
    "quantity": ("qty",),
    "unit_price": ("price_unit", "price"),
    "amount": ("price_subtotal",),
    "tax_rate": ("line_tax_percent", "taxpercent"),
    "product_code": ("code",),
    "unit": ("uom",),
}
_I2D_ITEM_KEYS = frozenset(k for keys in _I2D_LINE.values() for k in keys)


def read_invoice2data_label(path: str | Path) -> GoldDoc:
    """invoice2data expected output: a JSON list holding one object; missing keys are not labelled.

    Rows without any line-item key (``sectionheader``, ``line_note``) are pseudo-rows and are
    skipped. The top-level ``desc`` is made up by the template and is ignored.
    """
    p = Path(path)
    obj = _load_json(p)
    if isinstance(obj, list):
        if len(obj) != 1 or not isinstance(obj[0], Mapping):
            raise DatasetError(f"{p}: expected a list holding one object, got {len(obj)} entries")
        obj = obj[0]
    if not isinstance(obj, Mapping):
        raise DatasetError(f"{p} is not invoice2data output")
    fields = {target: obj[src] for src, target in _I2D_HEADER.items() if src in obj}
    raw_items = obj.get("lines", obj.get("line_items"))
    items: list[dict[str, Any]] = []
    used: set[str] = set()
    if isinstance(raw_items, list):
        for row in raw_items:
            if not isinstance(row, Mapping) or not (_I2D_ITEM_KEYS & set(row)):
                continue
            item: dict[str, Any] = {}
            for target, sources in _I2D_LINE.items():
                for src in sources:
                    if src in row:
                        item[target] = row[src]
                        used.add(target)
                        break
            items.append(item)
    return GoldDoc(
        key=p.stem,
        fields=fields,
        line_items=items,
        line_items_labelled=isinstance(raw_items, list),
        line_item_fields=tuple(k for k in LINE_ITEM_FIELDS if k in used),
        label_format="invoice2data",
        label_path=str(p),
        document=_sibling_document(p),
    )


# ---------------------------------------------------------------------------------------------
# SROIE

_SROIE = {"company": "vendor.name", "date": "invoice_date", "address": "vendor.address", "total": "total"}


def read_sroie_label(path: str | Path) -> GoldDoc:
    """SROIE key file ``{"company", "date", "address", "total"}``; an empty string is labelled empty."""
    p = Path(path)
    obj = _load_json(p)
    if not isinstance(obj, Mapping) or not (set(_SROIE) & set(obj)):
        raise DatasetError(f"{p} is not a SROIE key file")
    fields: dict[str, Any] = {}
    for src, target in _SROIE.items():
        if src in obj:
            v = obj[src]
            fields[target] = v if isinstance(v, str) and v.strip() else None
    document = None
    # SROIE keeps key/NNN.json next to img/NNN.jpg
    for folder in (p.parent.parent / "img", p.parent):
        found = _sibling_document(folder / p.name)
        if found:
            document = found
            break
    return GoldDoc(key=p.stem, fields=fields, label_format="sroie", label_path=str(p), document=document)


# ---------------------------------------------------------------------------------------------
# DocILE

_DOCILE_HEADER = {
    "document_id": "invoice_number",
    "date_issue": "invoice_date",
    "date_due": "due_date",
    "amount_total_gross": "total",
    "amount_total_net": "subtotal",
    "amount_total_tax": "tax_total",
    "amount_due": "amount_due",
    "currency_code_amount_due": "currency",
    "vendor_name": "vendor.name",
    "vendor_address": "vendor.address",
    "vendor_tax_id": "vendor.tax_id",
    "vendor_email": "vendor.email",
    "customer_billing_name": "customer.name",
    "customer_billing_address": "customer.address",
    "customer_tax_id": "customer.tax_id",
    "order_id": "purchase_order",
    "iban": "vendor.iban",
}
_DOCILE_LINE: dict[str, tuple[str, ...]] = {
    "description": ("line_item_description",),
    "quantity": ("line_item_quantity",),
    "unit_price": ("line_item_unit_price_net", "line_item_unit_price_gross"),
    "amount": ("line_item_amount_net", "line_item_amount_gross"),
    "tax_rate": ("line_item_tax_rate",),
    "product_code": ("line_item_code",),
    "unit": ("line_item_units_of_measure",),
}
_TEXT_JOINED = frozenset(
    {"vendor.address", "customer.address", "vendor.name", "customer.name", "description"}
)


def _docile_box(ann: Mapping[str, Any]) -> GoldBox | None:
    bbox = ann.get("bbox")
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        return None
    return GoldBox(page=int(ann.get("page", 0)) + 1, bbox=tuple(float(v) for v in bbox), relative=True)  # type: ignore[arg-type]


def read_docile_label(path: str | Path) -> GoldDoc:
    """DocILE annotation JSON (``field_extractions``, ``line_item_extractions``).

    DocILE annotates every instance of its field types, so every mapped header field is labelled:
    a field type with no annotation is labelled empty. Several annotations of one text field
    (an address over several boxes) are joined with spaces; for other fields the first one counts.
    Boxes are relative (0..1) with 0-based pages in the file; ``GoldBox`` pages are 1-based.
    """
    p = Path(path)
    obj = _load_json(p)
    if not isinstance(obj, Mapping) or "field_extractions" not in obj:
        raise DatasetError(f"{p} is not a DocILE annotation file (no 'field_extractions')")
    fields: dict[str, Any] = dict.fromkeys(_DOCILE_HEADER.values())
    boxes: dict[str, GoldBox] = {}
    for ann in obj.get("field_extractions") or []:
        target = _DOCILE_HEADER.get(str(ann.get("fieldtype")))
        text = ann.get("text")
        if target is None or not isinstance(text, str) or not text.strip():
            continue
        if fields[target] is None:
            fields[target] = text
            box = _docile_box(ann)
            if box:
                boxes[target] = box
        elif target in _TEXT_JOINED:
            fields[target] = f"{fields[target]} {text}"
    by_item: dict[Any, dict[str, str]] = {}
    order: list[Any] = []
    for ann in obj.get("line_item_extractions") or []:
        lid = ann.get("line_item_id")
        ftype, text = ann.get("fieldtype"), ann.get("text")
        if lid is None or not isinstance(text, str):
            continue
        if lid not in by_item:
            by_item[lid] = {}
            order.append(lid)
        raw = by_item[lid]
        raw[ftype] = (
            f"{raw[ftype]} {text}"
            if ftype in raw and ftype == "line_item_description"
            else raw.get(ftype, text)
        )
    items: list[dict[str, Any]] = []
    for lid in order:
        raw = by_item[lid]
        item: dict[str, Any] = {}
        for target, sources in _DOCILE_LINE.items():
            for src in sources:
                if src in raw:
                    item[target] = raw[src]
                    break
            else:
                item[target] = None  # DocILE annotates every present field, so absence is empty
        items.append(item)
    return GoldDoc(
        key=p.stem,
        fields=fields,
        line_items=items,
        line_items_labelled="line_item_extractions" in obj,
        line_item_fields=LINE_ITEM_FIELDS,
        boxes=boxes,
        label_format="docile",
        label_path=str(p),
        document=_sibling_document(p) or _sibling_document(p.parent.parent / "pdfs" / p.name),
    )


# ---------------------------------------------------------------------------------------------
# Dispatch


_READERS = {
    "docvlm": read_docvlm_label,
    "invoice2data": read_invoice2data_label,
    "sroie": read_sroie_label,
    "docile": read_docile_label,
    "einvoice": lambda p: _einvoice_labels().read_einvoice_label(p),
}


def _einvoice_labels() -> Any:
    # the e-invoice reader builds on this module's types, so it is imported when first needed
    from docvlm.labels import einvoice

    return einvoice


def detect_label_format(obj: Any) -> str:
    """Guess the label format of a parsed JSON label file."""
    if isinstance(obj, list):
        return "invoice2data"
    if isinstance(obj, Mapping):
        if "field_extractions" in obj:
            return "docile"
        if isinstance(obj.get("data"), Mapping) or _is_invoice_shape(obj):
            return "docvlm"
        if {"company", "total"} & set(obj) and set(obj) <= {"company", "date", "address", "total"}:
            return "sroie"
        if "issuer" in obj or "invoice_number" in obj:
            return "invoice2data"
    raise DatasetError("cannot tell the label format; pass it explicitly")


def read_label(path: str | Path, label_format: str = "auto") -> GoldDoc:
    """Read one label file in ``label_format`` (or detect it)."""
    p = Path(path)
    if label_format == "einvoice":
        return _einvoice_labels().read_einvoice_label(p)  # type: ignore[no-any-return]
    fmt = detect_label_format(_load_json(p)) if label_format == "auto" else label_format
    if fmt not in _READERS:
        raise DatasetError(f"unknown label format {label_format!r}; known: {', '.join(LABEL_FORMATS)}")
    return _READERS[fmt](p)


def _label_files(root: Path, label_format: str) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DatasetError(f"labels not found: {root}")
    if label_format == "sroie" and (root / "key").is_dir():
        root = root / "key"
    if label_format == "docvlm" and (root / "ground_truth").is_dir():
        root = root / "ground_truth"
    if label_format == "docile" and (root / "annotations").is_dir():
        root = root / "annotations"
    if label_format == "einvoice":  # the documents are their own labels
        return sorted(f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in (".pdf", ".xml"))
    return sorted(f for f in root.glob("*.json") if f.is_file())


def read_gold(path: str | Path, label_format: str = "auto") -> dict[str, GoldDoc]:
    """Read every label file of a folder (or one file) into ``{key: GoldDoc}``.

    With ``auto`` each file's format is detected; files that are not labels (a dataset manifest,
    an Azure response) are skipped with a log line.
    """
    root = Path(path)
    out: dict[str, GoldDoc] = {}
    for f in _label_files(root, label_format):
        try:
            gold = read_label(f, label_format)
        except DatasetError as exc:
            if label_format not in ("auto", "einvoice"):
                raise
            _log.info("skipping %s: %s", f, exc)
            continue
        if gold.key in out:
            _log.warning("two label files for %s: %s and %s", gold.key, out[gold.key].label_path, f)
        out[gold.key] = gold
    if not out:
        raise DatasetError(f"no {label_format} label files found in {root}")
    return out


# ---------------------------------------------------------------------------------------------
# SROIE transcripts


def transcript_lines(path: Path) -> list[tuple[np.ndarray, str]]:
    """The SROIE ``box/NNN.csv`` lines: each line's quadrilateral (4 x 2, clockwise from top-left)
    and its NFKC-normalised text; lines without text are left out."""
    lines: list[tuple[np.ndarray, str]] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) < 9:
                continue
            # the transcript itself may contain commas, which split it into extra columns
            text = normalize_text(",".join(row[8:]))
            if text:
                lines.append((np.asarray([float(v) for v in row[:8]], dtype=np.float64).reshape(4, 2), text))
    return lines


# ---------------------------------------------------------------------------------------------
# helpers


def _load_json(p: Path) -> Any:
    if not p.is_file():
        raise DatasetError(f"label file not found: {p}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{p} is not valid JSON: {exc}") from exc


def _sibling_document(label: Path) -> str | None:
    for suffix in DOCUMENT_SUFFIXES:
        cand = label.with_suffix(suffix)
        if cand.is_file():
            return str(cand)
    return None
