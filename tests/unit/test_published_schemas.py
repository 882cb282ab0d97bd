"""The stored JSON Schema texts (``schemas/json``) are the models' own, and are never served stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import BUILTIN_NAMES, get_schema, json_schema_text, publish


def test_stored_texts_match_the_models_and_the_sources():
    # fails when a schema module changes without `python -m schemas.publish`
    assert publish.DIGEST.read_text(encoding="utf-8").strip() == publish.sources_digest()
    for name in BUILTIN_NAMES:
        stored = publish.published_text(name)
        assert stored is not None, name
        assert stored == json_schema_text(name)
        assert json.loads(stored) == get_schema(name).model_json_schema()


def test_a_digest_that_no_longer_matches_falls_back_to_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "invoice.schema.json").write_text('{"title": "stale"}', encoding="utf-8")
    (folder / "sources.sha256").write_text("0" * 64 + "\n", encoding="utf-8")
    monkeypatch.setattr(publish, "FOLDER", folder)
    monkeypatch.setattr(publish, "DIGEST", folder / "sources.sha256")
    assert publish.published_text("invoice") is None
    assert publish.schema_text("invoice") == json_schema_text("invoice")
    # with the right digest the stored file is what is served
    (folder / "sources.sha256").write_text(publish.sources_digest(), encoding="utf-8")
    assert publish.schema_text("invoice") == '{"title": "stale"}'


def test_a_missing_file_falls_back_to_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(publish, "FOLDER", tmp_path)
    monkeypatch.setattr(publish, "DIGEST", tmp_path / "sources.sha256")
    assert publish.schema_text("form") == json_schema_text("form")


def test_publish_writes_every_builtin_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(publish, "FOLDER", tmp_path)
    monkeypatch.setattr(publish, "DIGEST", tmp_path / "sources.sha256")
    written = publish.publish()
    assert {p.name for p in written} == {f"{n}.schema.json" for n in BUILTIN_NAMES} | {"sources.sha256"}
    for name in BUILTIN_NAMES:
        assert publish.published_text(name) == json_schema_text(name)


def test_the_digest_follows_only_the_major_pydantic_release():
    # the digest is stored in the repository: an environment with another 2.x must still match it
    import pydantic

    assert publish._pydantic_major() == pydantic.VERSION.split(".")[0].encode()
