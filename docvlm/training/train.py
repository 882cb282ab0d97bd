"""``train_model``: every registered component fitted on the same documents, and ``meta.json`` written.

In: ``TrainingDoc``s, an output folder, the folder to continue from (None: from scratch) and a
seed. Out: the model folder (component files plus ``meta.json``) and the meta as a dict.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from docvlm.training import ComponentTrainer, components
from docvlm.training.data import TrainingDoc

_log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("docvlm")
    except metadata.PackageNotFoundError:
        return "unknown"


def train_model(
    docs: Sequence[TrainingDoc],
    out_dir: str | Path,
    init_dir: str | Path | None = None,
    seed: int = 0,
    trainers: Sequence[ComponentTrainer] | None = None,
) -> dict[str, Any]:
    """Fit every component on ``docs`` into ``out_dir`` and write its ``meta.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    docs = list(docs)
    meta: dict[str, Any] = {
        "docvlm_version": _version(),
        "created_by": "docvlm train",
        "seed": seed,
        "continued_from": str(init_dir) if init_dir else None,
        "training_data": {
            "documents": len(docs),
            "synthetic": sum(d.synthetic for d in docs),  # trained on, never calibrated on or scored
            "groups": len({d.group for d in docs}),
            "datasets": dict(sorted(Counter(d.dataset for d in docs).items())),
        },
        "components": {},
    }
    for trainer in trainers if trainers is not None else components():
        _log.info("training component %s on %d documents", trainer.name, len(docs))
        meta["components"][trainer.name] = trainer.fit(
            list(docs), out, Path(init_dir) if init_dir else None, seed
        )
    (out / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta
