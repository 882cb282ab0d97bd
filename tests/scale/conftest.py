"""One local Ray (2 CPUs) for the whole test session, started by the first test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    from docvlm.scale import connect

    connect(num_cpus=2)  # as `docvlm extract --ray` starts it (tries again when the raylet is slow)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()
