"""One nominal clock (issue 18): products without kernels and the simulator share it."""

from __future__ import annotations

import numpy as np

from stix_lib.products.clock import NominalClock
from stix_lib.time.leapseconds import packaged_leapseconds
from stix_lib.time.nominal_clock import obt_seconds_to_utc, scet_to_utc, utc_to_scet


def test_leap_seconds_since_2000_are_counted() -> None:
    # IERS: TAI - UTC was 32 s from 1999-01-01 and 37 s from 2017-01-01 (five leap seconds between)
    table = packaged_leapseconds()
    instants = np.array(["2000-01-01", "2016-12-31T23:59:59", "2017-01-01"], dtype="datetime64[ns]")
    assert table.delta_at(instants).tolist() == [32.0, 36.0, 37.0]
    days = (np.datetime64("2020-05-06") - np.datetime64("2000-01-01")).astype(int)
    coarse, fine = utc_to_scet("2020-05-06T00:00:00")
    assert (int(coarse), int(fine)) == (days * 86400 + 5, 0)


def test_product_clock_without_kernels_is_the_nominal_clock() -> None:
    utc = np.array(["2000-01-01T00:00:00", "2016-06-30T12:00:00", "2020-05-06T00:00:00.5", "2024-05-14T10:00:00"],
                   dtype="datetime64[ns]")  # fmt: skip
    coarse, fine = utc_to_scet(utc)
    obt = coarse + fine / 65536
    np.testing.assert_array_equal(NominalClock().to_datetime64(obt), utc)
    np.testing.assert_array_equal(obt_seconds_to_utc(obt), scet_to_utc(coarse, fine))
