"""Start-up: the command line imports the stack only for the command that needs it.

Each check runs a fresh interpreter and reads its ``sys.modules``: what an earlier test imported
in this process cannot hide a heavy import. Times are measured by the benchmark, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "pandas", "onnxruntime", "matplotlib")
# what `docvlm --help` must not need either: the pipeline, the engines, the schemas and numerics
STACK = ("docvlm.pipeline", "docvlm.engines", "docvlm.ingest", "schemas", "numpy", "cv2", "PIL", "pydantic")


def _loaded(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _cli(*argv: str) -> str:
    # the app exits after a command; the probe prints the modules after that
    return f"import sys, cli\nsys.argv = ['docvlm', *{list(argv)!r}]\ntry:\n    cli.app()\nexcept SystemExit:\n    pass"


def test_import_cli_loads_no_heavy_library():
    assert not set(HEAVY) & _loaded("import cli")


def test_help_loads_none_of_the_stack():
    mods = _loaded(_cli("--help"))
    assert not (set(HEAVY) | set(STACK)) & mods


def test_schema_of_a_builtin_type_builds_no_model():
    mods = _loaded(_cli("schema", "invoice"))
    # the stored text (schemas/json) is printed: no model, no pydantic, none of the stack
    assert "schemas.publish" in mods
    assert not (set(HEAVY) | set(STACK) - {"schemas"}) & mods
    assert not {"schemas.invoice", "schemas.docvqa", "schemas.forms"} & mods


def test_schema_of_a_user_model_still_builds_it():
    mods = _loaded(_cli("schema", "schemas.forms:Form"))
    assert {"schemas.forms", "pydantic"} <= mods
    assert not (set(HEAVY) | {"docvlm.pipeline", "docvlm.engines", "numpy", "PIL"}) & mods


def test_every_builtin_schema_still_resolves_by_name():
    from schemas import BUILTIN_NAMES, SCHEMAS, get_schema
    from schemas.resolve import resolve_schema

    assert set(SCHEMAS) == set(BUILTIN_NAMES) >= {"invoice", "receipt", "form", "docvqa_answer"}
    for name in BUILTIN_NAMES:
        resolved = resolve_schema(name)
        assert resolved.builtin and resolved.model is get_schema(name) is SCHEMAS[name]
        assert resolve_schema(resolved.model).name in BUILTIN_NAMES
