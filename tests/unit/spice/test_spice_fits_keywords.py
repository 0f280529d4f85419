"""Observer keywords against the reference L1 headers (later orbit: agreement ~1.5e-5 of the distance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spiceypy
from astropy.io import fits
from astropy.time import Time

from stix_lib.spice.fits_keywords import KEYWORD_COMMENTS, spice_fits_keywords
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.time import SCETime

L1 = "reference/l1"
FILES = [
    "solo_L1_stix-ql-lightcurve_20200506_V01.fits",
    "solo_L1_stix-hk-maxi_20200501_V01.fits",
    "solo_L1_stix-cal-energy_20200506_V01.fits",
    "solo_L1_stix-sci-xray-rpd_20200505T235959-20200506T000019_V01_0087031808-50882.fits",
    "solo_L1_stix-ql-ql-tmstatusflarelist_20200506_V01.fits",
]
POSITIONS = [f"{p}{a}_OBS" for p in ("HEE", "HCI", "HAE", "HEQ", "GSE") for a in "XYZ"]
VELOCITIES = [f"HCI{a}_VOB" for a in "XYZ"]


@pytest.fixture(scope="module")
def spice(reference_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SpiceKernels:
    return SpiceKernels(reference_data / "spice" / "kernels", tmp_path_factory.mktemp("spice-work")).load()


def _keywords(spice: SpiceKernels, header: fits.Header, **options) -> dict[str, object]:
    start = SCETime.from_float(header["OBT_BEG"])
    average = np.datetime64(header["DATE-AVG"])
    return {key: value for key, value, _ in spice_fits_keywords(spice, start, average, **options)}


def _ms(text: str) -> int:
    return int(np.datetime64(text, "ms").astype(np.int64))


def meeus_carrington_l0(jde: float) -> float:
    """Carrington longitude of the sub-Earth point (Meeus, Astronomical Algorithms, ch. 25 and 29)."""
    t = (jde - 2451545.0) / 36525
    mean_longitude = 280.46646 + 36000.76983 * t + 0.0003032 * t * t
    anomaly = np.radians(357.52911 + 35999.05029 * t - 0.0001537 * t * t)
    centre = (
        (1.914602 - 0.004817 * t - 0.000014 * t * t) * np.sin(anomaly)
        + (0.019993 - 0.000101 * t) * np.sin(2 * anomaly)
        + 0.000289 * np.sin(3 * anomaly)
    )
    omega = np.radians(125.04 - 1934.136 * t)
    apparent = np.radians(mean_longitude + centre - 0.00569 - 0.00478 * np.sin(omega))
    theta = (jde - 2398220) * 360 / 25.38
    inclination = np.radians(7.25)
    node = np.radians(73.6667 + 1.3958333 * (jde - 2396758) / 36525)
    eta = np.degrees(np.arctan2(-np.sin(apparent - node) * np.cos(inclination), -np.cos(apparent - node)))
    return float((eta - theta) % 360)


@pytest.mark.parametrize("name", FILES)
def test_against_reference_headers(spice: SpiceKernels, reference_data: Path, name: str) -> None:
    header = fits.getheader(reference_data / L1 / name)
    ours = _keywords(spice, header, legacy_quirks=True)
    distance = header["DSUN_OBS"]
    assert ours["DSUN_OBS"] == pytest.approx(distance, rel=1e-4)
    assert ours["RSUN_ARC"] == pytest.approx(header["RSUN_ARC"], rel=1e-4)
    for key in POSITIONS:  # components compared on the scale of the distance
        assert abs(ours[key] - header[key]) < 1e-4 * distance, key
    speed = np.linalg.norm([header[k] for k in VELOCITIES])
    for key in VELOCITIES:
        assert abs(ours[key] - header[key]) < 1e-4 * speed, key
    for key in ("HGLN_OBS", "HGLT_OBS", "CRLN_OBS", "CRLT_OBS"):
        assert ours[key] == pytest.approx(header[key], abs=0.011), key
    assert ours["OBS_VR"] == pytest.approx(header["OBS_VR"], rel=1e-4)
    for key in ("SUN_TIME", "EAR_TDEL"):
        assert ours[key] == pytest.approx(header[key], abs=0.02), key
    for key in ("DATE_EAR", "DATE_SUN"):
        assert abs(_ms(ours[key]) - _ms(header[key])) <= 20, key
    # legacy quirks as in the reference files
    assert ours["HAEZ_OBS"] == ours["HAEX_OBS"]
    assert (ours["CRLN_OBS"], ours["CRLT_OBS"]) == (ours["HGLN_OBS"], ours["HGLT_OBS"])


def test_keyword_order_and_comments(spice: SpiceKernels, reference_data: Path) -> None:
    header = fits.getheader(reference_data / L1 / FILES[0])
    result = spice_fits_keywords(spice, SCETime.from_float(header["OBT_BEG"]), np.datetime64(header["DATE-AVG"]))
    keys = [key for key, _, _ in result]
    assert keys == [key for key, _ in KEYWORD_COMMENTS]
    reference_order = [key for key in header if key in set(keys)]
    assert keys == reference_order  # the same order as STIXCore wrote them
    assert all(comment for _, _, comment in result)
    assert dict((k, v) for k, v, _ in result)["SPICE_MK"] == (
        "solo_ANC_soc-pred-mk_V999_20200611_001.tm, solo_ANC_soc-flown-mk_V999_20200611_001.tm"
    )
    # fits accepts every card as it is
    cards = fits.Header([(key, value, comment) for key, value, comment in result])
    assert cards["DATE_EAR"] == dict((k, v) for k, v, _ in result)["DATE_EAR"]


def test_corrected_quantities(spice: SpiceKernels, reference_data: Path) -> None:
    header = fits.getheader(reference_data / L1 / FILES[0])
    ours = _keywords(spice, header)
    values = [v for k, v in ours.items() if k != "SPICE_MK"]
    assert all(isinstance(v, str) or np.isfinite(v) for v in values)
    assert "SPICE_ER" not in ours
    # HAE: a real Z component, the vector has the Sun distance
    hae = np.array([ours["HAEX_OBS"], ours["HAEY_OBS"], ours["HAEZ_OBS"]])
    assert ours["HAEZ_OBS"] != ours["HAEX_OBS"]
    assert np.linalg.norm(hae) == pytest.approx(ours["DSUN_OBS"], rel=1e-9)
    for prefix in ("HEE", "HCI", "HEQ"):
        vector = [ours[f"{prefix}{a}_OBS"] for a in "XYZ"]
        assert np.linalg.norm(vector) == pytest.approx(ours["DSUN_OBS"], rel=1e-9), prefix
    # HEE and GSE differ by the Earth position along X: Y flips sign, Z is shared (up to the
    # J2000 ecliptic vs ecliptic of date, ~1e-5 of the distance)
    assert abs(ours["HEEY_OBS"] + ours["GSEY_OBS"]) < 1e-5 * ours["DSUN_OBS"]
    assert abs(ours["HEEZ_OBS"] - ours["GSEZ_OBS"]) < 1e-5 * ours["DSUN_OBS"]
    # OBS_VR is d(distance)/dt (solar orbiter approaching perihelion: negative)
    et = spiceypy.str2et(header["DATE-AVG"])  # UTC
    before = np.linalg.norm(spiceypy.spkpos("SOLO", et - 60, "J2000", "NONE", "SUN")[0]) * 1000
    after = np.linalg.norm(spiceypy.spkpos("SOLO", et + 60, "J2000", "NONE", "SUN")[0]) * 1000
    assert ours["OBS_VR"] < 0
    assert ours["OBS_VR"] == pytest.approx((after - before) / 120, abs=0.05)
    # Carrington longitude = Stonyhurst longitude + Carrington longitude of the sub-Earth point
    jde = 2451545.0 + spiceypy.unitim(et, "ET", "TDT") / 86400
    expected = (ours["HGLN_OBS"] + meeus_carrington_l0(jde)) % 360
    assert abs((ours["CRLN_OBS"] - expected + 180) % 360 - 180) < 0.05
    assert ours["CRLT_OBS"] == pytest.approx(ours["HGLT_OBS"], abs=0.01)
    # light-time dates are the start time shifted by the written light times
    start = _ms(header["DATE-BEG"])
    assert _ms(ours["DATE_EAR"]) - start == round(ours["EAR_TDEL"] * 1000)
    assert start - _ms(ours["DATE_SUN"]) == round(ours["SUN_TIME"] * 1000)


def test_time_input_forms_agree(spice: SpiceKernels, reference_data: Path) -> None:
    header = fits.getheader(reference_data / L1 / FILES[0])
    start_scet = SCETime.from_float(header["OBT_BEG"])
    average_scet = spice.datetime64_to_scet(np.datetime64(header["DATE-AVG"]))
    forms = [
        (start_scet, average_scet),
        (Time(header["DATE-BEG"]), Time(header["DATE-AVG"])),
        (np.datetime64(header["DATE-BEG"]), header["DATE-AVG"]),
    ]
    results = [spice_fits_keywords(spice, start, average) for start, average in forms]
    for result in results[1:]:
        for (key, value, _), (_, first, _) in zip(result, results[0], strict=True):
            if isinstance(value, float):
                assert value == pytest.approx(first, rel=1e-9, abs=1e-6), key
            elif key.startswith("DATE"):
                assert abs(_ms(value) - _ms(first)) <= 1, key
            else:
                assert value == first, key


@pytest.mark.parametrize("when", [SCETime(628184120, 0), np.datetime64("2019-11-27T15:35:00")])
def test_outside_the_orbit_gives_spice_er(spice: SpiceKernels, when) -> None:
    result = spice_fits_keywords(spice, when, when)
    keys = [key for key, _, _ in result]
    assert keys[:2] == ["SPICE_MK", "SPICE_ER"]
    assert keys[2:] == [key for key, _ in KEYWORD_COMMENTS[1:]]
    values = dict((key, value) for key, value, _ in result)
    assert values["SPICE_ER"] == "1"
    assert values["SPICE_MK"].endswith("solo_ANC_soc-flown-mk_V999_20200611_001.tm")
    assert all(values[key] == "" for key in keys[2:])


def test_needs_scalar_times(spice: SpiceKernels) -> None:
    with pytest.raises(TypeError, match="scalar"):
        spice_fits_keywords(spice, SCETime([642038387, 642038388], 0), SCETime(642038387, 0))
