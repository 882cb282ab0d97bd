"""Label-free check of the text-layer test on born-digital PDFs: false alarms and cost per page.

Every page of the PDFs under the given folders is read from its text layer and judged by
``docvlm.textlayer.check_text_layer``. A born-digital invoice should keep its layer, so every
replaced page is a false alarm, and every page that needed an OCR sample is a cost. The cost of
the check is given per page and against reading the words themselves (each page's fastest of
``--repeats`` runs, both measured in the same run, so the ratio is what to compare on a busy
machine).

    python evaluation/textlayer_eval.py ../shared/data/invoices ../shared/data/einvoices samples
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(_REPO))

from docvlm.ingest import text_layer_words  # noqa: E402
from docvlm.ocr import OcrOptions  # noqa: E402
from docvlm.textlayer import Verdict, check_text_layer  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    import pymupdf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    pdfs = sorted(p for f in args.folders for p in f.rglob("*.pdf"))
    docs = [pymupdf.open(p) for p in pdfs]
    pages = [
        (pdf, page, text_layer_words(page, page.number + 1))
        for pdf, d in zip(pdfs, docs, strict=True)
        for page in (d.load_page(i) for i in range(d.page_count))
    ]
    ocr = OcrOptions()
    replaced = sampled = empty = 0
    for pdf, page, words in pages:
        v = check_text_layer(page, words, "auto", ocr)
        empty += not words
        sampled += v.score.agreement is not None
        if v.verdict is Verdict.REPLACE:
            replaced += 1
            print(f"REPLACED {pdf.name} page {page.number + 1}: {v.reason}")

    def best(fn: object) -> float:
        """Seconds per page: each page's fastest of the repeats (a busy machine's stalls left out), averaged."""
        fastest = [float("inf")] * len(pages)
        for _ in range(args.repeats):
            for i, (_, page, words) in enumerate(pages):
                t0 = time.perf_counter()
                fn(page, words)  # type: ignore[operator]
                fastest[i] = min(fastest[i], time.perf_counter() - t0)
        return sum(fastest) / len(pages)

    t_words = best(lambda page, words: text_layer_words(page, 1))
    t_check = best(lambda page, words: check_text_layer(page, words, "auto", ocr))
    for d in docs:
        d.close()
    n = len(pages) - empty
    print(f"{len(pdfs)} PDFs, {len(pages)} pages ({empty} without text)")
    print(
        f"text layers replaced: {replaced}/{n} ({replaced / max(n, 1):.1%}); pages that needed an OCR sample: {sampled}"
    )
    print(
        f"cost: reading the words {1000 * t_words:.3f} ms/page, the check {1000 * t_check:.3f} ms/page "
        f"({t_check / t_words:.1%} of reading the words)"
    )
    return 0 if replaced == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
