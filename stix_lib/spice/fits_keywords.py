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

import ctypes
import math
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import spiceypy
from spiceypy.spiceypy import check_for_spice_error
from spiceypy.utils.exceptions import SpiceyError
from spiceypy.utils.libspicehelper import libspice

from stix_lib.spice import clock
from stix_lib.time.scet import SCETime

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.spice.kernels import SpiceKernels

#: Nominal solar radius (IAU 2015 Resolution B3), km.
SOLAR_RADIUS_KM = 695_700.0

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
_COMMENTS = MappingProxyType(dict(KEYWORD_COMMENTS))


def _as_utc(kernels: SpiceKernels, when: Any) -> np.datetime64:
    """UTC ``datetime64[ns]`` of a scalar SCETime, astropy Time, datetime64 or ISO string."""
    if isinstance(when, SCETime):
        return clock.et_to_datetime64(kernels.scet_to_et(when)).ravel()[0]
    if hasattr(when, "jd1") and hasattr(when, "scale"):  # astropy Time
        return clock.time_to_datetime64(when).ravel()[0]
    return np.datetime64(when, "ns")


def _as_et(kernels: SpiceKernels, when: Any) -> float:
    """ET of a scalar SCETime, astropy Time, datetime64 or ISO string."""
    if isinstance(when, SCETime):
        return float(kernels.scet_to_et(when).ravel()[0])
    return float(clock.datetime64_to_et(_as_utc(kernels, when)))


def _state(target: bytes, et: float, frame: bytes, observer: bytes) -> tuple[np.ndarray, float]:
    """Geometric state (m, m/s) and light time (s) of ``target`` seen from ``observer`` in ``frame``.

    ``spkezr`` called directly (names as ASCII bytes), errors raised as spiceypy raises them.
    """
    state = (ctypes.c_double * 6)()
    light_time = ctypes.c_double()
    libspice.spkezr_c(target, et, frame, b"NONE", observer, state, ctypes.byref(light_time))
    check_for_spice_error(None)
    return np.frombuffer(memoryview(state), dtype=np.float64) * 1000.0, light_time.value  # km -> m


#: Keywords rounded to 0.01 m (m/s), in the order :func:`_compute` lists their values.
_METRE_KEYWORDS = ("DSUN_OBS", "OBS_VR") + tuple(
    f"{system}{axis}_{kind}"
    for system, kind in (("HEE", "OBS"), ("HCI", "OBS"), ("HCI", "VOB"), ("HAE", "OBS"), ("HEQ", "OBS"), ("GSE", "OBS"))
    for axis in _AXES
)


def _compute(kernels: SpiceKernels, start: Any, average: Any, legacy: bool) -> dict[str, Any]:
    utc_start = _as_utc(kernels, start)
    et = _as_et(kernels, average)
    values: dict[str, Any] = {}

    hgs, sun_time = _state(b"SOLO", et, b"SUN_EARTH_CEQU", b"SUN")
    distance, lon, lat = spiceypy.reclat(hgs[:3])
    hgln, hglt = np.degrees(lon), np.degrees(lat)
    _, earth_time = _state(b"EARTH", et, b"J2000", b"SUN")
    solo_j2000, _ = _state(b"SOLO", et, b"J2000", b"SUN")
    if legacy:
        crln, crlt = hgln, hglt
    else:
        to_carrington = spiceypy.pxform("J2000", "IAU_SUN", et - earth_time)
        _, clon, clat = spiceypy.reclat(to_carrington @ solo_j2000[:3])
        crln, crlt = np.degrees(clon) % 360.0, np.degrees(clat)
    values["RSUN_ARC"] = float(np.degrees(np.arcsin(SOLAR_RADIUS_KM * 1000.0 / distance)) * 3600.0)
    # one np.round per group: the same numbers as one call per value
    angles = np.round(np.array([hglt, hgln, crlt, crln], dtype=np.float64), 2 if legacy else 6).tolist()
    values.update(zip(("HGLT_OBS", "HGLN_OBS", "CRLT_OBS", "CRLN_OBS"), angles, strict=True))

    earth_ecl, _ = _state(b"EARTH", et, b"ECLIPJ2000", b"SUN")
    solo_ecl, _ = _state(b"SOLO", et, b"ECLIPJ2000", b"SUN")
    hee = spiceypy.twovec(earth_ecl[:3], 1, [0.0, 0.0, 1.0], 3) @ solo_ecl[:3]
    hci, _ = _state(b"SOLO", et, b"SOLO_HCI", b"SUN")
    hae, _ = _state(b"SOLO", et, b"SUN_ARIES_ECL", b"SUN")
    heq, _ = _state(b"SOLO", et, b"SOLO_HEEQ", b"SUN")
    gse, _ = _state(b"SOLO", et, b"EARTH_SUN_ECL", b"EARTH")
    if legacy:
        hae[2] = hae[0]
    if legacy:
        velocity = float(np.linalg.norm(hgs[3:]))
    else:
        velocity = float(np.dot(solo_j2000[:3], solo_j2000[3:]) / np.linalg.norm(solo_j2000[:3]))
    metres = np.concatenate(([distance, velocity], hee, hci, hae[:3], heq[:3], gse[:3]))
    values.update(zip(_METRE_KEYWORDS, np.round(metres, 2).tolist(), strict=True))
    times = np.round(np.array([earth_time - sun_time, sun_time], dtype=np.float64), 2 if legacy else 3).tolist()
    values["EAR_TDEL"], values["SUN_TIME"] = times
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
    comments = _COMMENTS if not legacy_quirks else {**_COMMENTS, "OBS_VR": _LEGACY_VR_COMMENT}
    try:
        values = _compute(kernels, start, average, legacy_quirks)
    except (SpiceyError, ValueError, ArithmeticError):
        result: list[Keyword] = [("SPICE_MK", names, comments["SPICE_MK"]), ("SPICE_ER", "1", SPICE_ER_COMMENT)]
        result += [(key, "", comments[key]) for key, _ in KEYWORD_COMMENTS[1:]]
        return result
    return [("SPICE_MK", names, comments["SPICE_MK"])] + [
        (key, values[key], comments[key]) for key, _ in KEYWORD_COMMENTS[1:]
    ]
