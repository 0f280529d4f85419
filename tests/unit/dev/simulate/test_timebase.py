"""The simulator clock: UTC <-> SCET, consistent with the kernel builder's default SCLK."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stix_lib.dev.synthetic_kernels.sclk import sclk_model
from stix_lib.time.leapseconds import LeapSeconds, packaged_leapseconds_path
from stix_lib.time.nominal_clock import scet_seconds, scet_to_utc, utc_to_scet


def test_anchors() -> None:
    assert [int(x) for x in utc_to_scet("2000-01-01T00:00:00")] == [0, 0]
    # 5 leap seconds (2005, 2008, 2012, 2015, 2016) before 2021-08-01
    assert int(utc_to_scet("2021-08-01T00:00:00Z")[0]) == 7883 * 86400 + 5
    coarse, fine = utc_to_scet("2020-05-06T00:00:00.5")
    assert int(fine) == 32768
    with pytest.raises(ValueError):
        utc_to_scet("1999-12-31T23:59:59")
    with pytest.raises(ValueError, match="only UTC"):
        utc_to_scet("2020-01-01T00:00:00+02:00")


@settings(max_examples=200, deadline=None)
@given(nanos=st.integers(min_value=0, max_value=40 * 365 * 86400 * 10**9))
def test_round_trip(nanos: int) -> None:
    utc = np.datetime64("2000-01-01T00:00:00", "ns") + np.timedelta64(nanos, "ns")
    coarse, fine = utc_to_scet(utc)
    back = scet_to_utc(coarse, fine)
    assert 0 <= (utc - back).astype(np.int64) <= 15_259  # floored to 1/65536 s (15,258.8 ns), back to the nearest ns


def test_same_clock_as_the_kernel_builder_default_sclk() -> None:
    leapseconds = LeapSeconds.from_file(packaged_leapseconds_path())
    model = sclk_model(None, leapseconds)
    utc = np.array(["2010-03-04T05:06:07.25", "2020-05-06T00:00:00", "2024-02-15T12:00:00.125"], dtype="datetime64[ns]")
    ticks = model.utc_to_ticks(utc, leapseconds)
    assert scet_seconds(utc) == pytest.approx(ticks / 65536.0, abs=2e-5)
