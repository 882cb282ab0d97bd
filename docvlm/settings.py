"""Global settings from the environment (``DOCVLM_*``); the CLI flags override them."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from docvlm.datamodel import DEFAULT_DPI


class DocvlmSettings(BaseSettings):
    """Defaults a deployment can set once, e.g. ``DOCVLM_OCR_BACKEND=tesseract``."""

    model_config = SettingsConfigDict(env_prefix="DOCVLM_", extra="ignore")

    dpi: int = DEFAULT_DPI
    ocr_backend: str = "rapidocr"
    ocr_mode: str = "auto"
    ocr_threads: int | None = None  # None: the cores shared among the workers
    workers: int = 1
    log_level: str = "WARNING"
    max_megapixels: float = 100.0
    max_file_mb: float = 512.0
