"""The chooser does not overwrite a strongly labelled identifier or date of the rules (``ranker.apply_model``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from docvlm.engines.layout.candidates.pool import build_pool
from docvlm.engines.layout.layout_engine import rule_pass
from docvlm.engines.layout.ranker import HeaderModel, apply_model
from tests.helpers.pages import make_page


class _LastDate:
    """A booster that ranks a page's date proposals by their order: the last one scores highest."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.linspace(0.2, 0.99, len(x))


def _choose(lines: list[tuple[float, float, str]]) -> tuple[str | None, float | None]:
    rp = rule_pass([make_page(lines)], use_model=False)
    model = HeaderModel(
        Path("stub"), {}, boosters={"due_date": _LastDate()}, use_on={"due_date": frozenset({"invoice"})}
    )  # type: ignore[dict-item]
    pool = build_pool(rp.pls, rp.header, False, rp.table_boxes, model.kinds_for(False, rp.header))
    apply_model(model, pool, rp.header, rp.table_boxes, rp.line_sum)
    return rp.header.values.get("due_date"), rp.header.confidence.get("due_date")


def test_a_labelled_due_date_stays_the_rules() -> None:
    value, conf = _choose(
        [
            (40, 100, "Invoice No:  INV-5"),
            (40, 115, "Invoice date:  2024-01-15"),
            (40, 130, "Due date:  2024-02-14"),
            (40, 400, "Service period end:  2024-12-31"),
            (350, 600, "Total  $40.00"),
        ]
    )
    assert value == "2024-02-14"
    assert conf is not None and 0.0 <= conf <= 1.0


def test_without_a_strong_label_the_model_chooses() -> None:
    value, _ = _choose(
        [
            (40, 100, "Invoice No:  INV-5"),
            (40, 115, "Invoice date:  2024-01-15"),
            (40, 400, "Valid until 2024-12-31"),
            (350, 600, "Total  $40.00"),
        ]
    )
    assert value == "2024-12-31"


class _Unsure:
    """A booster that finds every proposal more likely wrong than right."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), 0.05)


def test_a_choice_more_likely_wrong_than_right_is_not_made() -> None:
    rp = rule_pass(
        [
            make_page(
                [
                    (40, 100, "Invoice No:  INV-5"),
                    (40, 115, "Invoice date:  2024-01-15"),
                    (40, 400, "Valid until 2024-12-31"),
                    (350, 600, "Total  $40.00"),
                ]
            )
        ],
        use_model=False,
    )
    model = HeaderModel(
        Path("stub"),
        {},
        boosters={"due_date": _Unsure(), "invoice_number": _Unsure()},  # type: ignore[dict-item]
        use_on={"due_date": frozenset({"invoice"}), "invoice_number": frozenset({"invoice"})},
    )
    pool = build_pool(rp.pls, rp.header, False, rp.table_boxes, model.kinds_for(False, rp.header))
    apply_model(model, pool, rp.header, rp.table_boxes, rp.line_sum)
    assert "due_date" not in rp.header.values  # nothing was sure enough
    assert rp.header.values.get("invoice_number") == "INV-5"  # the rules' value stays
