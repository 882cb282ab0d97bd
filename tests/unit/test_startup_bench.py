"""`docvlm eval benchmark --startup N`: the command line's start-up, timed in fresh interpreters."""

from __future__ import annotations

import pytest

from evaluation.startup import COMMANDS, StartupTimes, measure_startup


def test_each_command_runs_in_a_child_and_is_timed():
    times = measure_startup(1)
    assert [t.command for t in times] == list(COMMANDS)
    for t in times:
        assert len(t.wall_s) == len(t.cpu_s) == 1
        assert t.wall_s[0] > 0 and t.cpu_s[0] > 0  # a child interpreter's CPU is counted
        assert set(t.to_dict()) == {"runs", "best_wall_s", "best_cpu_s", "median_wall_s"}


def test_the_line_judges_the_fastest_run_against_the_target():
    assert "met" in StartupTimes("--help", [0.9, 0.41], [0.3, 0.35]).line()
    missed = StartupTimes("schema invoice", [0.61, 0.7], [0.5, 0.55]).line()
    assert "MISSED" in missed and "best wall 0.610 s" in missed


def test_runs_must_be_positive():
    with pytest.raises(ValueError):
        measure_startup(0)
