"""Trigger descaling for triggers compressed with scheme (0, 0, 7).

With that scheme the instrument stores ``T_s = floor(T / (factor * n_int * n_groups))``: ``n_int``
is the integration time in units of 0.1 s and ``n_groups`` the number of trigger accumulators
summed into the value. On ground each value becomes the centre of its interval,
``T = T_s * norm + norm / 2`` with ``norm = factor * n_int * n_groups``, and its variance
``(norm / 2) ** 2`` (the compression error of the scaled value is replaced by this).

The 16 trigger accumulators each serve two detectors (1-based pairs in :data:`TRIGGER_GROUPS`);
an accumulator is active when at least one of its detectors is in the detector mask. Quick-look
light curves sum all active accumulators; the background detector (0-based detector 9) uses one
accumulator; quick-look spectra carry one accumulator per detector entry (``n_groups = 1``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: The two detectors (1-based) of each trigger accumulator.
TRIGGER_GROUPS: tuple[tuple[int, int], ...] = (
    (1, 2), (6, 7), (5, 11), (12, 13), (14, 15), (10, 16), (8, 9), (3, 4),
    (31, 32), (26, 27), (22, 28), (20, 21), (18, 19), (17, 23), (24, 25), (29, 30),
)  # fmt: skip

SCALED_SCHEME = (0, 0, 7)

_GROUP_INDEX = np.array(TRIGGER_GROUPS, dtype=np.int64) - 1


def active_groups(detector_masks: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Number of active trigger accumulators per ``(n, 32)`` detector mask row."""
    masks = np.asarray(detector_masks).reshape(-1, 32).astype(bool)
    return masks[:, _GROUP_INDEX].any(axis=2).sum(axis=1).astype(np.int64)


def is_scaled(skm: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True for rows of an ``(n, 3)`` scheme array equal to (0, 0, 7)."""
    return np.all(np.asarray(skm).reshape(-1, 3) == SCALED_SCHEME, axis=1)


def unscale(
    scaled: npt.ArrayLike, *, n_groups: npt.ArrayLike, n_int: npt.ArrayLike, factor: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Descaled triggers and their variance (arguments broadcast against ``scaled``)."""
    norm = np.asarray(n_groups, dtype=np.float64) * np.asarray(n_int, dtype=np.float64) * float(factor)
    values = np.asarray(scaled, dtype=np.float64) * norm + 0.5 * norm
    variance = np.broadcast_to((0.5 * norm) ** 2, values.shape).astype(np.float64)
    return values, variance
