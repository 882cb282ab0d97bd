"""merge_page_outputs: per-page outputs of a generative engine joined into one document output."""

from __future__ import annotations

from docvlm.datamodel import Attempt, EngineOutput, Evidence, RecordWarning
from docvlm.engines.generative.merge import merge_page_outputs
from schemas import Invoice


def ev(page: int, text: str) -> Evidence:
    return Evidence(page, (0.0, 0.0, 10.0, 10.0), text, 1.0)


def test_lists_concatenate_and_their_paths_are_reindexed() -> None:
    p1 = EngineOutput(
        data={"invoice_number": "A-1", "total": None, "line_items": [{"amount": "1.00"}, {"amount": "2.00"}]},
        evidence={"invoice_number": ev(1, "A-1"), "line_items.1.amount": ev(1, "2,00")},
        confidence={"invoice_number": 0.9, "line_items.1.amount": 0.8},
        generated={"invoice_number", "line_items.0.amount", "line_items.1.amount"},
        usage={"requests": 1, "prompt_tokens": 10},
        attempts=[Attempt(1, "{}")],
    )
    p2 = EngineOutput(
        data={"invoice_number": None, "total": "3.00", "line_items": [{"amount": "3.00"}]},
        evidence={"line_items.0.amount": ev(2, "3,00"), "total": ev(2, "3,00")},
        confidence={"line_items.0.amount": 0.7, "total": 0.9},
        generated={"line_items.0.amount", "total"},
        usage={"requests": 2, "prompt_tokens": 12},
        warnings=[RecordWarning("prompt_truncated", "page 2: cut")],
        fallback=True,
    )
    out = merge_page_outputs([p1, p2], Invoice)
    assert out.data == {
        "invoice_number": "A-1",
        "total": "3.00",
        "line_items": [{"amount": "1.00"}, {"amount": "2.00"}, {"amount": "3.00"}],
    }
    assert out.evidence["line_items.2.amount"].page == 2 and out.evidence["line_items.1.amount"].page == 1
    assert out.confidence["line_items.2.amount"] == 0.7
    assert out.generated == {
        "invoice_number",
        "total",
        "line_items.0.amount",
        "line_items.1.amount",
        "line_items.2.amount",
    }
    assert out.usage == {"requests": 3, "prompt_tokens": 22}
    assert out.fallback and [w.code for w in out.warnings] == ["prompt_truncated"] and len(out.attempts) == 1
    assert p1.data["line_items"] == [{"amount": "1.00"}, {"amount": "2.00"}]  # inputs are not modified


def test_scalar_conflicts_go_to_confidence_then_to_page_position() -> None:
    def page(n: int, number: str, total: str, conf: float) -> EngineOutput:
        return EngineOutput(
            data={"invoice_number": number, "total": total, "vendor": {"name": f"V{n}"}},
            evidence={"invoice_number": ev(n, number), "total": ev(n, total), "vendor.name": ev(n, f"V{n}")},
            confidence={"invoice_number": conf, "total": conf, "vendor.name": 0.5},
        )

    out = merge_page_outputs(
        [page(1, "A", "10.00", 0.6), page(2, "B", "20.00", 0.6), page(3, "C", "30.00", 0.9)], Invoice
    )
    assert out.data["invoice_number"] == "C" and out.evidence["invoice_number"].page == 3  # most confident
    out = merge_page_outputs([page(1, "A", "10.00", 0.6), page(2, "B", "20.00", 0.6)], Invoice)
    assert (
        out.data["invoice_number"] == "A" and out.evidence["invoice_number"].page == 1
    )  # tie: header from the top
    assert out.data["total"] == "20.00" and out.evidence["total"].page == 2  # tie: totals from the end
    assert out.data["vendor"]["name"] == "V1" and out.evidence["vendor.name"].page == 1


def test_edge_cases() -> None:
    assert merge_page_outputs([], Invoice).data == {}
    single = EngineOutput(data={"total": "1"})
    assert merge_page_outputs([single], Invoice) is single
    out = merge_page_outputs(
        [EngineOutput(data={"total": None}), EngineOutput(data={"total": None})], Invoice
    )
    assert out.data == {"total": None} and out.evidence == {}
