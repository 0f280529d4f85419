"""LSK time scales and the SCLK model of the kernel builder, checked against SPICE itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spiceypy
from hypothesis import given, settings
from hypothesis import strategies as st

from stix_lib.dev.synthetic_kernels import ClockPair, LeapSeconds, build_sclk, packaged_leapseconds_path
from stix_lib.dev.synthetic_kernels.sclk import PARTITION_END_TICKS, sclk_model

LSK = packaged_leapseconds_path()


@pytest.fixture(scope="module")
def leapseconds() -> LeapSeconds:
    return LeapSeconds.from_file(LSK)


def _load(tmp_path: Path, sclk_text: str) -> None:
    path = tmp_path / "clock.tsc"
    path.write_text(sclk_text, encoding="ascii")
    spiceypy.kclear()
    spiceypy.furnsh(str(LSK))
    spiceypy.furnsh(str(path))


def test_packaged_lsk_is_a_leapseconds_kernel(leapseconds: LeapSeconds) -> None:
    assert LSK.is_file() and LSK.read_text().startswith("KPL/LSK")
    assert leapseconds.delta_t_a == 32.184
    assert leapseconds.steps[0] == (np.datetime64("1972-01-01"), 10)
    assert leapseconds.delta_at(np.array(["2016-12-31T23:59:59", "2017-01-01T00:00:00"])).tolist() == [36, 37]


def test_utc_to_et_matches_spice(leapseconds: LeapSeconds, clean_spice: None) -> None:
    spiceypy.furnsh(str(LSK))
    utc = np.array(
        [
            "1999-12-31T23:59:59",
            "2000-01-01T00:00:00",
            "2008-12-31T23:59:59.5",
            "2009-01-01T00:00:00",
            "2024-03-01T12:34:56.789",
        ],
        dtype="datetime64[ns]",
    )
    expected = [spiceypy.str2et(str(stamp)) for stamp in utc]
    np.testing.assert_allclose(leapseconds.utc_to_et(utc), expected, rtol=0, atol=1e-6)
    tdb = leapseconds.utc_to_et(utc)
    np.testing.assert_allclose(leapseconds.tdt_to_tdb(leapseconds.tdb_to_tdt(tdb)), tdb, rtol=0, atol=1e-9)
    tdt = [spiceypy.unitim(value, "TDB", "TDT") for value in expected]
    np.testing.assert_allclose(leapseconds.tdb_to_tdt(expected), tdt, rtol=0, atol=1e-6)


def test_default_clock_anchor(leapseconds: LeapSeconds, tmp_path: Path, clean_spice: None) -> None:
    kernel = build_sclk(leapseconds=leapseconds)
    _load(tmp_path, kernel.text)
    assert spiceypy.et2utc(spiceypy.scs2e(-144, "1/0000000000:00000"), "ISOC", 3) == "2000-01-01T00:00:00.000"
    assert spiceypy.sce2s(-144, spiceypy.str2et("2000-01-01T00:00:00")) == "1/0000000000:00000"
    # type 1 layout as the SOC clock: one partition from 0, moduli 2**32 and 65536
    assert spiceypy.gdpool("SCLK01_MODULI_144", 0, 5).tolist() == [2.0**32, 65536.0]
    assert spiceypy.gdpool("SCLK_PARTITION_START_144", 0, 5).tolist() == [0.0]
    assert spiceypy.gdpool("SCLK_PARTITION_END_144", 0, 5).tolist() == [float(PARTITION_END_TICKS)]
    # no drift: one coarse second per TDT second, so UTC runs behind by the leap seconds since 2000
    ticks = spiceypy.sce2c(-144, spiceypy.str2et("2024-03-01T00:00:00"))
    elapsed = (np.datetime64("2024-03-01") - np.datetime64("2000-01-01")).astype("timedelta64[s]").astype(int)
    assert ticks == pytest.approx((elapsed + 5) * 65536, abs=1e-3)


def test_model_matches_spice(leapseconds: LeapSeconds, tmp_path: Path, clean_spice: None) -> None:
    pairs = [
        ClockPair.from_scet(700_000_000, 0, "2022-03-06T12:00:00"),
        ClockPair.from_scet(730_000_000, 100, "2023-02-18T10:00:00.25"),
        ClockPair.from_scet(760_000_000, 1234, "2024-01-31T00:00:01.5"),
    ]
    kernel = build_sclk(pairs, leapseconds=leapseconds)
    _load(tmp_path, kernel.text)
    for pair in pairs:  # the clock passes through every pair
        assert spiceypy.et2utc(spiceypy.sct2e(-144, pair.ticks), "ISOC", 6) == str(pair.utc)[:26]
    et = np.linspace(spiceypy.str2et("2021-01-01"), spiceypy.str2et("2025-01-01"), 97)
    spice_ticks = np.array([spiceypy.sce2c(-144, value) for value in et])
    np.testing.assert_allclose(kernel.model.et_to_ticks(et, leapseconds), spice_ticks, rtol=0, atol=0.05)
    # a row at tick 0 extrapolates the first slope backwards
    assert kernel.model.ticks[0] == 0.0 and len(kernel.model.ticks) == 4


def test_drift(leapseconds: LeapSeconds) -> None:
    model = sclk_model(None, leapseconds, drift_ppm=2.0)
    assert model.rates == (1.000002,)
    tdt = model.ticks_to_tdt(np.array([0.0, 65536.0 * 1e6]))
    assert tdt[1] - tdt[0] == pytest.approx(1e6 * 1.000002)


@pytest.mark.parametrize(
    "pairs",
    [
        [ClockPair(10.0, np.datetime64("2020-01-01")), ClockPair(5.0, np.datetime64("2020-01-02"))],
        [ClockPair(1e6, np.datetime64("2020-01-02")), ClockPair(2e6, np.datetime64("2020-01-01"))],
        [ClockPair(-1.0, np.datetime64("2020-01-01"))],
    ],
)
def test_bad_pairs(leapseconds: LeapSeconds, pairs: list[ClockPair]) -> None:
    with pytest.raises(ValueError):
        sclk_model(pairs, leapseconds)


@settings(max_examples=60, deadline=None)
@given(coarse=st.integers(0, 2**32 - 1), fine=st.integers(0, 65535))
def test_model_round_trip(coarse: int, fine: int) -> None:
    leapseconds = LeapSeconds.from_file(LSK)
    model = sclk_model([ClockPair.from_scet(600_000_000, 0, "2019-01-05T00:00:00")], leapseconds, drift_ppm=-1.5)
    ticks = float(coarse * 65536 + fine)
    assert abs(model.tdt_to_ticks(model.ticks_to_tdt(ticks)) - ticks) < 0.01
