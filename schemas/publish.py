"""The built-in schemas' JSON Schema text, kept in files so ``docvlm schema`` builds no model.

Building the pydantic models costs most of that command's start-up, and the text it prints is fixed
by the sources of this package (and pydantic's major release; minor releases print the same text,
which the test checks in whatever environment it runs). ``python -m schemas.publish`` writes each
built-in type's text to ``schemas/json/<name>.schema.json`` beside a digest of those sources;
``schema_text`` serves a file only while the digest still matches, and builds the schema otherwise,
so an edited schema is never printed stale. A test checks that the files match the models.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
FOLDER = PACKAGE / "json"
DIGEST = FOLDER / "sources.sha256"


def _pydantic_major() -> bytes:
    """pydantic's major release, read from its version module without importing pydantic."""
    spec = importlib.util.find_spec("pydantic")
    if spec is None or not spec.origin:
        return b""
    text = Path(spec.origin).with_name("version.py").read_text(encoding="utf-8")
    match = re.search(r"""^VERSION\s*=\s*['"](\d+)\.""", text, re.MULTILINE)
    return match.group(1).encode() if match else b""


def sources_digest() -> str:
    """sha256 of this package's modules and of the pydantic major release that turns them into text.

    Only the major release: the digest is stored in the repository, so it must not change with the
    patch or minor release that one environment happens to hold (2.13 and 2.14 print the same text).
    """
    h = hashlib.sha256()
    for path in sorted(PACKAGE.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(b"pydantic " + _pydantic_major())
    return h.hexdigest()


def _file(name: str) -> Path:
    return FOLDER / f"{name}.schema.json"


def published_text(name: str) -> str | None:
    """The stored text of a built-in schema, or None when it is missing or older than the sources."""
    path = _file(name)
    try:
        if DIGEST.read_text(encoding="utf-8").strip() != sources_digest():
            return None
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def schema_text(name: str) -> str:
    """What ``docvlm schema NAME`` prints for a built-in type: the stored text, or the model's."""
    text = published_text(name)
    if text is not None:
        return text
    from schemas import json_schema_text

    return json_schema_text(name)


def publish() -> list[Path]:
    """Write every built-in schema's text and the digest of the sources it came from."""
    from schemas import BUILTIN_NAMES, json_schema_text

    FOLDER.mkdir(exist_ok=True)
    written = []
    for name in BUILTIN_NAMES:
        _file(name).write_text(json_schema_text(name), encoding="utf-8")
        written.append(_file(name))
    DIGEST.write_text(sources_digest() + "\n", encoding="utf-8")
    return [*written, DIGEST]


if __name__ == "__main__":
    for written_path in publish():
        print(written_path.relative_to(PACKAGE.parent), file=sys.stderr)
