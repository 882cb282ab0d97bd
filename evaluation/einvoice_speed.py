"""What an e-invoice costs: each hybrid PDF read with its XML, against the same PDF with the XML removed.

For every PDF with invoice XML under the given folders, a copy without its attachments is written
to a temporary folder. Both are extracted by one pipeline (``--einvoice both``, the default, unless
``--mode`` says otherwise), alternately, ``--repeats`` times after a warm-up run of each; the
median ``total_s`` of each document is reported, with the ratio e-invoice / stripped copy.

    python -m evaluation.einvoice_speed ../shared/data/einvoices --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from docvlm.einvoice.reader import EinvoiceOptions
from docvlm.pipeline import Pipeline, PipelineOptions


def strip_attachments(src: Path, dst: Path) -> Path:
    """A copy of the PDF ``src`` without its embedded files (the page stays byte-for-byte the same content)."""
    import pymupdf

    with pymupdf.open(src) as doc:
        for name in doc.embfile_names():
            doc.embfile_del(name)
        doc.save(dst, garbage=0)
    return dst


def _with_xml(folders: list[Path]) -> list[Path]:
    import pymupdf

    found = []
    for folder in folders:
        for pdf in sorted(folder.rglob("*.pdf")):
            with pymupdf.open(pdf) as doc:
                if any(doc.embfile_info(n)["filename"].lower().endswith(".xml") for n in doc.embfile_names()):
                    found.append(pdf)
    return found


def measure(folders: list[Path], repeats: int, mode: str) -> list[tuple[str, float, float, str]]:
    """(name, median seconds with the XML, median seconds of the stripped copy, engine) per PDF."""
    pipe = Pipeline(PipelineOptions(einvoice=EinvoiceOptions(mode=mode)))  # type: ignore[arg-type]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pdf in _with_xml(folders):
            bare = strip_attachments(pdf, Path(tmp) / pdf.name)
            pipe.extract(pdf), pipe.extract(bare)  # warm-up: imports, schema compilation, caches
            with_xml: list[float] = []
            without: list[float] = []
            engine = ""
            for _ in range(repeats):
                ex = pipe.extract(pdf)
                engine = ex.engine
                with_xml.append(ex.timings["total_s"])
                without.append(pipe.extract(bare).timings["total_s"])
            rows.append((pdf.name, statistics.median(with_xml), statistics.median(without), engine))
    pipe.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mode", choices=["both", "xml"], default="both")
    args = ap.parse_args(argv)
    rows = measure(args.folders, args.repeats, args.mode)
    print(f"{'document':48} {'with XML':>9} {'stripped':>9} {'ratio':>6}  engine")
    for name, a, b, engine in rows:
        print(f"{name[:48]:48} {a * 1000:7.1f}ms {b * 1000:7.1f}ms {a / b:6.2f}  {engine}")
    total_a, total_b = sum(r[1] for r in rows), sum(r[2] for r in rows)
    ratios = [r[1] / r[2] for r in rows]
    print(
        f"{len(rows)} PDFs ({args.mode}): {total_a:.2f}s with the XML, {total_b:.2f}s stripped, "
        f"ratio of sums {total_a / total_b:.2f}, median ratio {statistics.median(ratios):.2f}, "
        f"max {max(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
