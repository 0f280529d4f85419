"""Synthetic SPK (ephemeris) kernels written as type 13 (Hermite, unequal steps) segments.

Type 13 interpolates position *and* velocity with Hermite polynomials, so the velocities of the
Keplerian model are used, not differentiated. With the default one-hour step and degree 7 the
interpolation error of the Solar Orbiter-like orbit (perihelion 0.29 AU) is far below a metre
(checked by the tests against the analytic states).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import spiceypy

from stix_lib.dev.synthetic_kernels.daf import open_daf

#: Hermite polynomial degree of the segments (odd, 1..27).
HERMITE_DEGREE = 7
#: Largest number of states put in one segment (SPICE has no hard limit; this keeps segments small).
MAX_STATES_PER_SEGMENT = 10_000


@dataclass(frozen=True)
class SpkSegment:
    """States of one body relative to a centre, for one type 13 segment.

    Attributes
    ----------
    body, center
        NAIF ids.
    frame
        Reference frame name of the states (built-in, e.g. ``J2000``).
    epochs
        Strictly increasing TDB seconds past J2000.
    states
        ``(n, 6)`` km and km/s.
    segment_id
        Segment name (at most 40 characters).
    degree
        Hermite degree (odd; reduced automatically when there are few states).
    """

    body: int
    center: int
    frame: str
    epochs: np.ndarray
    states: np.ndarray
    segment_id: str
    degree: int = HERMITE_DEGREE


def sample_epochs(first: float, last: float, step: float) -> np.ndarray:
    """``first, first + step, …`` up to and including ``last`` (``last`` is always a sample).

    A regular sample closer than ``step / 10`` to ``last`` is dropped so that no interval is tiny.
    """
    if not last > first:
        raise ValueError("the time range must not be empty")
    if step <= 0:
        raise ValueError("the sampling step must be positive")
    count = int(np.floor((last - first) / step))
    grid = first + step * np.arange(count + 1, dtype=np.float64)
    grid = grid[grid < last - step / 10.0]
    return np.append(grid, last)


def _write_segment(handle: int, segment: SpkSegment) -> None:
    epochs = np.asarray(segment.epochs, dtype=np.float64)
    states = np.ascontiguousarray(segment.states, dtype=np.float64)
    if states.shape != (len(epochs), 6) or len(epochs) < 2:
        raise ValueError("an SPK segment needs at least two epochs and (n, 6) states")
    if np.any(np.diff(epochs) <= 0):
        raise ValueError("SPK epochs must increase strictly")
    degree = min(segment.degree, 2 * len(epochs) - 1)
    degree -= 1 - degree % 2  # keep it odd
    spiceypy.spkw13(
        handle,
        segment.body,
        segment.center,
        segment.frame,
        float(epochs[0]),
        float(epochs[-1]),
        segment.segment_id,
        degree,
        len(epochs),
        states,
        epochs,
    )


def write_spk(path: Path, segments: Sequence[SpkSegment], internal_name: str, comments: str) -> None:
    """Write an SPK file (atomically) holding the given segments.

    Long segments are split into pieces of at most :data:`MAX_STATES_PER_SEGMENT` states that share
    their boundary epoch, so coverage stays continuous.

    Parameters
    ----------
    path
        Output file.
    segments
        Segments in the order to write them.
    internal_name
        DAF internal file name (≤ 60 characters).
    comments
        Comment area text.
    """
    with open_daf(path, spiceypy.spkopn, internal_name, comments) as handle:
        for segment in segments:
            size = len(segment.epochs)
            starts = list(range(0, max(size - 1, 1), MAX_STATES_PER_SEGMENT - 1))
            for begin in starts:
                stop = min(begin + MAX_STATES_PER_SEGMENT, size)
                piece = SpkSegment(
                    segment.body,
                    segment.center,
                    segment.frame,
                    segment.epochs[begin:stop],
                    segment.states[begin:stop],
                    segment.segment_id,
                    segment.degree,
                )
                _write_segment(handle, piece)
