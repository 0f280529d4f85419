"""Two-body (Keplerian) orbits for the synthetic ephemerides, evaluated with numpy.

Orbital elements are given in a reference plane (the J2000 ecliptic or the solar equator) and the
states are returned in J2000 (ICRF equator and equinox), km and km/s. Position and velocity come
from the same closed-form solution, so they are consistent to rounding.

Public physical constants used (sources in the attribute docstrings): the astronomical unit, GM of
the Sun and of the Earth–Moon system (JPL DE440), the J2000 obliquity of the ecliptic (IAU 1976, as
SPICE's ``ECLIPJ2000``) and the IAU (WGCCRE) direction of the solar rotation axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Astronomical unit, km (IAU 2012 Resolution B2).
AU_KM = 149_597_870.7
#: GM of the Sun, km³/s² (JPL DE440).
GM_SUN = 1.32712440041279419e11
#: GM of the Earth–Moon barycentre (Earth + Moon), km³/s² (JPL DE440).
GM_EARTH_MOON = 4.03503235502e5
#: Obliquity of the ecliptic at J2000, rad (IAU 1976: 84381.448″; SPICE ``ECLIPJ2000``).
OBLIQUITY_J2000 = np.radians(84381.448 / 3600.0)
#: Right ascension and declination of the solar north rotation pole (IAU WGCCRE), deg.
SUN_POLE_RA_DEG = 286.13
SUN_POLE_DEC_DEG = 63.87
#: Seconds per day.
DAY = 86_400.0


def _rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def sun_pole_j2000() -> np.ndarray:
    """Unit vector of the solar rotation axis in J2000."""
    ra, dec = np.radians(SUN_POLE_RA_DEG), np.radians(SUN_POLE_DEC_DEG)
    return np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def ecliptic_to_j2000() -> np.ndarray:
    """Rotation matrix J2000 ecliptic → J2000 equator (columns: ecliptic axes in J2000)."""
    return _rot_x(OBLIQUITY_J2000)


def solar_equator_to_j2000() -> np.ndarray:
    """Rotation matrix solar-equatorial → J2000.

    The solar-equatorial frame has +Z along the solar rotation axis and +X towards the ascending
    node of the solar equator on the J2000 equator (the IAU convention for body-fixed frames).
    """
    pole = sun_pole_j2000()
    node = np.cross([0.0, 0.0, 1.0], pole)
    node /= np.linalg.norm(node)
    return np.column_stack([node, np.cross(pole, node), pole])


@dataclass(frozen=True)
class KeplerOrbit:
    """An elliptic two-body orbit.

    Attributes
    ----------
    semi_major_axis_km, eccentricity
        Size and shape (``0 <= e < 1``).
    inclination_deg, ascending_node_deg, argument_of_periapsis_deg
        Orientation relative to the reference plane given by ``plane``.
    mean_anomaly_deg
        Mean anomaly at ``epoch_et``.
    epoch_et
        Epoch of the elements, TDB seconds past J2000.
    gm
        Gravitational parameter of the two bodies, km³/s².
    plane
        ``"ecliptic"`` (J2000 ecliptic and equinox) or ``"solar_equator"`` (see
        :func:`solar_equator_to_j2000`).
    """

    semi_major_axis_km: float
    eccentricity: float
    inclination_deg: float
    ascending_node_deg: float
    argument_of_periapsis_deg: float
    mean_anomaly_deg: float
    epoch_et: float
    gm: float = GM_SUN
    plane: str = "ecliptic"

    def __post_init__(self) -> None:
        if not 0.0 <= self.eccentricity < 1.0:
            raise ValueError("only elliptic orbits (0 <= e < 1) are supported")
        if self.semi_major_axis_km <= 0 or self.gm <= 0:
            raise ValueError("semi-major axis and GM must be positive")
        if self.plane not in ("ecliptic", "solar_equator"):
            raise ValueError(f"unknown reference plane {self.plane!r}")

    @property
    def mean_motion(self) -> float:
        """Mean motion, rad/s."""
        return float(np.sqrt(self.gm / self.semi_major_axis_km**3))

    @property
    def period_s(self) -> float:
        """Orbital period, s."""
        return 2.0 * np.pi / self.mean_motion

    @property
    def perihelion_km(self) -> float:
        """Periapsis distance, km."""
        return self.semi_major_axis_km * (1.0 - self.eccentricity)

    @property
    def aphelion_km(self) -> float:
        """Apoapsis distance, km."""
        return self.semi_major_axis_km * (1.0 + self.eccentricity)

    def to_j2000(self) -> np.ndarray:
        """Rotation matrix perifocal frame → J2000."""
        plane = ecliptic_to_j2000() if self.plane == "ecliptic" else solar_equator_to_j2000()
        in_plane = (
            _rot_z(np.radians(self.ascending_node_deg))
            @ _rot_x(np.radians(self.inclination_deg))
            @ _rot_z(np.radians(self.argument_of_periapsis_deg))
        )
        return plane @ in_plane

    def eccentric_anomaly(self, et: ArrayLike) -> np.ndarray:
        """Eccentric anomaly (rad) at ET, solving Kepler's equation by Newton iteration."""
        times = np.asarray(et, dtype=np.float64)
        mean = np.radians(self.mean_anomaly_deg) + self.mean_motion * (times - self.epoch_et)
        mean = np.remainder(mean + np.pi, 2.0 * np.pi) - np.pi
        e = self.eccentricity
        anomaly = mean + e * np.sin(mean) if e < 0.8 else np.pi * np.sign(mean)
        for _ in range(50):
            step = (anomaly - e * np.sin(anomaly) - mean) / (1.0 - e * np.cos(anomaly))
            anomaly = anomaly - step
            if np.all(np.abs(step) < 1e-15):
                break
        return anomaly

    def states(self, et: ArrayLike) -> np.ndarray:
        """Position (km) and velocity (km/s) in J2000 relative to the central body.

        Parameters
        ----------
        et
            TDB seconds past J2000 (any shape).

        Returns
        -------
        numpy.ndarray
            Shape ``(*et.shape, 6)``.
        """
        anomaly = self.eccentric_anomaly(et)
        a, e, n = self.semi_major_axis_km, self.eccentricity, self.mean_motion
        cos_e, sin_e = np.cos(anomaly), np.sin(anomaly)
        root = np.sqrt(1.0 - e * e)
        rate = n / (1.0 - e * cos_e)  # dE/dt
        perifocal_r = np.stack([a * (cos_e - e), a * root * sin_e, np.zeros_like(cos_e)], axis=-1)
        perifocal_v = np.stack([-a * sin_e * rate, a * root * cos_e * rate, np.zeros_like(cos_e)], axis=-1)
        rotation = self.to_j2000()
        return np.concatenate([perifocal_r @ rotation.T, perifocal_v @ rotation.T], axis=-1)


def default_solar_orbiter_orbit() -> KeplerOrbit:
    """A Solar Orbiter-like orbit: perihelion 0.293 AU, aphelion 0.915 AU (period ≈ 171 d), 4° to the
    solar equator, perihelion passage at 2022-03-26T00:00 TDB. Synthetic, not the real trajectory."""
    perihelion, aphelion = 0.293 * AU_KM, 0.915 * AU_KM
    return KeplerOrbit(
        semi_major_axis_km=(perihelion + aphelion) / 2.0,
        eccentricity=(aphelion - perihelion) / (aphelion + perihelion),
        inclination_deg=4.0,
        ascending_node_deg=75.0,
        argument_of_periapsis_deg=20.0,
        mean_anomaly_deg=0.0,
        epoch_et=701_524_800.0,  # 2022-03-26T00:00:00 TDB
        gm=GM_SUN,
        plane="solar_equator",
    )


def default_earth_orbit() -> KeplerOrbit:
    """Earth (Earth–Moon barycentre) on its J2000 mean orbit: JPL approximate Keplerian elements of
    the EM barycentre at J2000 (a = 1.00000261 AU, e = 0.01671123, ϖ = 102.93768193°,
    L = 100.46457166°) in the J2000 ecliptic, inclination and node set to 0."""
    longitude_of_perihelion, mean_longitude = 102.93768193, 100.46457166
    return KeplerOrbit(
        semi_major_axis_km=1.00000261 * AU_KM,
        eccentricity=0.01671123,
        inclination_deg=0.0,
        ascending_node_deg=0.0,
        argument_of_periapsis_deg=longitude_of_perihelion,
        mean_anomaly_deg=mean_longitude - longitude_of_perihelion,
        epoch_et=0.0,
        gm=GM_SUN + GM_EARTH_MOON,
        plane="ecliptic",
    )
