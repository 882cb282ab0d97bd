"""What the layout engine reads from the SROIE receipts when its words are the human transcripts.

The SROIE ``box/NNN.csv`` files are people's transcripts of the same scans the key files label.
Running the engine on them instead of on OCR output separates the two sources of error on the
receipt fields: the rules (wrong lines picked) and the reading (wrong characters). It also shows
where a key disagrees with the transcript of its own receipt, which no reader can match.

In: the shared data folder, and optionally a JSONL of docvlm records for the same receipts (the
OCR run). Out: per-field accuracy on both, then one row per receipt whose address is wrong on
either, with the key, the transcript-based answer and the OCR answer.

    docvlm extract ../shared/data/receipts/sroie/img -o sroie.jsonl
    python evaluation/sroie_transcripts.py --pred sroie.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from docvlm.datamodel import Page, Word, WordSource
from docvlm.engines.layout import LayoutEngine
from docvlm.labels.gold import transcript_lines
from docvlm.ocr.lines import quad_to_words
from docvlm.validate import validate
from evaluation.metrics import values_match
from evaluation.readers import read_gold, read_predictions, record_fields
from evaluation.score import score_extraction
from schemas import Invoice

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (REPO / ".." / "shared" / "data").resolve()


def transcript_page(csv_path: Path, image_path: Path) -> Page:
    """One OCR-like page whose words are the transcript lines split at spaces, boxes shared out by position."""
    words: list[Word] = []
    for i, (quad, text) in enumerate(transcript_lines(csv_path)):
        words.extend(quad_to_words(text, quad, 1.0, i))
    with Image.open(image_path) as im:
        width, height = im.size
    return Page(number=1, width=width, height=height, unit="px", words=words, word_source=WordSource.OCR)


def transcript_records(root: Path) -> dict[str, dict[str, Any]]:
    """docvlm-like records (``source`` and validated ``data``) extracted from every transcript."""
    engine = LayoutEngine()
    out: dict[str, dict[str, Any]] = {}
    for csv_path in sorted((root / "box").glob("*.csv")):
        image = root / "img" / f"{csv_path.stem}.jpg"
        if not image.is_file():
            continue
        result = engine.extract([transcript_page(csv_path, image)], Invoice)
        out[csv_path.stem] = {"source": str(image), "data": validate(result.data, Invoice).data}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    ap.add_argument("--pred", type=Path, help="docvlm JSONL records of the same receipts (the OCR run)")
    args = ap.parse_args(argv)
    root = args.data / "receipts" / "sroie"
    gold = read_gold(root / "key", "sroie")
    runs = {"transcripts": transcript_records(root)}
    if args.pred:
        runs["ocr"] = read_predictions(args.pred)
    fields = sorted({f for g in gold.values() for f in g.fields})
    print(f"{'field':<16}" + "".join(f"{name:>14}" for name in runs))
    scores = {name: score_extraction(recs, gold) for name, recs in runs.items()}
    for f in fields:
        cells = []
        for s in scores.values():
            st = s.per_field.get(f)
            cells.append(f"{st.accuracy:>8.0%} {st.tp + st.tn:>2}/{st.n:<2}" if st else f"{'-':>14}")
        print(f"{f:<16}" + "".join(cells))
    field = "vendor.address"
    print(f"\n{field}: receipts wrong on either run")
    for key in sorted(gold):
        want = gold[key].fields.get(field)
        got = {name: record_fields(recs.get(key, {}))[0].get(field) for name, recs in runs.items()}
        if all(values_match(field, v, want) for v in got.values()):
            continue
        print(f"  {key}  key:         {want}")
        for name, v in got.items():
            mark = "ok" if values_match(field, v, want) else "--"
            print(f"  {key}  {name + ':':<12} {v}  [{mark}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
