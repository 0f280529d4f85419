"""Keep sunpy/matplotlib configuration (created when stixpy is imported) out of the home directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _sunpy_sandbox(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path_factory.getbasetemp() / "sunpy-sandbox"
    root.mkdir(exist_ok=True)
    for name in ("SUNPY_CONFIGDIR", "SUNPY_DOWNLOADDIR", "MPLCONFIGDIR"):
        monkeypatch.setenv(name, str(root / name.lower()))
