"""SCET ↔ UTC with the real 2020 Solar Orbiter kernels, checked against the reference L1 headers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spiceypy
from astropy.io import fits
from astropy.time import Time
from hypothesis import given, settings
from hypothesis import strategies as st

from stix_lib.spice import clock
from stix_lib.spice.kernels import SOLO_ID, SpiceKernels
from stix_lib.time import SCETime

REFERENCE_FILES = sorted(
    name
    for name in [
        "solo_L1_stix-cal-energy_20200506_V01.fits",
        "solo_L1_stix-hk-maxi_20200501_V01.fits",
        "solo_L1_stix-ql-background_20200506_V01.fits",
        "solo_L1_stix-ql-flareflag_20200506_V01.fits",
        "solo_L1_stix-ql-lightcurve_20200506_V01.fits",
        "solo_L1_stix-ql-ql-tmstatusflarelist_20200506_V01.fits",
        "solo_L1_stix-ql-spectra_20200506_V01.fits",
        "solo_L1_stix-ql-variance_20200506_V01.fits",
        "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V01_0087031809-50883.fits",
        "solo_L1_stix-sci-xray-rpd_20200505T235959-20200506T000019_V01_0087031808-50882.fits",
        "solo_L1_stix-sci-xray-scpd_20200505T235959-20200506T000019_V01_0087031810-50884.fits",
        "solo_L1_stix-sci-xray-spec_20200505T235959-20200506T000019_V01_0087031812-50886.fits",
    ]
)


@pytest.fixture(scope="module")
def spice(reference_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SpiceKernels:
    return SpiceKernels(reference_data / "spice" / "kernels", tmp_path_factory.mktemp("spice-work")).load()


def test_light_curve_anchor(spice: SpiceKernels, reference_data: Path) -> None:
    header = fits.getheader(reference_data / "reference" / "l1" / "solo_L1_stix-ql-lightcurve_20200506_V01.fits")
    assert header["OBT_BEG"] == 642038387.2001526
    start = SCETime.from_float(header["OBT_BEG"])
    assert start == SCETime(642038387, 13117)
    assert spice.scet_to_utc_iso(start).item() == header["DATE-BEG"] == "2020-05-05T23:59:59.531"
    assert str(clock.format_utc(spice.scet_to_datetime64(start))) == "2020-05-05T23:59:59.531"
    assert spice.scet_to_time(start).isot == "2020-05-05T23:59:59.531"


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_reference_start_and_end_times(spice: SpiceKernels, reference_data: Path, name: str) -> None:
    header = fits.getheader(reference_data / "reference" / "l1" / name)
    times = SCETime.from_float(np.array([header["OBT_BEG"], header["OBT_END"]]))
    assert spice.scet_to_utc_iso(times).tolist() == [header["DATE-BEG"], header["DATE-END"]]
    assert clock.format_utc(spice.scet_to_datetime64(times)).tolist() == [header["DATE-BEG"], header["DATE-END"]]


def test_clock_zero(spice: SpiceKernels) -> None:
    assert spice.scet_to_utc_iso(SCETime(0, 0)).item() == "2000-01-01T00:00:00.000"
    assert spice.datetime64_to_scet(np.datetime64("2000-01-01T00:00:00.1")) == SCETime(0, 6554)
    with pytest.raises(ValueError, match="SPICE\\(VALUEOUTOFRANGE\\)"):
        spice.datetime64_to_scet(np.datetime64("1999-12-31T23:59:59"))  # before the clock start


def test_string_path_equals_sclk_string_and_direct_ticks(spice: SpiceKernels) -> None:
    """The direct tick arithmetic agrees with SPICE parsing "coarse:fine" (raw 1/65536 ticks)."""
    coarse = np.array([642038387, 628184120, 645148782, 11])
    fine = np.array([13117, 0, 65535, 30000])
    direct = clock.scet_to_et(coarse, fine, SOLO_ID, direct=True)
    via_strings = clock.scet_to_et(coarse, fine, SOLO_ID, direct=False)
    by_scs2e = [spiceypy.scs2e(SOLO_ID, f"{c}:{f}") for c, f in zip(coarse, fine, strict=True)]
    assert np.array_equal(direct, via_strings)
    assert np.array_equal(direct, by_scs2e)
    back = clock.et_to_scet(direct, SOLO_ID, direct=False)
    assert np.array_equal(back[0], coarse) and np.array_equal(back[1], fine)


def test_datetime64_matches_spice_strings(spice: SpiceKernels) -> None:
    times = SCETime(np.linspace(628_000_000, 660_000_000, 500).astype(np.int64), np.arange(500) * 131)
    et = spice.scet_to_et(times)
    stamps = clock.et_to_datetime64(et)
    by_spice = np.array(clock.et_to_utc_iso(et, 9), dtype="datetime64[ns]")
    assert np.abs((stamps - by_spice).astype(np.int64)).max() <= 1000  # within 1 microsecond
    assert clock.format_utc(stamps).tolist() == clock.et_to_utc_iso(et).tolist()


def test_round_trip_arrays(spice: SpiceKernels) -> None:
    rng = np.random.default_rng(1)
    times = SCETime(rng.integers(600_000_000, 700_000_000, 2000), rng.integers(0, 65536, 2000))
    stamps = spice.scet_to_datetime64(times)
    assert stamps.dtype == np.dtype("datetime64[ns]") and stamps.shape == (2000,)
    assert np.all(spice.datetime64_to_scet(stamps) == times)
    assert np.all(spice.time_to_scet(spice.scet_to_time(times)) == times)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9 * 86400 * 365 * 25))
def test_utc_round_trip_within_a_tick(spice: SpiceKernels, offset_ns: int) -> None:
    stamp = np.datetime64("2000-01-02T00:00:00", "ns") + np.timedelta64(offset_ns, "ns")
    back = spice.scet_to_datetime64(spice.datetime64_to_scet(stamp))
    assert abs(int((back - stamp).astype(np.int64))) <= 8000  # half a 1/65536 s tick, well below 1 ms


def test_accepts_iso_strings_and_astropy(spice: SpiceKernels) -> None:
    from_text = spice.datetime64_to_scet(np.array(["2020-05-05T23:59:59.531320"]))
    assert from_text[0] == SCETime(642038387, 13117)
    from_time = spice.time_to_scet(Time("2020-05-05T23:59:59.531320", scale="utc"))
    assert from_time == SCETime(642038387, 13117)


def test_format_utc_rounds_half_up() -> None:
    stamps = np.array(["2020-01-01T00:00:00.0004999", "2020-01-01T00:00:00.0005", "2020-12-31T23:59:59.9996"])
    assert clock.format_utc(stamps.astype("datetime64[ns]")).tolist() == [
        "2020-01-01T00:00:00.000",
        "2020-01-01T00:00:00.001",
        "2021-01-01T00:00:00.000",
    ]
    with pytest.raises(ValueError):
        clock.format_utc(stamps.astype("datetime64[ns]"), 2)
