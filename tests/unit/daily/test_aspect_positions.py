"""SPICE positions of the ANC aspect rows (``stix_lib.spice.positions``) with the real 2020 Solar Orbiter kernels.

The shared kernel set covers the orbit from 2020-02-10 on, but the attitude (flown CK) only
2020-02-29 .. 2020-03-01. So the spec's reference values at 2020-10-07T12:00 are compared for the
position (HEEQ, Stonyhurst lon/lat, distance); the orbit kernel differs from the one the reference
values were made with, by ~1.6e-5 of the distance (as for the header keywords). The attitude at
that time must be NaN (no CK); roll/pitch/yaw are checked at covered times against SPICE calls
written out here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spiceypy

from stix_lib.spice.fits_keywords import spice_fits_keywords
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.spice.positions import attitude_rpy, auxiliary_positions, sun_disc_size

#: processing spec §5.3, "ANC rows" (STIXCore test kernels, 2020-10-07T12:00 UTC).
REF_TIME = "2020-10-07T12:00:00"
REF_HEEQ_KM = (-89274134.69, 116495809.40, -16959307.70)
REF_DIST_KM = 147745601.80
REF_LONLAT_DEG = (127.46399814, -6.5913527)
#: Times inside the flown attitude kernel.
ATTITUDE_TIMES = ("2020-03-01T12:00:00", "2020-02-29T06:00:00")


@pytest.fixture(scope="module")
def kernels(reference_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SpiceKernels:
    return SpiceKernels(reference_data / "spice" / "kernels", tmp_path_factory.mktemp("aspect-spice")).load()


def _et(*utc: str) -> np.ndarray:
    return np.array([spiceypy.str2et(t) for t in utc])


def test_reference_position_2020_10_07(kernels: SpiceKernels) -> None:
    kernels.ensure_loaded()
    found = auxiliary_positions(_et(REF_TIME))
    assert found.heeq.shape == (1, 3) and found.lonlat.shape == (1, 2) and found.roll_pitch_yaw.shape == (1, 3)
    assert found.distance[0] == pytest.approx(REF_DIST_KM, rel=2e-5)  # measured 1.28e-5 (1896 km)
    assert np.all(np.abs(found.heeq[0] - REF_HEEQ_KM) < 2e-5 * REF_DIST_KM)  # measured <= 2328 km
    assert found.lonlat[0] == pytest.approx(REF_LONLAT_DEG, abs=1e-3)  # measured 5.6e-4, 1.5e-4 deg
    assert np.all(np.isnan(found.roll_pitch_yaw))  # no attitude kernel covers 2020-10-07


def test_positions_equal_scalar_spice_calls(kernels: SpiceKernels) -> None:
    kernels.ensure_loaded()
    times = (REF_TIME, *ATTITUDE_TIMES)
    found = auxiliary_positions(_et(*times))
    for row, et in enumerate(_et(*times)):
        position, _ = spiceypy.spkpos("SOLO", et, "SOLO_HEEQ", "NONE", "SUN")
        radius, lon, lat = spiceypy.reclat(position)
        np.testing.assert_allclose(found.heeq[row], position, rtol=1e-13)
        assert found.distance[row] == pytest.approx(radius, rel=1e-13)
        assert found.lonlat[row] == pytest.approx([np.degrees(lon), np.degrees(lat)], abs=1e-10)
        solo_sun, _ = spiceypy.spkpos("SOLO", et, "SUN_EARTH_CEQU", "NONE", "SUN")  # Stonyhurst, same lon/lat
        _, hgln, hglt = spiceypy.reclat(solo_sun)
        assert found.lonlat[row] == pytest.approx([np.degrees(hgln), np.degrees(hglt)], abs=1e-8)


def test_attitude_where_the_ck_covers(kernels: SpiceKernels) -> None:
    kernels.ensure_loaded()
    found = attitude_rpy(_et(*ATTITUDE_TIMES))
    for row, et in enumerate(_et(*ATTITUDE_TIMES)):
        cmat, _ = spiceypy.ckgp(-144851, spiceypy.sce2c(-144, et), 1.0, "SOLO_SUN_RTN")
        roll, pitch, yaw = (np.degrees(a) for a in spiceypy.m2eul(cmat, 1, 2, 3))
        assert found[row] == pytest.approx([roll, pitch, yaw], abs=1e-12)
        # the rotation rebuilt from the angles is the C-matrix: roll about X, pitch about Y, yaw about Z
        rebuilt = spiceypy.eul2m(*np.radians(found[row]), 1, 2, 3)
        np.testing.assert_allclose(rebuilt, cmat, atol=1e-12)
    assert found[0] == pytest.approx([0.68594589, 0.00029540, 0.00001106], abs=1e-7)  # sun-pointing: small angles
    assert np.all(np.abs(found[:, 1:]) < 0.01) and np.all(np.abs(found[:, 0]) < 2)


def test_sun_disc_size_is_rsun_arc(kernels: SpiceKernels) -> None:
    kernels.ensure_loaded()
    disc = sun_disc_size(_et(REF_TIME, ATTITUDE_TIMES[0]))
    for value, utc in zip(disc, (REF_TIME, ATTITUDE_TIMES[0]), strict=True):
        keywords = {k: v for k, v, _ in spice_fits_keywords(kernels, np.datetime64(utc), np.datetime64(utc))}
        assert value == pytest.approx(keywords["RSUN_ARC"], rel=1e-12)
    assert disc[0] == pytest.approx(971.2446, abs=1e-3)  # 695700 km at 147.75e6 km
    assert sun_disc_size(np.zeros(0)).shape == (0,)
