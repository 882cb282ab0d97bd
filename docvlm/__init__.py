"""docvlm: invoices and forms in, validated and grounded JSON out."""

from __future__ import annotations

__version__ = "0.1.0"
