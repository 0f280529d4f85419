"""Fixtures of the daily-product and reprocessing tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _sunpy_sandbox(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep sunpy/matplotlib configuration (stixpy is imported by the LL03 plots) out of the home directory."""
    root = tmp_path_factory.getbasetemp() / "sunpy-sandbox"
    for name in ("SUNPY_CONFIGDIR", "SUNPY_DOWNLOADDIR", "MPLCONFIGDIR"):
        monkeypatch.setenv(name, str(root / name.lower()))
    os.makedirs(root, exist_ok=True)
