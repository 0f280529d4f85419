"""Text PCK with the Sun and Earth constants the kernel set needs (``IAU_SUN``, ``IAU_EARTH``).

Values are the public IAU WGCCRE rotation models and nominal radii:

* Sun: pole RA 286.13°, Dec 63.87° (fixed), prime meridian W = 84.176° + 14.1844°/day · d
  (d = days from J2000 TDB); nominal radius 695 700 km (IAU 2015 Resolution B3);
* Earth: pole RA = 0° − 0.641°·T, Dec = 90° − 0.557°·T (T = Julian centuries), W = 190.147° +
  360.9856235°/day · d; radii 6378.1366 / 6356.7519 km;
* GM of the Sun and of the Earth (JPL DE440), for programs that want them.

``IAU_SUN`` defines the solar rotation axis used by the heliospheric frames and the Carrington
longitudes (CRLN_OBS).
"""

from __future__ import annotations

from stix_lib.dev.synthetic_kernels.orbits import GM_SUN, SUN_POLE_DEC_DEG, SUN_POLE_RA_DEG
from stix_lib.dev.synthetic_kernels.textkernel import assignment, text_kernel

#: Nominal solar radius, km (IAU 2015 B3).
SUN_RADIUS_KM = 695_700.0
#: Earth equatorial and polar radii, km (IAU WGCCRE).
EARTH_RADII_KM = (6378.1366, 6378.1366, 6356.7519)
#: GM of the Earth, km³/s² (JPL DE440).
GM_EARTH = 398_600.435507


def pck_text(title: str) -> str:
    """Text of the PCK."""
    sun = [
        assignment("BODY10_RADII", [SUN_RADIUS_KM] * 3),
        assignment("BODY10_POLE_RA", [SUN_POLE_RA_DEG, 0.0, 0.0]),
        assignment("BODY10_POLE_DEC", [SUN_POLE_DEC_DEG, 0.0, 0.0]),
        assignment("BODY10_PM", [84.176, 14.1844, 0.0]),
        assignment("BODY10_LONG_AXIS", 0.0),
        assignment("BODY10_GM", GM_SUN),
    ]
    earth = [
        assignment("BODY399_RADII", list(EARTH_RADII_KM)),
        assignment("BODY399_POLE_RA", [0.0, -0.641, 0.0]),
        assignment("BODY399_POLE_DEC", [90.0, -0.557, 0.0]),
        assignment("BODY399_PM", [190.147, 360.9856235, 0.0]),
        assignment("BODY399_LONG_AXIS", 0.0),
        assignment("BODY399_GM", GM_EARTH),
    ]
    return text_kernel(
        "PCK",
        title,
        [
            ("Sun: radii (km), pole RA/Dec (deg, deg/century), prime meridian (deg, deg/day), GM.", sun),
            ("Earth: radii (km), pole RA/Dec (deg, deg/century), prime meridian (deg, deg/day), GM.", earth),
        ],
    )
