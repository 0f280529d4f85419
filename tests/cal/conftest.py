"""Fixtures of the CAL tests (fake ECC programs, synthetic Ba-133 L1 file: see :mod:`cal_fakes`)."""

from __future__ import annotations

from cal_fakes import fake_ecc_bin, synthetic_cal

__all__ = ["fake_ecc_bin", "synthetic_cal"]


