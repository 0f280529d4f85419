"""Nominal Sun-pointing attitude of Solar Orbiter and the STIX instrument frame, as rotation matrices.

Conventions (SOC frames kernel descriptions):

* ``SOLO_SRF``: +X towards the heat shield, i.e. towards the Sun in nominal attitude; in the
  nominal (zero-roll) attitude +Z points to the solar-north side (+N of ``SOLO_SUN_RTN``) and
  +Y = −T, so SRF = RTN rotated 180° about +Z;
* ``SOLO_STIX_ILS``: +X anti-parallel to the Sun direction (away from the Sun), +Y anti-parallel to
  SRF +Y, +Z along SRF +Z — a fixed 180° rotation about SRF +Z. In nominal attitude ILS therefore
  coincides with RTN (roll/pitch/yaw of ILS against ``SOLO_SUN_RTN`` are zero, or the chosen roll).

``SOLO_SUN_RTN``: +R from the Sun to the spacecraft, +T = (solar rotation axis × R) normalised,
+N = R × T.

A matrix ``C`` here maps J2000 vectors into the body frame (a SPICE C-matrix): its rows are the body
axes expressed in J2000.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: SRF → STIX ILS: ILS axes in SRF coordinates (rows): X_ils = −X_srf, Y_ils = −Y_srf, Z_ils = Z_srf.
SRF_TO_STIX_ILS = np.diag([-1.0, -1.0, 1.0])


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def rtn_matrices(positions: ArrayLike, pole: ArrayLike) -> np.ndarray:
    """C-matrices J2000 → ``SOLO_SUN_RTN`` for spacecraft positions relative to the Sun.

    Parameters
    ----------
    positions
        ``(n, 3)`` Sun → spacecraft vectors in J2000.
    pole
        Solar rotation axis in J2000.

    Returns
    -------
    numpy.ndarray
        ``(n, 3, 3)``; rows R, T, N.
    """
    radial = _unit(np.asarray(positions, dtype=np.float64))
    tangential = _unit(np.cross(np.asarray(pole, dtype=np.float64), radial))
    normal = np.cross(radial, tangential)
    return np.stack([radial, tangential, normal], axis=-2)


def roll_matrix(roll_deg: float) -> np.ndarray:
    """Rotation (C-matrix form) by ``roll_deg`` about +X (positive right-handed)."""
    c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])


def srf_matrices(positions: ArrayLike, pole: ArrayLike, roll_deg: float = 0.0) -> np.ndarray:
    """C-matrices J2000 → ``SOLO_SRF`` for the nominal Sun-pointing attitude.

    Parameters
    ----------
    positions
        ``(n, 3)`` Sun → spacecraft vectors in J2000.
    pole
        Solar rotation axis in J2000.
    roll_deg
        Roll of the spacecraft about the Sun line, applied to the STIX ILS frame about its +X (so
        the ILS roll against ``SOLO_SUN_RTN`` is ``roll_deg``).

    Returns
    -------
    numpy.ndarray
        ``(n, 3, 3)``.
    """
    ils = roll_matrix(roll_deg) @ rtn_matrices(positions, pole)
    return SRF_TO_STIX_ILS.T @ ils


def stix_ils_matrices(srf: np.ndarray) -> np.ndarray:
    """C-matrices J2000 → ``SOLO_STIX_ILS`` from the SRF ones (fixed offset)."""
    return SRF_TO_STIX_ILS @ srf


def matrices_to_quaternions(matrices: np.ndarray) -> np.ndarray:
    """SPICE quaternions (scalar first, as ``m2q``) of rotation matrices, sign-continuous.

    Consecutive quaternions are given the same hemisphere (``q`` and ``−q`` are the same rotation),
    so that interpolation between CK records takes the short way.

    Parameters
    ----------
    matrices
        ``(n, 3, 3)`` rotation matrices.

    Returns
    -------
    numpy.ndarray
        ``(n, 4)``.
    """
    m = np.asarray(matrices, dtype=np.float64)
    trace = np.trace(m, axis1=-2, axis2=-1)
    # the four candidate squared components (SPICE m2q convention: q = (c, s1, s2, s3), with
    # m = I + 2c[s]x + 2[s]x^2 for the rotation that maps vectors, so m[2,1]-m[1,2] = 4 c s1)
    squares = np.stack(
        [
            1.0 + trace,
            1.0 + 2.0 * m[:, 0, 0] - trace,
            1.0 + 2.0 * m[:, 1, 1] - trace,
            1.0 + 2.0 * m[:, 2, 2] - trace,
        ],
        axis=-1,
    )
    best = np.argmax(squares, axis=-1)
    q = np.empty((len(m), 4))
    rows = np.arange(len(m))
    big = np.sqrt(squares[rows, best]) / 2.0  # the largest |component|
    s01, s02, s12 = m[:, 1, 0] + m[:, 0, 1], m[:, 2, 0] + m[:, 0, 2], m[:, 2, 1] + m[:, 1, 2]
    d0, d1, d2 = m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]
    four = 4.0 * big
    candidates = {
        0: np.stack([big, d0 / four, d1 / four, d2 / four], axis=-1),
        1: np.stack([d0 / four, big, s01 / four, s02 / four], axis=-1),
        2: np.stack([d1 / four, s01 / four, big, s12 / four], axis=-1),
        3: np.stack([d2 / four, s02 / four, s12 / four, big], axis=-1),
    }
    for index, values in candidates.items():
        chosen = best == index
        q[chosen] = values[chosen]
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    signs = np.ones(len(q))
    if len(q) > 1:
        flips = np.einsum("ij,ij->i", q[1:], q[:-1]) < 0
        signs[1:] = np.where(np.cumsum(flips) % 2 == 1, -1.0, 1.0)
    return q * signs[:, None]
