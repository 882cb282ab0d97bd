"""OCR character error rate on the SROIE receipts, and text-layer speed on born-digital PDFs.

In: the shared data folder (``../shared/data`` from the repo root by default). Out: printed
per-receipt and overall CER (case-sensitive and case-folded) with seconds per page for each OCR
backend asked for, and pages per second of text-layer extraction.

CER = Levenshtein(hypothesis, reference) / len(reference), summed over receipts (micro average),
where both sides are the page's text in reading order (lines top to bottom, words left to right,
by ``docvlm.geometry.reading_order``), whitespace-normalised. The reference is the human
transcript ``box/NNN.csv`` (one text line per row with its quadrilateral).

    python evaluation/ocr_cer.py --backend rapidocr --backend tesseract
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

from PIL import Image
from rapidfuzz.distance import Levenshtein

from docvlm.datamodel import Word
from docvlm.geometry import reading_order
from docvlm.ingest import open_document
from docvlm.labels.gold import transcript_lines
from docvlm.ocr import OcrOptions, get_ocr, ocr_page
from docvlm.parsers import normalize_text

_log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (REPO / ".." / "shared" / "data").resolve()


def read_transcript(path: Path) -> list[Word]:
    """The SROIE ``box/NNN.csv`` lines as words (one per transcript line) with axis-aligned boxes."""
    return [
        Word(
            text=text,
            bbox=(float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())),
        )
        for q, text in transcript_lines(path)
    ]


def page_text(words: list[Word]) -> str:
    """Whitespace-normalised text of ``words`` in reading order."""
    return normalize_text(" ".join(w.text for w in reading_order(words)))


def measure_ocr(data: Path, options: OcrOptions, limit: int | None = None) -> dict[str, float]:
    """CER and seconds per page of one OCR configuration over the SROIE receipts."""
    root = data / "receipts" / "sroie"
    images = sorted((root / "img").glob("*.jpg"))[:limit]
    if not images:
        raise SystemExit(f"no receipts under {root / 'img'}")
    get_ocr(options)  # load models before timing
    errs = errs_cf = errs_ns = ref_len = ref_ns_len = 0
    total_s = total_cpu = 0.0
    for img_path in images:
        ref = page_text(read_transcript(root / "box" / f"{img_path.stem}.csv"))
        with Image.open(img_path) as im:
            image = im.convert("RGB")
        t0, c0 = time.perf_counter(), time.process_time()
        res = ocr_page(image, options)
        dt = time.perf_counter() - t0
        # CPU seconds of this process: a fairer speed figure than wall time on a shared machine
        total_cpu += time.process_time() - c0
        hyp = page_text(res.words)
        d = Levenshtein.distance(hyp, ref)
        d_cf = Levenshtein.distance(hyp.casefold(), ref.casefold())
        # spacing around punctuation differs between transcribers; this variant scores the characters only
        ref_ns, hyp_ns = "".join(ref.casefold().split()), "".join(hyp.casefold().split())
        errs_ns += Levenshtein.distance(hyp_ns, ref_ns)
        ref_ns_len += len(ref_ns)
        errs, errs_cf, ref_len, total_s = errs + d, errs_cf + d_cf, ref_len + len(ref), total_s + dt
        print(
            f"  {img_path.name} {image.width}x{image.height} rot={res.rotation} skew={res.skew:+.2f} "
            f"cer={d / max(1, len(ref)):.4f} cer_casefold={d_cf / max(1, len(ref)):.4f} s={dt:.2f}"
        )
    return {
        "pages": len(images),
        "cer": errs / max(1, ref_len),
        "cer_casefold": errs_cf / max(1, ref_len),
        "cer_casefold_nospace": errs_ns / max(1, ref_ns_len),
        "s_per_page": total_s / len(images),
        "cpu_s_per_page": total_cpu / len(images),
    }


def measure_orientation(data: Path, options: OcrOptions, limit: int | None = None) -> dict[str, float]:
    """Accuracy of the full OCR path's page-turn detection on the receipts turned by 0/90/180/270."""
    images = sorted((data / "receipts" / "sroie" / "img").glob("*.jpg"))[:limit]
    right = total = 0
    t0 = time.perf_counter()
    for img_path in images:
        with Image.open(img_path) as im:
            image = im.convert("RGB")
        for angle in (0, 90, 180, 270):
            rotation = ocr_page(image.rotate(angle, expand=True), options).rotation
            ok = (rotation + angle) % 360 == 0
            right, total = right + ok, total + 1
            if not ok:
                print(f"  {img_path.name} turned {angle}: detected rotation {rotation} (wrong)")
    return {
        "cases": total,
        "accuracy": right / max(1, total),
        "s_per_case": (time.perf_counter() - t0) / max(1, total),
    }


def measure_invoice_rasters(data: Path, options: OcrOptions) -> dict[str, float]:
    """Word agreement of OCR on the invoice2data PNG rasters with the text layer of the same PDFs.

    Words are compared as case-folded multisets (order-free); recall = OCR words that match a
    text-layer word / text-layer words.
    """
    from collections import Counter

    folder = data / "invoices" / "invoice2data"
    matched = ref_total = hyp_total = 0
    total_s = 0.0
    pngs = [p for p in sorted(folder.glob("*.png")) if p.with_suffix(".pdf").exists()]
    for png in pngs:
        pdf_doc = open_document(png.with_suffix(".pdf"), ocr=OcrOptions(backend="none"))
        ref = Counter(w.text.casefold() for w in next(pdf_doc.pages()).words)
        pdf_doc.close()
        t0 = time.perf_counter()
        page = next(open_document(png, ocr=options).pages())
        dt = time.perf_counter() - t0
        hyp = Counter(w.text.casefold() for w in page.words)
        m = sum((ref & hyp).values())
        matched, ref_total, hyp_total, total_s = (
            matched + m,
            ref_total + sum(ref.values()),
            hyp_total + sum(hyp.values()),
            total_s + dt,
        )
        print(
            f"  {png.name} {int(page.width)}x{int(page.height)} words recall={m / max(1, sum(ref.values())):.3f} "
            f"precision={m / max(1, sum(hyp.values())):.3f} s={dt:.2f}"
        )
    return {
        "pages": len(pngs),
        "recall": matched / max(1, ref_total),
        "precision": matched / max(1, hyp_total),
        "s_per_page": total_s / max(1, len(pngs)),
    }


def measure_text_layer(data: Path, repeats: int = 3) -> dict[str, float]:
    """Pages per second of ``open_document`` + text-layer words on the invoice2data PDFs."""
    pdfs = sorted((data / "invoices" / "invoice2data").glob("*.pdf"))
    for pdf in pdfs:  # warm-up: imports, font and CMap loading are one-off costs
        doc = open_document(pdf, ocr=OcrOptions(backend="none"))
        list(doc.pages())
        doc.close()
    pages = 0
    t0 = time.perf_counter()
    for _ in range(repeats):
        for pdf in pdfs:
            doc = open_document(pdf, ocr=OcrOptions(backend="none"))
            try:
                for page in doc.pages():
                    pages += 1
                    if not page.words:
                        print(f"  warning: no text-layer words on {pdf.name} page {page.number}")
            finally:
                doc.close()
    dt = time.perf_counter() - t0
    return {"files": len(pdfs), "pages": pages, "seconds": dt, "pages_per_s": pages / dt if dt else 0.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    ap.add_argument("--backend", action="append", choices=["rapidocr", "tesseract"], help="repeatable")
    ap.add_argument("--limit", type=int, default=None, help="only the first N receipts")
    ap.add_argument("--max-side", type=int, default=OcrOptions().max_side)
    ap.add_argument("--detector", choices=["float", "int8"], default="float", help="RapidOCR's text detector")
    ap.add_argument(
        "--tile-min-text-px", type=int, default=OcrOptions().tile_min_text_px, help="0: never tile"
    )
    ap.add_argument("--no-rotate", action="store_true")
    ap.add_argument("--no-deskew", action="store_true")
    ap.add_argument("--skip-text-layer", action="store_true")
    ap.add_argument("--orientation", action="store_true", help="also score page-turn detection (4x the OCR)")
    ap.add_argument(
        "--invoice-rasters", action="store_true", help="also compare OCR of the invoice PNGs to their PDFs"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not args.data.is_dir():
        print(f"shared data not found at {args.data}", file=sys.stderr)
        return 2
    for backend in args.backend or ["rapidocr"]:
        if backend == "tesseract" and shutil.which("tesseract") is None:
            print("tesseract: not installed (no tesseract binary on PATH), skipped")
            continue
        opts = OcrOptions(
            backend=backend,
            max_side=args.max_side,
            tile_min_text_px=args.tile_min_text_px,
            auto_rotate=not args.no_rotate,
            deskew=not args.no_deskew,
            detector=args.detector,
        )
        print(f"{backend}: {opts.model_dump()}")
        print(
            "  (SROIE transcripts are upper case while receipts print mixed case: CER_casefold is the fair one)"
        )
        r = measure_ocr(args.data, opts, args.limit)
        print(
            f"{backend}: pages={r['pages']} CER={r['cer']:.4f} CER_casefold={r['cer_casefold']:.4f} "
            f"CER_casefold_nospace={r['cer_casefold_nospace']:.4f} "
            f"s/page={r['s_per_page']:.2f} cpu_s/page={r['cpu_s_per_page']:.2f}"
        )
        if args.invoice_rasters:
            v = measure_invoice_rasters(args.data, opts)
            print(
                f"{backend}: invoice rasters {v['pages']} pages word recall={v['recall']:.3f} "
                f"precision={v['precision']:.3f} s/page={v['s_per_page']:.2f}"
            )
        if args.orientation:
            o = measure_orientation(args.data, opts, args.limit)
            print(
                f"{backend}: orientation {o['cases']} cases accuracy={o['accuracy']:.3f} s/case={o['s_per_case']:.2f}"
            )
    if not args.skip_text_layer:
        t = measure_text_layer(args.data)
        print(
            f"text layer: {t['pages']} pages ({t['files']} PDFs x 3) in {t['seconds']:.3f} s = "
            f"{t['pages_per_s']:.0f} pages/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
