"""SpiceClock remembers few-value conversions: exactly SPICE's results, forgotten when SPICE reloads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spiceypy

from stix_lib.products.clock import SpiceClock
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.time.scet import SCETime, scet_from_float

#: On-board times inside the 2020 kernels (product starts and ends), a few repeated.
TIMES = [643_000_000.0, 643_000_000.5, 643_086_399.99, 643_000_000.0, 643_100_000.25]


@pytest.fixture
def spice(reference_data: Path, tmp_path: Path) -> SpiceKernels:
    return SpiceKernels(reference_data / "spice" / "kernels", tmp_path).load()


def _direct(kernels: SpiceKernels, obt: list[float]) -> np.ndarray:
    return kernels.scet_to_datetime64(SCETime(*scet_from_float(np.array(obt))))


def test_remembered_values_are_spices(spice: SpiceKernels) -> None:
    clock = SpiceClock(spice)
    for _ in range(2):  # converted, then remembered
        for start in range(len(TIMES)):
            got = clock.to_datetime64(np.array(TIMES[start : start + 2]))
            assert got.dtype == np.dtype("datetime64[ns]")
            assert np.array_equal(got, _direct(spice, TIMES[start : start + 2]))
    assert clock.to_datetime64(np.array(TIMES[0])).shape == ()
    many = np.linspace(TIMES[0], TIMES[2], 50)  # long arrays are converted directly
    assert np.array_equal(clock.to_datetime64(many), _direct(spice, list(many)))


def test_remembered_values_are_forgotten_when_spice_reloads(
    spice: SpiceKernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SpiceClock(spice)
    first = clock.to_datetime64(np.array([TIMES[0]]))
    calls: list[int] = []
    original = spice.scet_to_et
    monkeypatch.setattr(spice, "scet_to_et", lambda time: calls.append(1) or original(time))
    assert np.array_equal(clock.to_datetime64(np.array([TIMES[0]])), first) and calls == []
    spiceypy.kclear()  # someone else changed SPICE: reloaded, converted again
    assert np.array_equal(clock.to_datetime64(np.array([TIMES[0]])), first) and calls == [1]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_times_fail_as_before(spice: SpiceKernels, bad: float) -> None:
    clock = SpiceClock(spice)
    clock.to_datetime64(np.array([TIMES[0]]))
    with pytest.raises(ValueError):
        clock.to_datetime64(np.array([TIMES[0], bad]))
