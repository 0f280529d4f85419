"""A built kernel set loads with SpiceKernels and serves time conversion, keywords, coverage, attitude."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spiceypy

from stix_lib.dev.synthetic_kernels import KernelSetManifest, build_kernel_set, default_solar_orbiter_orbit
from stix_lib.dev.synthetic_kernels.attitude import srf_matrices
from stix_lib.dev.synthetic_kernels.orbits import AU_KM, sun_pole_j2000
from stix_lib.spice import SpiceKernels, flown_coverage, spice_fits_keywords
from stix_lib.spice.fits_keywords import KEYWORD_COMMENTS
from stix_lib.time import SCETime
from tests.support.kernels_support import END, FLOWN_UNTIL, START


@pytest.fixture
def spice(kernel_set: KernelSetManifest, tmp_path: Path) -> SpiceKernels:
    return SpiceKernels(kernel_set.root, tmp_path / "work").load()


def _utc_grid(first: str, last: str, count: int) -> np.ndarray:
    start, end = np.datetime64(first, "ns"), np.datetime64(last, "ns")
    offsets = np.linspace(0, (end - start).astype(np.int64), count).astype(np.int64)
    return start + offsets.astype("timedelta64[ns]") + np.arange(count).astype("timedelta64[ms]") * 37


def test_layout(kernel_set: KernelSetManifest) -> None:
    folders = {Path(name).parts[0] for name in kernel_set.files}
    assert folders == {"ck", "fk", "lsk", "mk", "pck", "sclk", "spk"}
    assert all((kernel_set.root / name).is_file() for name in kernel_set.files)
    assert kernel_set.flown_meta_kernel.name == "solo_ANC_soc-flown-mk_V001_20240303_001.tm"
    assert kernel_set.predicted_meta_kernel.name == "solo_ANC_soc-pred-mk_V001_20240303_001.tm"
    text = kernel_set.flown_meta_kernel.read_text()
    assert "PATH_VALUES                      = ( '..' )" in text
    assert "'$KERNELS/spk/solo_ANC_soc-flown-orbit_20240301-20240303_V01.bsp'" in text
    assert "solo_ANC_soc-orbit_" not in text and "pred-att" not in text


def test_loads_latest_pred_then_flown(spice: SpiceKernels) -> None:
    assert spice.meta_kernel_names == [
        "solo_ANC_soc-pred-mk_V001_20240303_001.tm",
        "solo_ANC_soc-flown-mk_V001_20240303_001.tm",
    ]
    assert spice.load_errors == {}


def test_scet_utc_round_trips(spice: SpiceKernels) -> None:
    utc = _utc_grid(START, END, 500)
    scet = spice.datetime64_to_scet(utc)
    back = spice.scet_to_datetime64(scet)
    assert np.abs((back - utc).astype(np.int64)).max() <= 1_000_000  # ≤ 1 ms (really ≤ one tick)
    assert np.abs((back - utc).astype(np.int64)).max() <= 8_000
    iso = spice.scet_to_utc_iso(scet)
    again = spice.datetime64_to_scet(iso.astype("datetime64[ns]"))
    assert np.abs(again.btime - scet.btime).max() <= 33  # ISO strings have 1 ms: ≤ 0.5 ms = 32.8 ticks
    same = spice.et_to_scet(spice.scet_to_et(scet))
    assert np.array_equal(same.btime, scet.btime)  # tick-exact


def test_anchor_scet_zero(spice: SpiceKernels) -> None:
    assert spice.scet_to_utc_iso(SCETime(0, 0)).item() == "2000-01-01T00:00:00.000"
    assert spiceypy.sce2s(-144, spiceypy.str2et("2000-01-01T00:00:00")) == "1/0000000000:00000"
    # (exactly at the partition start, ET from deltet can round one ulp before it; 1 us later is safe)
    assert spice.datetime64_to_scet(np.datetime64("2000-01-01T00:00:00.000001")) == SCETime(0, 0)


@pytest.mark.parametrize("when", ["2024-03-01T00:30:00", "2024-03-02T12:00:00", "2024-03-04T18:00:00"])
def test_every_keyword_is_finite(spice: SpiceKernels, when: str) -> None:
    keywords = spice_fits_keywords(spice, np.datetime64(when) - np.timedelta64(5, "m"), when)
    names = [key for key, _, _ in keywords]
    assert "SPICE_ER" not in names
    assert names == [key for key, _ in KEYWORD_COMMENTS]
    values = {key: value for key, value, _ in keywords}
    numbers = {key: value for key, value in values.items() if key not in ("SPICE_MK", "DATE_EAR", "DATE_SUN")}
    assert all(isinstance(v, float) and np.isfinite(v) for v in numbers.values()), numbers
    assert values["DATE_EAR"].startswith(when[:10]) and values["DATE_SUN"].startswith(when[:10])


def test_keyword_geometry(spice: SpiceKernels) -> None:
    values = {key: value for key, value, _ in spice_fits_keywords(spice, "2024-03-02T00:00:00", "2024-03-02T00:00:00")}
    distance = values["DSUN_OBS"]
    assert 0.28 * AU_KM * 1e3 < distance < 1.02 * AU_KM * 1e3
    for prefix in ("HCI", "HAE", "HEQ", "HEE"):
        vector = [values[f"{prefix}{axis}_OBS"] for axis in "XYZ"]
        assert np.linalg.norm(vector) == pytest.approx(distance, rel=1e-9)
    # Stonyhurst latitude from HEEQ; HEEQ and HCI share the solar rotation axis
    assert values["HGLT_OBS"] == pytest.approx(np.degrees(np.arcsin(values["HEQZ_OBS"] / distance)), abs=1e-5)
    assert values["HEQZ_OBS"] == pytest.approx(values["HCIZ_OBS"], abs=1.0)
    assert values["HGLN_OBS"] == pytest.approx(np.degrees(np.arctan2(values["HEQY_OBS"], values["HEQX_OBS"])), abs=1e-5)
    assert values["CRLT_OBS"] == pytest.approx(values["HGLT_OBS"], abs=1e-6)
    assert values["RSUN_ARC"] == pytest.approx(np.degrees(np.arcsin(695_700e3 / distance)) * 3600)
    assert values["SUN_TIME"] == pytest.approx(distance / 299_792_458.0, abs=1e-3)
    # GSE = position relative to the Earth; its length is the Earth-spacecraft distance
    earth = np.array(spiceypy.spkpos("EARTH", spiceypy.str2et("2024-03-02T00:00:00"), "J2000", "NONE", "SOLO")[0])
    gse = [values[f"GSE{axis}_OBS"] for axis in "XYZ"]
    assert np.linalg.norm(gse) == pytest.approx(np.linalg.norm(earth) * 1e3, rel=1e-9)


def test_dsun_varies_over_the_orbit(spice: SpiceKernels) -> None:
    distances = [
        dict((k, v) for k, v, _ in spice_fits_keywords(spice, when, when))["DSUN_OBS"]
        for when in ("2024-03-01T00:00:00", "2024-03-03T00:00:00", "2024-03-05T00:00:00")
    ]
    assert len(set(distances)) == 3
    assert np.all(np.abs(np.diff(distances)) > 1e9)  # several 10^9 m in two days (|OBS_VR| ~ 20 km/s)


def test_orbit_is_solar_orbiter_like() -> None:
    orbit = default_solar_orbiter_orbit()
    assert 150 < orbit.period_s / 86400 < 180
    et = np.linspace(0, orbit.period_s, 2001) + 7.6e8
    states = orbit.states(et)
    distance = np.linalg.norm(states[:, :3], axis=1) / AU_KM
    assert distance.min() == pytest.approx(0.293, abs=1e-4) and distance.max() == pytest.approx(0.915, abs=1e-4)
    normal = np.cross(states[0, :3], states[0, 3:])
    tilt = np.degrees(np.arccos(normal @ sun_pole_j2000() / np.linalg.norm(normal)))
    assert 1.0 < tilt < 10.0
    # velocities are the time derivative of the positions
    step = 10.0
    numeric = (orbit.states(et + step)[:, :3] - orbit.states(et - step)[:, :3]) / (2 * step)
    np.testing.assert_allclose(numeric, states[:, 3:], rtol=0, atol=1e-6)


def test_spk_interpolation_error_is_negligible(spice: SpiceKernels) -> None:
    orbit = default_solar_orbiter_orbit()
    et = np.linspace(spiceypy.str2et(START), spiceypy.str2et(END), 301)[1:-1] + 123.4
    spice_states = np.array([spiceypy.spkezr("SOLO", value, "J2000", "NONE", "SUN")[0] for value in et])
    error = np.abs(spice_states - orbit.states(et))
    assert error[:, :3].max() < 1e-3  # km
    assert error[:, 3:].max() < 1e-9  # km/s


def test_flown_coverage_ends_at_flown_until(spice: SpiceKernels, kernel_set: KernelSetManifest) -> None:
    coverage = flown_coverage(spice)
    assert coverage is not None
    assert coverage.meta_kernel == kernel_set.flown_meta_kernel.name
    assert abs(coverage.spk_utc_end - np.datetime64(FLOWN_UNTIL, "ns")) <= np.timedelta64(1, "us")
    assert abs(coverage.utc_end - np.datetime64(FLOWN_UNTIL, "ns")) <= np.timedelta64(1, "us")
    assert abs(coverage.spk_utc_start - np.datetime64(START, "ns")) <= np.timedelta64(1, "us")
    # the predicted orbit and attitude reach the end of the set
    for name, body in ((kernel_set.names.predicted_spk, -144), (kernel_set.names.planets_spk, 399)):
        window = spiceypy.spkcov(str(kernel_set.root / name), body)
        assert spiceypy.wnfetd(window, spiceypy.wncard(window) - 1)[1] == pytest.approx(spiceypy.str2et(END), abs=1e-6)
    window = spiceypy.ckcov(
        str(kernel_set.root / kernel_set.names.predicted_ck), -144000, False, "INTERVAL", 0.0, "TDB"
    )
    assert spiceypy.wnfetd(window, 0)[1] == pytest.approx(spiceypy.str2et(END), abs=1e-3)
    window = spiceypy.ckcov(str(kernel_set.root / kernel_set.names.flown_ck), -144851, False, "INTERVAL", 0.0, "TDB")
    assert spiceypy.wnfetd(window, 0)[1] == pytest.approx(spiceypy.str2et(FLOWN_UNTIL), abs=1e-3)


def test_after_flown_until_only_predictions(kernel_set: KernelSetManifest, tmp_path: Path) -> None:
    late = "2024-03-04T00:00:00"
    flown_only = SpiceKernels(kernel_set.root, tmp_path / "flown", use_predicted=False).load()
    names = [key for key, _, _ in spice_fits_keywords(flown_only, late, late)]
    assert "SPICE_ER" in names
    early = [
        value for key, value, _ in spice_fits_keywords(flown_only, "2024-03-02", "2024-03-02") if key == "DSUN_OBS"
    ]
    both = SpiceKernels(kernel_set.root, tmp_path / "both").load()
    assert "SPICE_ER" not in [key for key, _, _ in spice_fits_keywords(both, late, late)]
    same = [value for key, value, _ in spice_fits_keywords(both, "2024-03-02", "2024-03-02") if key == "DSUN_OBS"]
    assert early == same  # flown and predicted describe the same orbit


def test_attitude(spice: SpiceKernels) -> None:
    et = spiceypy.str2et("2024-03-02T06:30:00")
    ticks = spiceypy.sce2c(-144, et)
    cmat, found_ticks = spiceypy.ckgp(-144851, ticks, 1.0, "SOLO_SUN_RTN")
    assert found_ticks == pytest.approx(ticks, abs=1.0)
    roll, pitch, yaw = np.degrees(spiceypy.m2eul(cmat, 1, 2, 3))
    assert max(abs(roll), abs(pitch), abs(yaw)) < 1e-4
    # SRF +X points to the Sun, and STIX ILS is SRF turned 180 degrees about +Z
    sun = spiceypy.spkpos("SUN", et, "SOLO_SRF", "NONE", "SOLO")[0]
    assert np.asarray(sun) / np.linalg.norm(sun) == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)
    np.testing.assert_allclose(spiceypy.pxform("SOLO_SRF", "SOLO_STIX_ILS", et), np.diag([-1.0, -1.0, 1.0]), atol=1e-12)
    np.testing.assert_allclose(spiceypy.pxform("SOLO_STIX_ILS", "SOLO_STIX_OPT", et), np.eye(3), atol=1e-15)
    # the CK reproduces the analytic attitude
    position = default_solar_orbiter_orbit().states(np.array([et]))[:, :3]
    expected = srf_matrices(position, sun_pole_j2000())[0]
    np.testing.assert_allclose(spiceypy.pxform("J2000", "SOLO_SRF", et), expected, atol=1e-7)


def test_roll_option(tmp_path: Path, clean_spice: None) -> None:
    from stix_lib.dev.synthetic_kernels import KernelSetOptions

    manifest = build_kernel_set(tmp_path / "k", START, "2024-03-02", options=KernelSetOptions(roll_deg=2.5))
    spice = SpiceKernels(manifest.root, tmp_path / "work").load()
    ticks = spice.datetime64_to_scet(np.datetime64("2024-03-01T10:00:00"))
    cmat, _ = spiceypy.ckgp(-144851, float(ticks.btime), 1.0, "SOLO_SUN_RTN")
    roll, pitch, yaw = np.degrees(spiceypy.m2eul(cmat, 1, 2, 3))
    assert roll == pytest.approx(2.5, abs=1e-4) and abs(pitch) < 1e-4 and abs(yaw) < 1e-4


@pytest.mark.parametrize(
    ("start", "end", "flown"),
    [
        ("2024-03-05", "2024-03-01", None),
        ("2024-03-01", "2024-03-05", "2024-03-06"),
        ("2024-03-01", "2024-03-05", "2024-03-01"),
        ("1999-12-01", "2000-02-01", None),
        ("not a time", "2024-03-05", None),
    ],
)
def test_rejects_bad_ranges(tmp_path: Path, start: str, end: str, flown: str | None) -> None:
    with pytest.raises(ValueError):
        build_kernel_set(tmp_path / "k", start, end, flown)
