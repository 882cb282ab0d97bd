"""DOCVLM_* settings: read from the environment, names in any case, arguments win, bad values fail."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from docvlm.settings import DocvlmSettings


def test_environment_values_are_read_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCVLM_DPI", "150")
    monkeypatch.setenv("docvlm_max_file_mb", "7.5")  # any case
    monkeypatch.setenv("DOCVLM_OCR_THREADS", "")  # empty: the default
    monkeypatch.setenv("DOCVLM_NOT_A_SETTING", "x")  # ignored
    s = DocvlmSettings()
    assert (s.dpi, s.max_file_mb, s.ocr_threads) == (150, 7.5, None)


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCVLM_WORKERS", "3")
    assert DocvlmSettings(workers=2).workers == 2
    assert DocvlmSettings().workers == 3


def test_a_value_of_the_wrong_type_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCVLM_WORKERS", "two")
    with pytest.raises(ValidationError, match="workers"):
        DocvlmSettings()
