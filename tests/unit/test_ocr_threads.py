"""OCR thread policy: the worker processes share the cores, never oversubscribe them."""

from __future__ import annotations

import pytest

from docvlm.ocr import OcrOptions
from docvlm.ocr import base as ocr_base
from docvlm.pipeline import PipelineOptions


@pytest.mark.parametrize(
    ("cores", "workers", "threads"), [(2, 1, 2), (2, 2, 1), (2, 3, 1), (8, 3, 2), (1, 4, 1)]
)
def test_workers_times_threads_stay_within_the_cores(monkeypatch, cores, workers, threads):
    monkeypatch.setattr(ocr_base, "usable_cores", lambda: cores)
    opts = PipelineOptions(workers=workers)
    assert opts.ocr.threads == threads
    assert workers * threads <= max(cores, workers)


@pytest.mark.parametrize("via", ["flag", "env"])
def test_the_command_lines_workers_share_the_cores(monkeypatch, via):
    """``--workers 2`` (or DOCVLM_WORKERS=2) on 2 cores: one thread per worker, as for PipelineOptions(workers=2)."""
    monkeypatch.setattr(ocr_base, "usable_cores", lambda: 2)
    monkeypatch.delenv("DOCVLM_OCR_THREADS", raising=False)
    if via == "env":
        monkeypatch.setenv("DOCVLM_WORKERS", "2")
        opts = PipelineOptions.from_settings()
    else:
        monkeypatch.delenv("DOCVLM_WORKERS", raising=False)
        opts = PipelineOptions.from_settings(workers=2, dpi=150)
    assert (opts.workers, opts.ocr.threads) == (2, 1)


def test_explicit_threads_are_kept(monkeypatch):
    monkeypatch.setattr(ocr_base, "usable_cores", lambda: 8)
    assert PipelineOptions(workers=2, ocr=OcrOptions(threads=3)).ocr.threads == 3
    # the options a worker receives already carry the number: it is not divided again there
    dumped = PipelineOptions(workers=4).model_dump()
    assert PipelineOptions.model_validate(dumped).ocr.threads == 2


def test_usable_cores_is_at_least_one():
    assert ocr_base.usable_cores() >= 1
