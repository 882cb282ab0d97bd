"""evaluation/company_halves.py: held-out records scored on the read and the unread half of the companies."""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.company_halves import half_of, score_halves


def _receipt(root: Path, key: str, company: str, address: str, printed: str) -> None:
    (root / "key" / f"{key}.json").write_text(
        json.dumps({"company": company, "address": address, "date": "01/02/2018", "total": "5.00"})
    )
    (root / "box" / f"{key}.csv").write_text(f"1,1,9,1,9,5,1,5,{company}\n1,6,9,6,9,9,1,9,{printed}\n")


def test_each_company_keeps_its_half_and_unprinted_keys_are_counted_apart(tmp_path: Path) -> None:
    root = tmp_path / "set"
    (root / "key").mkdir(parents=True)
    (root / "box").mkdir()
    companies = [f"SHOP {i} SDN BHD" for i in range(8)]
    assert {half_of(c) for c in companies} == {"read", "unread"}  # the hash splits them
    assert half_of("shop 0  sdn bhd") == half_of(companies[0])  # case and spacing folded
    records = []
    for i, company in enumerate(companies):
        # receipt 0's key is not what its transcript prints; the others' is
        printed = "1 JALAN SATU, 12345 TOWN" if i else "1 JALAN SATU. 12345 TOWN"
        _receipt(root, f"{i:03d}", company, "1 JALAN SATU, 12345 TOWN", printed)
        predicted = "1 JALAN SATU, 12345 TOWN" if i % 3 else "WRONG"
        data = {
            "vendor": {"name": company, "address": predicted},
            "invoice_date": "2018-02-01",
            "total": "5.00",
        }
        records.append({"source": str(root / "img" / f"{i:03d}.jpg"), "data": data})
    rec_file = tmp_path / "cv.jsonl"
    rec_file.write_text("".join(json.dumps(r) + "\n" for r in records))
    halves = score_halves(rec_file, root)
    right = sum(h["vendor.address"][0] for h in halves.values())
    labelled = sum(h["vendor.address"][1] for h in halves.values())
    not_printed = sum(h["vendor.address"][2] for h in halves.values())
    assert (right, labelled, not_printed) == (5, 8, 1)  # 0, 3 and 6 wrong; 0 not printed as keyed
    assert sum(h["vendor.name"][0] for h in halves.values()) == 8
    assert sum(h["total"][0] for h in halves.values()) == 8
