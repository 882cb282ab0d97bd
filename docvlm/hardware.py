"""The CPU docvlm runs on: its model name and the instruction-set features that move OCR's speed.

In: ``/proc/cpuinfo`` where there is one (Linux). Out: the model name and the features among
``CPU_FEATURES`` that the first processor lists. onnxruntime's kernels are widest with AVX-512, and
its int8 convolutions (the int8 text detector, ``docvlm.ocr.int8``) beat its float ones only with
VNNI: 3.3-3.7x on an Intel CPU with AVX-512 VNNI, no faster on an AMD EPYC with AVX2 alone.
"""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path

CPU_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
#: any of these makes int8 convolutions fast
INT8_FEATURES = ("avx512_vnni", "avx_vnni", "amx_int8")


def read_cpu(cpuinfo: str) -> tuple[str, tuple[str, ...]]:
    """The model name and the ``CPU_FEATURES`` flags of the first processor in a /proc/cpuinfo text."""
    name, flags = "", set[str]()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not name:
            name = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return name, tuple(f for f in CPU_FEATURES if f in flags)


@cache
def this_cpu() -> tuple[str, tuple[str, ...]]:
    """This machine's CPU as ``read_cpu`` gives it; where /proc/cpuinfo cannot be read, the platform's
    name for it and no features."""
    try:
        name, feats = read_cpu(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        name, feats = "", ()
    return (name or platform.processor() or platform.machine() or "unknown CPU"), feats


def fast_int8() -> bool | None:
    """Whether this CPU has an int8 dot-product extension (VNNI, AMX); None when unknown."""
    features = this_cpu()[1]
    if not features:  # no flags read (another platform): unknown
        return None
    return any(f in features for f in INT8_FEATURES)
