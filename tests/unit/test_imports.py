"""Every module of the package imports: a broken module fails here instead of reading as 'skipped'."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

PACKAGES = ("docvlm", "schemas", "evaluation")


def _modules() -> list[str]:
    names = ["cli"]
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        names.append(pkg_name)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg_name}.")]
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_module_imports(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__name__ == name
