"""Does a scan of a PDF give the same record as the PDF? A label-free check of the OCR path.

Each born-digital PDF is rendered at ``--dpi`` into a multi-page TIFF (a clean scan of every page,
or with ``--degrade SEED`` a tilted, blurred, noisy, JPEG-compressed one) and extracted twice:
from its text layer and, through OCR, from the TIFF. The text-layer record stands in for the truth, so any difference is an error of the OCR path (reading, word boxes, line
grouping) and not of labels. Works on any folder of PDFs, with no labels.

In: folders or files of PDFs. Out: per document the header fields and line items that differ,
then the share of header fields and of line items that agree, and the OCR seconds per page.

    python evaluation/scan_consistency.py samples/ ../shared/data/invoices --dpi 200 [--degrade 1]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter

from docvlm.pipeline import Pipeline, PipelineOptions
from evaluation.readers import flatten_invoice


def degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    """A plausible office scan of a clean render: a small tilt, paper-grey background, blur,
    sensor noise and JPEG compression (quality 55-75)."""
    import numpy as np

    angle = rng.uniform(-1.5, 1.5)
    img = image.convert("L").rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    a = np.asarray(img, dtype=np.float32) * rng.uniform(0.85, 0.95) + rng.uniform(8, 20)
    a += np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(4, 9), a.shape)
    noisy = Image.fromarray(a.clip(0, 255).astype(np.uint8)).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, "JPEG", quality=rng.randint(55, 75))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def render_tiff(pdf: Path, out: Path, dpi: int, rng: random.Random | None = None) -> int:
    """All pages of ``pdf`` at ``dpi`` as one multi-page TIFF (degraded like a scan when ``rng`` is
    given); returns the page count."""
    import pymupdf

    pages: list[Image.Image] = []
    with pymupdf.open(pdf) as doc:
        for page in doc:
            pix = page.get_pixmap(dpi=dpi, alpha=False)
            img = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
            pages.append(degrade(img, rng) if rng is not None else img)
    pages[0].save(out, save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return len(pages)


def compare(text: dict[str, Any] | None, scan: dict[str, Any] | None) -> tuple[list[str], int, int, int, int]:
    """Header fields and items that differ, with the counts (fields agreed, fields, items agreed, items).

    A header field counts when either side has a value; an item agrees when the scan has the same
    item (all fields equal) at the same position.
    """
    tf, ti = flatten_invoice(text)
    sf, si = flatten_invoice(scan)
    diffs: list[str] = []
    agree = n = 0
    for path in sorted(set(tf) | set(sf)):
        a, b = tf.get(path), sf.get(path)
        if a is None and b is None:
            continue
        n += 1
        if a == b:
            agree += 1
        else:
            diffs.append(f"{path}: text layer {a!r} | scan {b!r}")
    ti, si = ti or [], si or []
    items_agree = sum(1 for i, it in enumerate(ti) if i < len(si) and si[i] == it)
    for i in range(max(len(ti), len(si))):
        a_it = ti[i] if i < len(ti) else None
        b_it = si[i] if i < len(si) else None
        if a_it != b_it:
            if a_it is None or b_it is None:
                diffs.append(f"item {i}: text layer {a_it} | scan {b_it}")
            else:
                fields = {k: (a_it.get(k), b_it.get(k)) for k in a_it if a_it.get(k) != b_it.get(k)}
                diffs.append(f"item {i}: {fields}")
    return diffs, agree, n, items_agree, max(len(ti), len(si))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", type=Path, help="PDF files or folders of them")
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--json", type=Path, help="also write the per-document differences here")
    ap.add_argument(
        "--degrade", type=int, metavar="SEED", help="make each render look scanned (tilt, blur, noise, JPEG)"
    )
    args = ap.parse_args(argv)
    pdfs = sorted(
        {p for i in args.inputs for p in ([i] if i.is_file() else i.rglob("*")) if p.suffix.lower() == ".pdf"}
    )
    if not pdfs:
        print("no PDFs found", file=sys.stderr)
        return 2
    pipe = Pipeline(PipelineOptions())
    report: dict[str, list[str]] = {}
    agree = n = items_agree = items = pages = 0
    ocr_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for pdf in pdfs:
            tiff = Path(tmp) / f"{pdf.stem}.tiff"
            rng = random.Random(f"{args.degrade}:{pdf.name}") if args.degrade is not None else None
            pages += render_tiff(pdf, tiff, args.dpi, rng)
            text = pipe.extract(pdf)
            t0 = time.perf_counter()
            scan = pipe.extract(tiff)
            ocr_s += time.perf_counter() - t0
            if text.data is None or scan.data is None:
                report[str(pdf)] = [f"error: text layer {text.error} | scan {scan.error}"]
                continue
            diffs, a, k, ia, ik = compare(text.data, scan.data)
            agree, n, items_agree, items = agree + a, n + k, items_agree + ia, items + ik
            report[str(pdf)] = diffs
            print(f"{pdf.name}: {a}/{k} header fields, {ia}/{ik} items agree")
            for d in diffs:
                print(f"    {d}")
    print(
        f"\n{len(pdfs)} PDFs, {pages} pages at {args.dpi} dpi: header fields {agree}/{n} "
        f"({agree / max(1, n):.1%}), line items {items_agree}/{items} ({items_agree / max(1, items):.1%}) "
        f"agree; scan path {ocr_s / max(1, pages):.2f} s a page"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
