"""Frames kernels (FK) for the synthetic kernel set.

Two kernels, split like the SOC's:

* spacecraft FK: ``SOLO_SRF`` (CK frame −144000), ``SOLO_STIX_ILS`` (CK frame −144851, whose
  CK records are the SRF attitude times a fixed 180° rotation about SRF +Z, see
  :mod:`stix_lib.dev.synthetic_kernels.attitude`) and ``SOLO_STIX_OPT`` (−144852, fixed, coincident with ILS as in
  the SOC kernels), plus the name ``SOLO_STIX``;
* science FK: the heliospheric frames the FITS keywords and the ANC attitude use, as SPICE dynamic
  frames (all vectors geometric, no aberration correction):

  =================  ====================================================================
  ``SOLO_SUN_RTN``   +X Sun → spacecraft, +Z towards the solar rotation axis (``IAU_SUN`` +Z)
  ``SOLO_HEE``       +X Sun → Earth, +Z ecliptic north of date (``SUN_ARIES_ECL`` +Z)
  ``SOLO_HCI``       +Z solar rotation axis, +X ascending node of the solar equator on the J2000
                     ecliptic (+Y towards ``ECLIPJ2000`` +Z); inertial (frozen at J2000)
  ``SOLO_HEEQ``      +Z solar rotation axis, +X in the plane of +Z and Sun → Earth
  ``SUN_EARTH_CEQU`` same axes as ``SOLO_HEEQ`` (Stonyhurst heliographic), SOC name
  ``SOLO_ECLIPDATE`` mean ecliptic and equinox of date (IAU 1976 precession, IAU 1980
                     obliquity); SPICE requires the Earth as centre of this frame family
  ``SUN_ARIES_ECL``  the same axes centred on the Sun (HAE), a fixed frame on ``SOLO_ECLIPDATE``
  ``EARTH_SUN_ECL``  centred on the Earth, +X Earth → Sun, +Z ecliptic north of date (GSE)
  =================  ====================================================================

Frame ids of the dynamic frames are chosen here (−144960 …); only the names and the −1440xx /
−14485x ids of the spacecraft frames are fixed by the mission.
"""

from __future__ import annotations

from collections.abc import Iterable

from stix_lib.dev.synthetic_kernels.textkernel import Epoch, Value, assignment, text_kernel

SRF_ID = -144000
STIX_ID = -144850
STIX_ILS_ID = -144851
STIX_OPT_ID = -144852
SOLO_ID = -144

#: Dynamic frame ids used by the science FK.
DYNAMIC_FRAME_IDS: dict[str, int] = {
    "SOLO_ECLIPDATE": -144959,
    "SUN_ARIES_ECL": -144960,
    "SOLO_SUN_RTN": -144961,
    "SOLO_HEE": -144962,
    "SOLO_HCI": -144963,
    "SOLO_HEEQ": -144964,
    "SUN_EARTH_CEQU": -144965,
    "EARTH_SUN_ECL": -144966,
}

_J2000_EPOCH = Epoch("2000-JAN-01/12:00:00")
_NORTH = [0.0, 0.0, 1.0]


def _frame(name: str, frame_id: int, frame_class: int, center: int) -> list[str]:
    return [
        assignment(f"FRAME_{name}", frame_id),
        assignment(f"FRAME_{frame_id}_NAME", name),
        assignment(f"FRAME_{frame_id}_CLASS", frame_class),
        assignment(f"FRAME_{frame_id}_CLASS_ID", frame_id),
        assignment(f"FRAME_{frame_id}_CENTER", center),
    ]


def _keys(frame_id: int, items: Iterable[tuple[str, Value | Epoch | list[float]]], prefix: str = "FRAME") -> list[str]:
    return [assignment(f"{prefix}_{frame_id}_{key}", value) for key, value in items]


def _position(axis: str, observer: str, target: str) -> list[tuple[str, Value | list[float]]]:
    return [
        ("AXIS", axis),
        ("VECTOR_DEF", "OBSERVER_TARGET_POSITION"),
        ("OBSERVER", observer),
        ("TARGET", target),
        ("ABCORR", "NONE"),
    ]


def _constant(axis: str, frame: str, vector: list[float]) -> list[tuple[str, Value | list[float]]]:
    return [("AXIS", axis), ("VECTOR_DEF", "CONSTANT"), ("FRAME", frame), ("SPEC", "RECTANGULAR"), ("VECTOR", vector)]


def _two_vector(
    name: str,
    center: int,
    primary: list[tuple[str, Value | list[float]]],
    secondary: list[tuple[str, Value | list[float]]],
    freeze: Epoch | None = None,
) -> list[str]:
    frame_id = DYNAMIC_FRAME_IDS[name]
    items: list[tuple[str, Value | Epoch | list[float]]] = [
        ("RELATIVE", "J2000"),
        ("DEF_STYLE", "PARAMETERIZED"),
        ("FAMILY", "TWO-VECTOR"),
    ]
    if freeze is not None:
        items.append(("FREEZE_EPOCH", freeze))
    items += [(f"PRI_{key}", value) for key, value in primary]
    items += [(f"SEC_{key}", value) for key, value in secondary]
    return _frame(name, frame_id, 5, center) + _keys(frame_id, items)


def _ecliptic_of_date(name: str, center: int) -> list[str]:
    frame_id = DYNAMIC_FRAME_IDS[name]
    items: list[tuple[str, Value | Epoch | list[float]]] = [
        ("RELATIVE", "J2000"),
        ("DEF_STYLE", "PARAMETERIZED"),
        ("FAMILY", "MEAN_ECLIPTIC_AND_EQUINOX_OF_DATE"),
        ("PREC_MODEL", "EARTH_IAU_1976"),
        ("OBLIQ_MODEL", "EARTH_IAU_1980"),
        ("ROTATION_STATE", "ROTATING"),
    ]
    return _frame(name, frame_id, 5, center) + _keys(frame_id, items)


def science_frames() -> list[tuple[str, list[str]]]:
    """``(comment, assignments)`` sections of the science FK, one per frame."""
    sun, earth, solo = "SUN", "EARTH", "SOLO"
    aries_id = DYNAMIC_FRAME_IDS["SUN_ARIES_ECL"]
    aries = _frame("SUN_ARIES_ECL", aries_id, 4, 10) + _keys(
        aries_id,
        [
            ("RELATIVE", "SOLO_ECLIPDATE"),
            ("SPEC", "ANGLES"),
            ("ANGLES", [0.0, 0.0, 0.0]),
            ("AXES", [3, 2, 1]),
            ("UNITS", "DEGREES"),
        ],
        prefix="TKFRAME",
    )
    return [
        (
            "SOLO_ECLIPDATE: mean ecliptic and equinox of date (Earth-centred).",
            _ecliptic_of_date("SOLO_ECLIPDATE", 399),
        ),
        ("SUN_ARIES_ECL: Heliocentric Aries Ecliptic (axes of SOLO_ECLIPDATE, Sun-centred).", aries),
        (
            "SOLO_SUN_RTN: radial (Sun to spacecraft), tangential, normal.",
            _two_vector("SOLO_SUN_RTN", SOLO_ID, _position("X", sun, solo), _constant("Z", "IAU_SUN", _NORTH)),
        ),
        (
            "SOLO_HEE: Heliocentric Earth Ecliptic.",
            _two_vector("SOLO_HEE", 10, _position("X", sun, earth), _constant("Z", "SUN_ARIES_ECL", _NORTH)),
        ),
        (
            "SOLO_HCI: Heliocentric Inertial (solar equator, node on the J2000 ecliptic).",
            _two_vector(
                "SOLO_HCI",
                10,
                _constant("Z", "IAU_SUN", _NORTH),
                _constant("Y", "ECLIPJ2000", _NORTH),
                freeze=_J2000_EPOCH,
            ),
        ),
        (
            "SOLO_HEEQ: Heliocentric Earth Equatorial.",
            _two_vector("SOLO_HEEQ", 10, _constant("Z", "IAU_SUN", _NORTH), _position("X", sun, earth)),
        ),
        (
            "SUN_EARTH_CEQU: Stonyhurst heliographic (same axes as SOLO_HEEQ).",
            _two_vector("SUN_EARTH_CEQU", 10, _constant("Z", "IAU_SUN", _NORTH), _position("X", sun, earth)),
        ),
        (
            "EARTH_SUN_ECL: Geocentric Solar Ecliptic.",
            _two_vector("EARTH_SUN_ECL", 399, _position("X", earth, sun), _constant("Z", "SUN_ARIES_ECL", _NORTH)),
        ),
    ]


def spacecraft_frames() -> list[tuple[str, list[str]]]:
    """``(comment, assignments)`` sections of the spacecraft FK."""
    names = [
        assignment("NAIF_BODY_NAME", ["SOLO", "SOLO_STIX"], append=True),
        assignment("NAIF_BODY_CODE", [SOLO_ID, STIX_ID], append=True),
    ]
    srf = _frame("SOLO_SRF", SRF_ID, 3, SOLO_ID) + [
        assignment(f"CK_{SRF_ID}_SCLK", SOLO_ID),
        assignment(f"CK_{SRF_ID}_SPK", SOLO_ID),
        assignment(f"OBJECT_{SOLO_ID}_FRAME", "SOLO_SRF"),
    ]
    ils = _frame("SOLO_STIX_ILS", STIX_ILS_ID, 3, SOLO_ID) + [
        assignment(f"CK_{STIX_ILS_ID}_SCLK", SOLO_ID),
        assignment(f"CK_{STIX_ILS_ID}_SPK", SOLO_ID),
    ]
    opt = _frame("SOLO_STIX_OPT", STIX_OPT_ID, 4, SOLO_ID) + _keys(
        STIX_OPT_ID,
        [
            ("RELATIVE", "SOLO_STIX_ILS"),
            ("SPEC", "ANGLES"),
            ("ANGLES", [0.0, 0.0, 0.0]),
            ("AXES", [1, 2, 3]),
            ("UNITS", "DEGREES"),
        ],
        prefix="TKFRAME",
    )
    return [
        ("Names of Solar Orbiter and STIX.", names),
        (
            "SOLO_SRF: spacecraft reference frame, +X towards the heat shield (the Sun in nominal\n"
            "attitude), +Z towards the solar-north side in nominal attitude; orientation from CK.",
            srf,
        ),
        (
            "SOLO_STIX_ILS: STIX line-of-sight frame, +X away from the Sun, +Y = -SRF +Y,\n"
            "+Z = SRF +Z; orientation from CK (fixed offset to SOLO_SRF).",
            ils,
        ),
        ("SOLO_STIX_OPT: STIX optical frame, coincident with SOLO_STIX_ILS.", opt),
    ]


def spacecraft_fk_text(title: str) -> str:
    """Text of the spacecraft FK."""
    return text_kernel("FK", title, spacecraft_frames())


def science_fk_text(title: str) -> str:
    """Text of the science (heliospheric frames) FK."""
    return text_kernel("FK", title, science_frames())
