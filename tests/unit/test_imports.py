"""Every module of the package imports: a broken module fails here instead of reading as 'skipped'."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

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


def test_onnxruntime_writes_no_device_id_or_event_database(tmp_path: Path) -> None:
    """onnxruntime 1.2x writes ~/.cache/Microsoft/... on import unless ORT_DISABLE_TELEMETRY is set first."""
    code = (
        "import docvlm.ocr, docvlm.pipeline\n"
        "from docvlm.ocr import OcrOptions, get_ocr\n"
        "get_ocr(OcrOptions())\n"  # imports onnxruntime and opens RapidOCR's sessions
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORT_")}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / ".cache"), OMP_NUM_THREADS="1")
    subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    assert not (tmp_path / ".cache" / "Microsoft").exists()
