"""Start-up of the command line: ``docvlm --help`` and ``docvlm schema invoice`` in fresh interpreters.

Each command runs ``runs`` times in a child process (``python -m cli``, so the figure is the
package's, not a console script's wrapper); the wall time and the child's CPU time (user + system,
from ``resource.getrusage``) of each run are kept. The fastest run is the figure a quiet machine
gives; the median says how noisy the machine was. The target is 0.5 s each.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, tuple[str, ...]] = {"--help": ("--help",), "schema invoice": ("schema", "invoice")}
TARGET_S = 0.5


@dataclass
class StartupTimes:
    command: str
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    def line(self) -> str:
        best_cpu, best_wall = min(self.cpu_s), min(self.wall_s)
        ok = "met" if best_wall <= TARGET_S else "MISSED"
        return (
            f"start-up `docvlm {self.command}` ({len(self.wall_s)} runs): best wall {best_wall:.3f} s, "
            f"best CPU {best_cpu:.3f} s, median wall {statistics.median(self.wall_s):.3f} s "
            f"(target <= {TARGET_S} s: {ok})"
        )

    def to_dict(self) -> dict[str, float | int]:
        return {
            "runs": len(self.wall_s),
            "best_wall_s": round(min(self.wall_s), 4),
            "best_cpu_s": round(min(self.cpu_s), 4),
            "median_wall_s": round(statistics.median(self.wall_s), 4),
        }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: tuple[str, ...], runs: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(runs):
        cpu0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli", *argv], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
        cpus.append(_children_cpu() - cpu0)
    return walls, cpus


def measure_startup(runs: int = 5) -> list[StartupTimes]:
    if runs < 1:
        raise ValueError("runs must be >= 1")
    out = []
    for name, argv in COMMANDS.items():
        walls, cpus = time_command(argv, runs)
        out.append(StartupTimes(name, walls, cpus))
    return out
