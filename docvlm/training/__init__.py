"""Training: labelled documents in, a model folder out (``docvlm train``), and honest cross-validation.

The layout engine's chooser, and any other trained part of docvlm, is fitted here, outside the
engines: the engine only loads a model folder and applies it. A model folder holds ``meta.json``
(docvlm version, per component: feature set name and version, training data, cross-validated
scores, files) and the weights in plain formats (LightGBM text, JSON), never a pickle.

The contract every component trainer follows (``COMPONENTS`` lists them, in training order):

- a ``TrainingDoc`` gives a document's ``source`` (its path), its layout ``group`` (documents of one
  seller or template; cross-validation never splits a group), its ``pages`` (``list[Page]``, the
  words the engine would see: the text layer or the transcript, never an embedded XML), its
  ``gold`` (an Invoice-shaped dict holding only the labelled keys: a missing key is "not
  labelled", ``None`` is "labelled empty"), the ``dataset`` it came from, and a ``cache`` dict where
  a component may keep what it computes once per document (features) across repeated fits;
- a component is an object with a ``name`` and ``fit(docs, out_dir, init_dir, seed) -> scores``:
  it writes its files into ``out_dir``, starts from the files of the same component in
  ``init_dir`` when that is given (continued training), is deterministic for a given ``seed``, and
  returns a JSON-able dict that goes into ``meta.json`` under ``components.<name>`` (its
  ``feature_set``, ``fields`` and cross-validated ``scores``).

``train_model`` runs every component and writes ``meta.json``; ``crossval`` (``docvlm eval
crossval``) fits on all groups but one, scores the one left out, and repeats for every group.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from docvlm.training.data import TrainingDoc

_log = logging.getLogger(__name__)


class ComponentTrainer(Protocol):
    """One trained part of docvlm (the line-item table model, the header chooser)."""

    name: str

    def fit(self, docs: list[TrainingDoc], out_dir: Any, init_dir: Any, seed: int) -> dict[str, Any]: ...


def components(folds: int = 4, progress: bool = False, sellers: bool = True) -> list[ComponentTrainer]:
    """The registered component trainers, in training order (``folds``: their cross-validation folds
    by layout group). The table model comes first: the header chooser's features (which candidates
    sit in the item table, what the items add up to) are read with the table model just trained, as
    the engine reads them with that model folder. ``sellers``: also profile the labels' sellers
    (``docvlm.training.sellers``; the package's own model is built without)."""
    from docvlm.training.header import HeaderTrainer
    from docvlm.training.tables import TableTrainer

    out: list[ComponentTrainer] = [TableTrainer(folds=folds), HeaderTrainer(folds=folds, progress=progress)]
    if sellers:
        from docvlm.training.sellers import SellerTrainer

        out.append(SellerTrainer())
    return out


__all__ = ["ComponentTrainer", "TrainingDoc", "components"]
