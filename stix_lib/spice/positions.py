"""Per-row Solar Orbiter position and STIX attitude for auxiliary (ANC) products, with SPICE.

STIXCore's ``get_auxiliary_positional_data`` and ``get_sun_disc_size``, vectorised over times
(ephemeris time ``et``, TDB seconds past J2000; kernels loaded by the caller):

=====================  ===========================================================================
quantity               definition
=====================  ===========================================================================
``heeq``               SOLO relative to the Sun in ``SOLO_HEEQ`` (geometric), km, ``(n, 3)``
``lonlat``             longitude/latitude of ``heeq`` (heliographic **Stonyhurst**), deg, ``(n, 2)``;
                       STIXCore writes these under the column name ``solo_loc_carrington_lonlat``
``distance``           ``|heeq|``, km
``roll_pitch_yaw``     C-matrix of the STIX ILS frame (NAIF −144851) relative to ``SOLO_SUN_RTN``
                       from ``ckgp`` (tolerance 1 SCLK tick), decomposed as Euler angles about the
                       axes 1-2-3 (``m2eul(cmat, 1, 2, 3)``: roll about X, pitch about Y, yaw
                       about Z), deg, ``(n, 3)``; ``NaN`` where SPICE has no attitude
``sun_disc_size``      ``asin(R_sun / distance)``, arcsec (R_sun = 695 700 km, as ``RSUN_ARC``)
=====================  ===========================================================================

Positions use spiceypy's vectorised ``spkpos``; ``ckgp``/``sce2c`` have no vector form and are
called per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import spiceypy
from spiceypy.utils.exceptions import SpiceyError

from stix_lib.spice.fits_keywords import SOLAR_RADIUS_KM

#: NAIF id of the STIX imaging-line-of-sight frame (STIX ILS), the ``ckgp`` instrument.
STIX_ILS_ID = -144851
#: Spacecraft clock of Solar Orbiter.
SOLO_CLOCK_ID = -144
#: Reference frame of the attitude angles.
ATTITUDE_FRAME = "SOLO_SUN_RTN"
#: ``ckgp`` tolerance in SCLK ticks.
CK_TOLERANCE = 1.0


@dataclass(frozen=True)
class AuxiliaryPositions:
    """Position and attitude of Solar Orbiter per time (see the module docstring).

    Attributes
    ----------
    heeq
        ``(n, 3)`` km.
    lonlat
        ``(n, 2)`` deg, Stonyhurst longitude in (−180, 180], latitude.
    distance
        ``(n,)`` km.
    roll_pitch_yaw
        ``(n, 3)`` deg, ``NaN`` rows where no attitude is available.
    """

    heeq: npt.NDArray[np.float64]
    lonlat: npt.NDArray[np.float64]
    distance: npt.NDArray[np.float64]
    roll_pitch_yaw: npt.NDArray[np.float64]


def _positions(et: npt.NDArray[np.float64], frame: str) -> npt.NDArray[np.float64]:
    """SOLO relative to the Sun (km, ``(n, 3)``), geometric, one vectorised ``spkpos`` call."""
    if not et.size:
        return np.zeros((0, 3))
    positions, _ = spiceypy.spkpos("SOLO", et, frame, "NONE", "SUN")
    return np.asarray(positions, dtype=np.float64).reshape(-1, 3)


def sun_disc_size(et: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Apparent solar radius seen from Solar Orbiter, arcsec, per time.

    Raises
    ------
    spiceypy.utils.exceptions.SpiceyError
        When the loaded kernels do not cover a time.
    """
    times = np.atleast_1d(np.asarray(et, dtype=np.float64))
    distance = np.linalg.norm(_positions(times, "J2000"), axis=1)
    return np.degrees(np.arcsin(SOLAR_RADIUS_KM / distance)) * 3600.0


def attitude_rpy(et: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Roll, pitch, yaw (deg) of STIX ILS relative to ``SOLO_SUN_RTN`` per time; ``NaN`` on SPICE errors."""
    times = np.atleast_1d(np.asarray(et, dtype=np.float64))
    out = np.full((times.size, 3), np.nan)
    for row, value in enumerate(times.tolist()):
        try:
            ticks = spiceypy.sce2c(SOLO_CLOCK_ID, value)
            cmat, _ = spiceypy.ckgp(STIX_ILS_ID, ticks, CK_TOLERANCE, ATTITUDE_FRAME)
        except SpiceyError:  # no attitude (spiceypy raises NotFoundError, a SpiceyError) or no frame chain
            continue
        out[row] = np.degrees(spiceypy.m2eul(np.asarray(cmat), 1, 2, 3))
    return out


def auxiliary_positions(et: npt.ArrayLike) -> AuxiliaryPositions:
    """HEEQ position, Stonyhurst longitude/latitude, distance and attitude per time.

    Parameters
    ----------
    et
        Ephemeris times (TDB seconds past J2000), any shape (flattened).

    Raises
    ------
    spiceypy.utils.exceptions.SpiceyError
        When the loaded kernels do not cover a position (the attitude becomes ``NaN`` instead).
    """
    times = np.atleast_1d(np.asarray(et, dtype=np.float64)).ravel()
    heeq = _positions(times, "SOLO_HEEQ")
    distance = np.linalg.norm(heeq, axis=1)
    lon = np.degrees(np.arctan2(heeq[:, 1], heeq[:, 0]))
    lat = np.degrees(np.arctan2(heeq[:, 2], np.hypot(heeq[:, 0], heeq[:, 1])))
    return AuxiliaryPositions(
        heeq=heeq,
        lonlat=np.column_stack([lon, lat]) if times.size else np.zeros((0, 2)),
        distance=distance,
        roll_pitch_yaw=attitude_rpy(times),
    )
