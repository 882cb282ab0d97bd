"""An engine built on first use: the layout fallback of the generative engines, the hybrid's two engines.

``LazyEngine(options)`` holds an engine that ``create_engine(options)`` builds the first time
``get()`` is called (thread-safe), or one passed in (constructor injection). A generative engine
keeps one for the layout engine it falls back to when the model gives no usable reply, so a run
that never falls back never loads it.
"""

from __future__ import annotations

import threading

from docvlm.engines import EngineOptions, LayoutOptions, create_engine
from docvlm.engines.base import BaseEngine


class LazyEngine:
    """An engine built from ``options`` on first use, or the ``engine`` given."""

    def __init__(self, options: EngineOptions | None = None, engine: BaseEngine | None = None) -> None:
        self._options = options if options is not None else LayoutOptions()
        self._engine = engine
        self._lock = threading.Lock()

    def get(self) -> BaseEngine:
        with self._lock:
            if self._engine is None:
                self._engine = create_engine(self._options)
            return self._engine

    def close(self) -> None:
        """Close the engine if it was built (or given)."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


__all__ = ["LazyEngine"]
