"""Fixtures for the VLM tests: tiny random-weight models (built once per session) and generated pages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from docvlm.datamodel import Page
from tests.helpers.pages import make_raster_page

_log = logging.getLogger(__name__)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one thread; on a shared CPU, OpenMP spinning makes them 10-30x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def pages() -> list[Page]:
    return [make_raster_page(1)]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory):
    """``tiny_model_dir(family) -> Path``: builds each tiny model at most once per test session."""
    from tests.vlm.tiny_models import build_tiny_model

    root = tmp_path_factory.mktemp("tiny_vlms")
    built: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in built:
            built[family] = build_tiny_model(family, root / family)
        return built[family]

    return get
