"""Headless Chromium for the tests that look at an HTML report the way a person would."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image


def chromium() -> str | None:
    for cand in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(cand).is_file():
            return cand
    return shutil.which("chromium")


def install_chromium() -> str:
    """Debian's chromium, installed on demand; a reason to skip when that cannot be done here."""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return "chromium is not installed and apt-get (as root) is not available to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
        except subprocess.TimeoutExpired:
            return f"installing chromium timed out ({' '.join(cmd[1:2])})"
        if proc.returncode != 0:
            return f"could not install Debian's chromium: {proc.stderr.strip()[-300:]}"
    return ""


def screenshot(html_path: Path, work: Path, size: tuple[int, int]) -> Image.Image:
    """A screenshot of ``html_path`` in headless Chromium at ``size`` (width, height) CSS pixels, scale 1.

    Skips the test when no Chromium can be found or installed.
    """
    exe = chromium()
    if exe is None:
        reason = install_chromium()
        exe = chromium()
        if exe is None:
            pytest.skip(reason or "chromium is still missing after installing it")
    shot = work / "shot.png"
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={work / 'profile'}",
        f"--screenshot={shot}",
        f"--window-size={size[0]},{size[1]}",
        html_path.as_uri(),
    ]
    subprocess.run(cmd, check=False, timeout=90, capture_output=True)
    assert shot.is_file(), "chromium wrote no screenshot"
    return Image.open(shot).convert("RGB")
