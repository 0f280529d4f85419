"""Observer position keywords for FITS primary headers (L1 and later), computed with SPICE.

:func:`spice_fits_keywords` returns ordered ``(keyword, value, comment)`` tuples for a product's
start and average (centre) time. Geometry is evaluated at the **average** time, geometric (no
aberration correction), Solar Orbiter (NAIF −144) relative to the Sun unless stated:

=========================  ====================================================================
keyword                    definition
=========================  ====================================================================
SPICE_MK                   names of the loaded meta kernels, load order, joined by ``", "``
RSUN_ARC                   ``asin(R_sun / distance)`` in arcsec, R_sun = 695 700 km (IAU 2015)
HGLN_OBS, HGLT_OBS         longitude/latitude in ``SUN_EARTH_CEQU`` (Stonyhurst), deg
CRLN_OBS, CRLT_OBS         Carrington: longitude/latitude in ``IAU_SUN`` evaluated at the average
                           time minus the Sun→Earth light time (Carrington longitudes as seen
                           from Earth), deg, longitude in [0, 360)
DSUN_OBS                   distance, m
HEE[XYZ]_OBS               X towards Earth, Z = J2000 ecliptic north (computed from
                           ``ECLIPJ2000``: the ``SOLO_HEE`` frame of FK sci-fk V06 takes the
                           Earth *equator* as secondary vector and would be off by ~1°), m
HCI[XYZ]_OBS, HCI[XYZ]_VOB ``SOLO_HCI`` position (m) and velocity (m/s)
HAE[XYZ]_OBS               ``SUN_ARIES_ECL``, m
HEQ[XYZ]_OBS               ``SOLO_HEEQ``, m
GSE[XYZ]_OBS               relative to Earth in ``EARTH_SUN_ECL``, m
OBS_VR                     radial velocity ``r·v/|r|`` relative to the Sun, m/s
SUN_TIME                   light time Sun → spacecraft, s
EAR_TDEL                   light time Sun → Earth minus ``SUN_TIME``, s
DATE_EAR, DATE_SUN         start time + ``EAR_TDEL`` and start time − ``SUN_TIME`` (ISO UTC, ms)
=========================  ====================================================================

Positions/velocities are rounded to 0.01 m (m/s), angles to 1e-6 deg, light times to 1 ms.

On any failure (e.g. a date outside the orbit kernels, such as the 2019 ground tests) the list
gets ``SPICE_ER = '1'`` after ``SPICE_MK`` and every other value is an empty string.

``legacy_quirks=True`` reproduces what STIXCore wrote into the V01 reference L1 files, for
comparisons with them: ``HAEZ_OBS`` repeats ``HAEX_OBS``; ``OBS_VR`` is the speed in the rotating
``SUN_EARTH_CEQU`` frame; ``CRLN_OBS``/``CRLT_OBS`` repeat the Stonyhurst values; angles and light
times are rounded to 0.01. The default output fixes these three defects.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import spiceypy
from spiceypy.utils.exceptions import SpiceyError

from stix_lib.spice import clock
from stix_lib.time.scet import SCETime

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.spice.kernels import SpiceKernels

#: Nominal solar radius (IAU 2015 Resolution B3), km.
SOLAR_RADIUS_KM = 695_700.0
_SOLO = "SOLO"

Keyword = tuple[str, Any, str]

_AXES = ("X", "Y", "Z")

#: (keyword, comment) in output order; SPICE_ER goes after SPICE_MK when present.
KEYWORD_COMMENTS: tuple[tuple[str, str], ...] = (
    ("SPICE_MK", "SPICE meta kernels used for the keywords below"),
    ("RSUN_ARC", "[arcsec] Apparent radius of the photosphere"),
    ("HGLT_OBS", "[deg] Observer Stonyhurst latitude (B0 angle)"),
    ("HGLN_OBS", "[deg] Observer Stonyhurst longitude"),
    ("CRLT_OBS", "[deg] Observer Carrington latitude"),
    ("CRLN_OBS", "[deg] Observer Carrington longitude"),
    ("DSUN_OBS", "[m] Observer distance from the Sun centre"),
    *((f"HEE{a}_OBS", f"[m] Observer Heliocentric Earth Ecliptic {a}") for a in _AXES),
    *((f"HCI{a}_OBS", f"[m] Observer Heliocentric Inertial {a}") for a in _AXES),
    *((f"HCI{a}_VOB", f"[m/s] Observer Heliocentric Inertial {a} velocity") for a in _AXES),
    *((f"HAE{a}_OBS", f"[m] Observer Heliocentric Aries Ecliptic {a}") for a in _AXES),
    *((f"HEQ{a}_OBS", f"[m] Observer Heliocentric Earth Equatorial {a}") for a in _AXES),
    *((f"GSE{a}_OBS", f"[m] Observer Geocentric Solar Ecliptic {a}") for a in _AXES),
    ("OBS_VR", "[m/s] Observer radial velocity relative to the Sun"),
    ("EAR_TDEL", "[s] Light time Sun-Earth minus light time Sun-observer"),
    ("SUN_TIME", "[s] Light time Sun-observer"),
    ("DATE_EAR", "Start time corrected to arrival at Earth"),
    ("DATE_SUN", "Start time corrected to emission at the Sun"),
)
_LEGACY_VR_COMMENT = "[m/s] Observer speed in SUN_EARTH_CEQU (STIXCore V01 convention)"
SPICE_ER_COMMENT = "1: SPICE could not compute the observer keywords"


def _as_et_and_utc(kernels: SpiceKernels, when: Any) -> tuple[float, np.datetime64]:
    """ET and UTC of a scalar SCETime, astropy Time, datetime64 or ISO string."""
    if isinstance(when, SCETime):
        et = float(kernels.scet_to_et(when).ravel()[0])
        return et, clock.et_to_datetime64(et).ravel()[0]
    if hasattr(when, "jd1") and hasattr(when, "scale"):  # astropy Time
        utc = clock.time_to_datetime64(when).ravel()[0]
    else:
        utc = np.datetime64(when, "ns")
    return float(clock.datetime64_to_et(utc)), utc


def _state(target: str, et: float, frame: str, observer: str) -> tuple[np.ndarray, float]:
    state, light_time = spiceypy.spkezr(target, et, frame, "NONE", observer)
    return np.asarray(state, dtype=np.float64) * 1000.0, float(light_time)  # km -> m


def _rounded(values: dict[str, Any], numbers: dict[str, Any], decimals: int) -> None:
    """Set ``values[name]`` to ``numbers[name]`` rounded to ``decimals`` (as Python floats).

    One ``np.round`` of all of them: the same result as one call per number, faster.
    """
    rounded = np.round(np.array(list(numbers.values()), dtype=np.float64), decimals).tolist()
    values.update(zip(numbers, rounded, strict=True))


def _compute(kernels: SpiceKernels, start: Any, average: Any, legacy: bool) -> dict[str, Any]:
    kernels.ensure_loaded()
    _, utc_start = _as_et_and_utc(kernels, start)
    et, _ = _as_et_and_utc(kernels, average)
    values: dict[str, Any] = {}

    hgs, sun_time = _state(_SOLO, et, "SUN_EARTH_CEQU", "SUN")
    distance, lon, lat = spiceypy.reclat(hgs[:3])
    hgln, hglt = np.degrees(lon), np.degrees(lat)
    earth, earth_time = _state("EARTH", et, "J2000", "SUN")
    solo_j2000, _ = _state(_SOLO, et, "J2000", "SUN")
    if legacy:
        crln, crlt = hgln, hglt
    else:
        to_carrington = spiceypy.pxform("J2000", "IAU_SUN", et - earth_time)
        _, clon, clat = spiceypy.reclat(to_carrington @ solo_j2000[:3])
        crln, crlt = np.degrees(clon) % 360.0, np.degrees(clat)
    values["RSUN_ARC"] = float(np.degrees(np.arcsin(SOLAR_RADIUS_KM * 1000.0 / distance)) * 3600.0)
    angles = {"HGLT_OBS": hglt, "HGLN_OBS": hgln, "CRLT_OBS": crlt, "CRLN_OBS": crln}
    _rounded(values, angles, 2 if legacy else 6)

    earth_ecl, _ = _state("EARTH", et, "ECLIPJ2000", "SUN")
    solo_ecl, _ = _state(_SOLO, et, "ECLIPJ2000", "SUN")
    hee = spiceypy.twovec(earth_ecl[:3], 1, [0.0, 0.0, 1.0], 3) @ solo_ecl[:3]
    hci, _ = _state(_SOLO, et, "SOLO_HCI", "SUN")
    hae, _ = _state(_SOLO, et, "SUN_ARIES_ECL", "SUN")
    heq, _ = _state(_SOLO, et, "SOLO_HEEQ", "SUN")
    gse, _ = _state(_SOLO, et, "EARTH_SUN_ECL", "EARTH")
    if legacy:
        hae[2] = hae[0]
    if legacy:
        velocity = float(np.linalg.norm(hgs[3:]))
    else:
        velocity = float(np.dot(solo_j2000[:3], solo_j2000[3:]) / np.linalg.norm(solo_j2000[:3]))
    vectors = {"HEE{}_OBS": hee, "HCI{}_OBS": hci[:3], "HCI{}_VOB": hci[3:], "HAE{}_OBS": hae[:3]}
    vectors |= {"HEQ{}_OBS": heq[:3], "GSE{}_OBS": gse[:3]}
    metres = {"DSUN_OBS": distance, "OBS_VR": velocity}
    for pattern, vector in vectors.items():
        metres.update(zip((pattern.format(axis) for axis in _AXES), vector, strict=True))
    _rounded(values, metres, 2)
    _rounded(values, {"EAR_TDEL": earth_time - sun_time, "SUN_TIME": sun_time}, 2 if legacy else 3)
    to_ns = 1_000_000_000
    # the dates use the light times as written, so a reader can redo the arithmetic
    shifts = np.array([round(values["EAR_TDEL"] * to_ns), -round(values["SUN_TIME"] * to_ns)], dtype="timedelta64[ns]")
    values["DATE_EAR"], values["DATE_SUN"] = (str(text) for text in clock.format_utc(utc_start + shifts))
    if not all(math.isfinite(v) for v in values.values() if isinstance(v, float)):
        raise ValueError("non-finite SPICE result")
    return values


def spice_fits_keywords(
    kernels: SpiceKernels, start: Any, average: Any, *, legacy_quirks: bool = False
) -> list[Keyword]:
    """Observer position and light-time keywords for a product header.

    Parameters
    ----------
    kernels
        Loaded kernel set (reloaded if SPICE no longer holds it).
    start, average
        Start and centre time of the product: scalar :class:`~stix_lib.time.scet.SCETime`,
        :class:`astropy.time.Time`, ``numpy.datetime64`` or ISO UTC string.
    legacy_quirks
        Reproduce the STIXCore V01 defects (see the module docstring).

    Returns
    -------
    list of (keyword, value, comment)
        In the order of :data:`KEYWORD_COMMENTS`; on failure with ``("SPICE_ER", "1", …)`` after
        ``SPICE_MK`` and empty-string values.

    Raises
    ------
    TypeError
        If ``start`` or ``average`` is not a single time.
    SpiceKernelError
        If the kernels cannot be loaded at all.
    """
    for when in (start, average):
        if np.size(getattr(when, "btime", when)) != 1:
            raise TypeError(f"start and average must be scalar times, got {when!r}")
    kernels.ensure_loaded()
    names = ", ".join(kernels.meta_kernel_names)
    comments = dict(KEYWORD_COMMENTS)
    if legacy_quirks:
        comments["OBS_VR"] = _LEGACY_VR_COMMENT
    try:
        values = _compute(kernels, start, average, legacy_quirks)
    except (SpiceyError, ValueError, ArithmeticError):
        result: list[Keyword] = [("SPICE_MK", names, comments["SPICE_MK"]), ("SPICE_ER", "1", SPICE_ER_COMMENT)]
        result += [(key, "", comments[key]) for key, _ in KEYWORD_COMMENTS[1:]]
        return result
    return [("SPICE_MK", names, comments["SPICE_MK"])] + [
        (key, values[key], comments[key]) for key, _ in KEYWORD_COMMENTS[1:]
    ]
