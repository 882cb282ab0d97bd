"""User schemas and forms: the resolver, the key-value reader, the mapping, the CLI's --schema."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from docvlm.datamodel import Page, Word
from docvlm.engines import LayoutOptions, OpenAIOptions, schema_problem
from docvlm.engines.layout.kv import read_pairs
from docvlm.engines.layout.kvmap import english_words, extract_schema
from docvlm.pipeline import Pipeline, PipelineOptions
from schemas import Form, Invoice
from schemas.kinds import FieldKind, field_kinds
from schemas.resolve import SchemaError, lenient_model, model_from_json_schema, resolve_schema
from tests.helpers.forms import EXPECTED, make_form_pdf
from tests.helpers.pages import load_pages, make_page

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "forms"


@pytest.fixture(scope="module")
def delivery_note() -> type[BaseModel]:
    sys.path.insert(0, str(SAMPLES))
    try:
        from mymodels import DeliveryNote
    finally:
        sys.path.remove(str(SAMPLES))
    return DeliveryNote


class Po(BaseModel):
    po_number: str = Field(alias="PONumber")
    order_date: dt.date | None = None
    total: Decimal | None = None


def test_resolver_names_builtins_refs_classes_and_json_schema(tmp_path: Path) -> None:
    assert resolve_schema("invoice").model is Invoice and resolve_schema("form").model is Form
    assert resolve_schema(Invoice).name == "invoice"
    ref = resolve_schema("tests.unit.test_forms:Po")
    assert ref.name == "po" and ref.spec == "tests.unit.test_forms:Po" and not ref.builtin
    assert ref.user_model.__name__ == "Po"
    # every field may be absent, aliases and names are both accepted, types are kept
    assert ref.model().model_dump() == {"po_number": None, "order_date": None, "total": None}
    assert ref.model.model_validate({"PONumber": "7"}).po_number == "7"
    assert ref.model.model_validate({"po_number": "8", "total": "12.50"}).total == Decimal("12.50")
    schema = {
        "title": "Permit",
        "type": "object",
        "properties": {
            "permit_no": {"type": "string", "description": "the permit number"},
            "issued": {"type": "string", "format": "date"},
            "fee": {"type": ["number", "null"]},
            "kind": {"enum": ["A", "B"]},
            "rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}},
        },
        "required": ["permit_no"],
        "$defs": {"Row": {"type": "object", "properties": {"code": {"type": "string"}}}},
    }
    path = tmp_path / "permit.schema.json"
    path.write_text(json.dumps(schema))
    res = resolve_schema(str(path))
    assert res.name == "permit" and res.spec == str(path.resolve())
    assert field_kinds(res.model) == {
        "permit_no": FieldKind.STRING,
        "issued": FieldKind.DATE,
        "fee": FieldKind.MONEY,
        "kind": FieldKind.STRING,
        "rows.code": FieldKind.STRING,
    }
    got = res.model.model_validate(
        {"permit_no": "P1", "issued": "2024-01-31", "kind": "B", "rows": [{"code": "x"}]}
    )
    assert got.issued == dt.date(2024, 1, 31) and got.rows[0].code == "x"
    with pytest.raises(SchemaError, match=r"module:Class|JSON Schema"):
        resolve_schema("no_such_schema")
    with pytest.raises(SchemaError, match="cannot import"):
        resolve_schema("no_such_module_xyz:Thing")
    with pytest.raises(SchemaError, match="not readable JSON"):
        (tmp_path / "bad.json").write_text("{")
        resolve_schema(str(tmp_path / "bad.json"))
    with pytest.raises(SchemaError, match="object schema"):
        model_from_json_schema({"type": "string"})


def test_a_class_from_main_runs_in_process() -> None:
    local = type("Local", (BaseModel,), {"__annotations__": {"x": str}, "__module__": "__main__"})
    pipe = Pipeline(PipelineOptions(schema_model=local))
    assert pipe.resolved.spec is None and pipe.options.schema_name == "invoice"
    pipe2 = Pipeline(schema=Po)
    spec = pipe2.options.schema_name  # what a worker imports
    assert spec.endswith("test_forms:Po") and resolve_schema(spec).user_model is Po


def test_label_words_across_languages() -> None:
    def words(text: str) -> set[str]:
        return set().union(*english_words(text))

    assert {"delivery", "date"} <= words("Lieferdatum")
    assert {"delivery", "note", "number"} <= words("Lieferscheinnummer")
    assert {"order", "number"} <= words("N° de commande")
    assert {"delivery", "date"} <= words("deliveryDate")


@pytest.mark.parametrize("german", [False, True])
def test_generated_form_gives_the_delivery_note_fields_with_boxes(
    tmp_path: Path, delivery_note, german: bool
) -> None:
    pages = load_pages(make_form_pdf(tmp_path / "form.pdf", german=german))
    out = extract_schema(pages, lenient_model(delivery_note))
    for field, want in EXPECTED.items():
        assert str(out.data[field]) == str(want) if want is not None else out.data[field] is None, field
        if want is not None:
            ev = out.evidence[field]
            assert ev.page == 1 and ev.bbox[2] > ev.bbox[0] and 0 < out.confidence[field] <= 1
    # the value box is where the value is printed, not the label's
    assert out.evidence["delivery_note_number"].text == "DN-2024-0117"
    assert out.evidence["vehicle"].text == "HH-XY 123"


def test_form_schema_lists_every_pair(tmp_path: Path) -> None:
    pages = load_pages(make_form_pdf(tmp_path / "form.pdf"))
    out = extract_schema(pages, Form)
    pairs = {f["key"]: f["value"] for f in out.data["fields"]}
    assert pairs["Delivery Note No"] == "DN-2024-0117"
    assert pairs["Shipping"] == "Express"
    assert pairs["Goods received in good condition"] == "yes"
    assert pairs["Received by"] == "J. Schmidt" and pairs["Remarks"] is None
    assert "fields.0.value" in out.evidence and "fields.10.value" not in out.evidence  # empty Remarks


def test_kv_layouts_on_a_synthetic_page() -> None:
    page = make_page(
        [
            (40, 40, "Name:  Ada Lovelace"),
            (40, 60, "Phone"),
            (40, 74, "+44 20 7946 0000"),
            (300, 60, "Reference:"),
            (40, 100, "Licence number        AB-12345"),
        ]
    )
    got = {kv.label: (kv.value, kv.how) for kv in read_pairs([page])}
    assert got["Name"] == ("Ada Lovelace", "colon")
    assert got["Licence number"] == ("AB-12345", "left")


def test_unmatched_fields_stay_null_and_nothing_is_guessed(delivery_note) -> None:
    page = make_page([(40, 40, "Colour:  blue"), (40, 60, "Weather:  sunny")])
    out = extract_schema([page], lenient_model(delivery_note))
    assert all(v is None for k, v in out.data.items() if k != "items") and out.evidence == {}


def test_typed_fields_need_a_value_of_their_type(delivery_note) -> None:
    page = make_page([(40, 40, "Delivery Date:  tomorrow"), (40, 60, "Packages:  several")])
    out = extract_schema([page], lenient_model(delivery_note))
    assert out.data["delivery_date"] is None and out.data["packages"] is None


def test_pipeline_record_of_a_user_schema(tmp_path: Path, delivery_note) -> None:
    pdf = make_form_pdf(tmp_path / "form.pdf")
    pipe = Pipeline(PipelineOptions(schema_model=delivery_note))
    rec = pipe.extract(pdf).to_record()
    assert rec["status"] == "ok" and rec["document_type"] == "delivery_note"
    assert rec["data"]["delivery_date"] == "2024-03-12" and rec["data"]["packages"] == 4
    assert rec["data"]["remarks"] is None and rec["page_range"] == [1, 1]
    assert rec["evidence"]["delivery_date"]["text"] == "12.03.2024"


def test_engines_say_what_they_cannot_do() -> None:
    from schemas.docvqa import Answer

    class Tree(BaseModel):
        name: str | None = None
        children: list[Tree] = Field(default_factory=list)

    assert schema_problem(LayoutOptions(), Answer) is not None
    assert schema_problem(LayoutOptions(), lenient_model(Po)) is None
    assert "itself" in (schema_problem(OpenAIOptions(model="m"), Tree) or "")
    assert schema_problem(OpenAIOptions(model="m"), lenient_model(Po)) is None


def test_cli_schema_errors_exit_2_before_reading(tmp_path: Path) -> None:
    from cli import app

    missing = tmp_path / "never-read.pdf"  # does not exist: exit 2 must come from the schema, not the input
    runner = CliRunner()
    for spec, msg in (
        ("nope_xyz:Thing", "cannot import"),
        ("docvqa_answer", "docvlm ask"),
        ("bogus", "unknown schema"),
    ):
        res = runner.invoke(app, ["extract", str(missing), "--schema", spec, "-o", str(tmp_path / "o.jsonl")])
        assert res.exit_code == 2, (spec, res.output)
        assert msg in res.output
    assert not (tmp_path / "o.jsonl").exists()


def test_cli_schema_json_schema_file_and_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import app

    make_form_pdf(tmp_path / "dn.pdf")
    (tmp_path / "dn.schema.json").write_text(
        json.dumps(
            {
                "title": "DeliveryNote",
                "type": "object",
                "properties": {
                    "delivery_note_number": {"type": "string"},
                    "delivery_date": {"type": "string", "format": "date"},
                    "carrier": {"type": "string"},
                    "colour": {"type": "string"},
                },
            }
        )
    )
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["extract", "dn.pdf", "--schema", "dn.schema.json", "-o", "-", "--no-progress"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout.splitlines()[0])
    assert rec["data"] == {
        "delivery_note_number": "DN-2024-0117",
        "delivery_date": "2024-03-12",
        "carrier": "Nordfracht",
        "colour": None,
    }
    shutil_copy = (SAMPLES / "mymodels.py").read_text()
    (tmp_path / "mymodels.py").write_text(shutil_copy)
    res = runner.invoke(
        app, ["extract", "dn.pdf", "--schema", "mymodels:DeliveryNote", "-o", "-", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.splitlines()[0])["data"]["received_by"] == "J. Schmidt"


def test_user_schema_grounding_uses_field_types() -> None:

    from docvlm.datamodel import EngineOutput
    from docvlm.ground import ground
    from docvlm.validate import validate

    class Delivery(BaseModel):
        packages: int | None = None
        delivery_date: dt.date | None = None

    page = Page(
        number=1,
        width=595,
        height=842,
        unit="pt",
        words=[
            Word("Packages:", (40, 40, 90, 50)),
            Word("4", (95, 40, 100, 50)),
            Word("Date:", (40, 60, 70, 70)),
            Word("12.03.2024", (75, 60, 130, 70)),
        ],
    )
    out = EngineOutput(
        data={"packages": 4, "delivery_date": "2024-03-12"}, generated={"packages", "delivery_date"}
    )
    # the kinds come from the annotations (int: a number, date: a date), not from the leaf names
    got = ground(validate(out.data, Delivery), out, [page])
    assert got.evidence["packages"].text == "4" and got.evidence["delivery_date"].text == "12.03.2024"
    assert not got.warnings


def test_schema_command_prints_a_user_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import app

    (tmp_path / "mymodels.py").write_text((SAMPLES / "mymodels.py").read_text())
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["schema", "mymodels:DeliveryNote"])
    assert res.exit_code == 0, res.output
    schema = json.loads(res.stdout)
    assert schema["title"] == "DeliveryNote" and "delivery_note_number" in schema["properties"]
    assert not schema.get("required")  # records may leave any field null
    assert CliRunner().invoke(app, ["schema", "nope_xyz:X"]).exit_code == 2
