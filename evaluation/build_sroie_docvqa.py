"""Build ``evaluation/datasets/sroie_docvqa.json``: DocVQA-style questions over the SROIE receipts.

In: a SROIE folder with ``key/NNN.json`` (``company``, ``date``, ``address``, ``total``) and
``img/NNN.jpg``. Out: an official-format DocVQA JSON file with four questions per receipt (total,
date, company, address), worded several ways and rotated across receipts so each field is asked
with at least two wordings. Image paths are relative to the SROIE folder (pass it as ``--root``).
Gold answers are the key-file values verbatim; a question whose value is empty is skipped.

Usage: ``python -m evaluation.build_sroie_docvqa --sroie ../shared/data/receipts/sroie``
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

# field -> wordings; receipt i of the sorted list gets wording i mod len (question types rotate too)
WORDINGS: dict[str, tuple[str, ...]] = {
    "total": (
        "What is the total amount?",
        "How much was paid in total?",
        "What is the total?",
        "What is the grand total on this receipt?",
    ),
    "date": (
        "What is the date of the receipt?",
        "When was this receipt issued?",
        "On what date was the purchase made?",
    ),
    "company": (
        "Which company issued this receipt?",
        "What is the name of the store?",
        "Who is the merchant?",
    ),
    "address": (
        "What is the address of the store?",
        "Where is the company located?",
        "What is the merchant's address?",
    ),
}
ATTRIBUTION = (
    "Receipts and labels from the ICDAR 2019 SROIE training set (CC BY 4.0): Huang et al., "
    '"ICDAR2019 Competition on Scanned Receipt OCR and Information Extraction", ICDAR 2019, '
    "doi:10.1109/ICDAR.2019.00244."
)


def build(sroie: Path) -> dict[str, Any]:
    """The dataset as a dict in the official DocVQA format (plus an attribution note)."""
    keys = sorted((sroie / "key").glob("*.json"))
    if not keys:
        raise FileNotFoundError(f"no key/*.json under {sroie}")
    data: list[dict[str, Any]] = []
    qid = 1
    for i, key_file in enumerate(keys):
        labels = json.loads(key_file.read_text(encoding="utf-8"))
        image = next(
            (
                f"img/{key_file.stem}{s}"
                for s in (".jpg", ".png", ".jpeg")
                if (sroie / "img" / f"{key_file.stem}{s}").is_file()
            ),
            None,
        )
        if image is None:
            _log.warning("no image for %s; skipped", key_file.name)
            continue
        for fld, wordings in WORDINGS.items():
            value = str(labels.get(fld) or "").strip()
            if not value:
                continue
            data.append(
                {
                    "questionId": qid,
                    "question": wordings[i % len(wordings)],
                    "image": image,
                    "docId": key_file.stem,
                    "answers": [value],
                    "question_types": [fld],
                }
            )
            qid += 1
    return {
        "dataset_name": "sroie_docvqa",
        "dataset_split": "train",
        "attribution": ATTRIBUTION,
        "data": data,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sroie", type=Path, default=Path("../shared/data/receipts/sroie"))
    parser.add_argument(
        "--output", "-o", type=Path, default=Path(__file__).parent / "datasets" / "sroie_docvqa.json"
    )
    args = parser.parse_args(argv)
    try:
        dataset = build(args.sroie)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(dataset, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(dataset['data'])} questions to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
