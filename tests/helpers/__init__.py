"""Test helpers shared by the generative-engine tests (pages from generated PDFs)."""
