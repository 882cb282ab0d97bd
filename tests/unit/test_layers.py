"""The house rules that keep imports one-way, checked on the source (an AST walk, every import counts).

- An engine (``docvlm.engines``) never imports a stage: pipeline, validate, ground, ingest, sinks.
- ``schemas`` imports nothing of ``docvlm`` but the leaf ``docvlm.parsers``.
- ``docvlm.parsers`` imports nothing of ``schemas``.
- ``docvlm`` imports neither ``cli`` nor ``evaluation``, with no exception: training reads labels
  and matches values with ``docvlm.labels``, which the evaluation imports in turn.
- No module of the library is over 600 lines.

Imports inside functions and ``TYPE_CHECKING`` blocks count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("docvlm.pipeline", "docvlm.validate", "docvlm.ground", "docvlm.ingest", "docvlm.sinks")
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, absolute name) of every import in ``source``; ``from a import b`` yields ``a.b``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # ``from a import b``: b is a submodule or a name of a
                yield node.lineno, f"{base}.{alias.name}"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(module: str, imports: list[tuple[int, str]]) -> list[str]:
    """The house rules that ``module`` breaks with ``imports`` (one report per rule and import line)."""
    out: dict[tuple[int, str], str] = {}
    for line, name in imports:
        broken: list[tuple[str, str]] = []
        if _within(module, "docvlm.engines") and any(_within(name, s) for s in STAGES):
            broken.append(("stage", f"an engine imports the stage {name}"))
        if _within(module, "schemas") and _within(name, "docvlm") and not _within(name, "docvlm.parsers"):
            broken.append(("schemas", f"schemas imports {name} (only docvlm.parsers is allowed)"))
        if _within(module, "docvlm.parsers") and _within(name, "schemas"):
            broken.append(("parsers", f"parsers imports {name}"))
        if _within(module, "docvlm") and (_within(name, "cli") or _within(name, "evaluation")):
            broken.append(("top", f"the library imports {name}"))
        for rule, message in broken:
            out.setdefault((line, rule), f"{module}:{line}: {message}")
    return list(out.values())


def library_files() -> list[Path]:
    return sorted(p for pkg in ("docvlm", "schemas") for p in (ROOT / pkg).rglob("*.py"))


def test_the_rules_catch_each_kind_of_violation() -> None:
    cases = {
        "docvlm.engines.openai_engine": "def f():\n    from docvlm.ground import ground\n",
        "docvlm.engines.transformers.x": "from ...validate import validate\n",
        "docvlm.engines.layout": "import docvlm.ingest\n",
        "schemas.invoice": "from docvlm import parsers, paths\n",
        "docvlm.parsers": "if TYPE_CHECKING:\n    from schemas.invoice import Invoice\n",
        "docvlm.pipeline": "from evaluation.metrics import anls_score\n",
        "docvlm.training.header": "import cli\n",
        "docvlm.training.crossval": "def f():\n    from evaluation.metrics import values_match\n",
        "docvlm.labels.gold": "from evaluation import readers\n",
    }
    for module, source in cases.items():
        found = violations(module, list(imported_modules(source, module, module == "docvlm.engines.layout")))
        assert len(found) == 1, (module, found)
    allowed = "from docvlm.parsers import parse_amount\nfrom docvlm.evidence import find_evidence\n"
    assert violations("schemas.invoice", list(imported_modules(allowed, "schemas.invoice"))) == [
        "schemas.invoice:2: schemas imports docvlm.evidence.find_evidence (only docvlm.parsers is allowed)"
    ]
    assert (
        violations("docvlm.engines.hybrid_engine", list(imported_modules(allowed, "docvlm.engines.x"))) == []
    )


def test_imports_follow_the_layers() -> None:
    found: list[str] = []
    for path in library_files():
        module = module_name(path)
        source = path.read_text(encoding="utf-8")
        found += violations(module, list(imported_modules(source, module, path.name == "__init__.py")))
    assert found == []


def test_no_module_is_over_600_lines() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in library_files()
    }
    assert {rel: n for rel, n in sizes.items() if n > MAX_LINES} == {}
