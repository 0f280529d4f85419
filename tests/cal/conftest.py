"""Fixtures of the CAL tests (fake ECC programs, synthetic Ba-133 L1 file: see :mod:`cal_fakes`)."""

from __future__ import annotations

import pytest
from cal_fakes import fake_ecc_bin, synthetic_cal

__all__ = ["fake_ecc_bin", "synthetic_cal"]


@pytest.fixture(autouse=True)
def _sunpy_sandbox(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep sunpy/matplotlib configuration (stixpy is imported) out of the home directory."""
    root = tmp_path_factory.getbasetemp() / "sunpy-sandbox"
    root.mkdir(exist_ok=True)
    for name in ("SUNPY_CONFIGDIR", "SUNPY_DOWNLOADDIR", "MPLCONFIGDIR"):
        monkeypatch.setenv(name, str(root / name.lower()))
