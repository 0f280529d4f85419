"""Synthetic CK (attitude) kernels written as type 3 segments (linear quaternion interpolation).

Records are placed on the spacecraft clock (encoded SCLK ticks) computed by the caller with the
same clock model as the SCLK kernel, and are given relative to ``J2000``; no kernel has to be loaded
into SPICE to write them. One interpolation interval spans each segment, so SPICE interpolates
everywhere between the first and last record. Angular velocities are not stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import spiceypy

from stix_lib.dev.synthetic_kernels.attitude import matrices_to_quaternions
from stix_lib.dev.synthetic_kernels.daf import open_daf

#: Largest number of records put in one segment.
MAX_RECORDS_PER_SEGMENT = 20_000


@dataclass(frozen=True)
class CkSegment:
    """Orientation of one CK frame (instrument id) relative to ``frame``.

    Attributes
    ----------
    instrument
        CK id (e.g. −144000 for ``SOLO_SRF``, −144851 for ``SOLO_STIX_ILS``).
    frame
        Reference frame of the C-matrices (built-in, e.g. ``J2000``).
    ticks
        Strictly increasing encoded SCLK of the records.
    matrices
        ``(n, 3, 3)`` C-matrices (reference frame → instrument frame).
    segment_id
        Segment name (at most 40 characters).
    """

    instrument: int
    frame: str
    ticks: np.ndarray
    matrices: np.ndarray
    segment_id: str


def _write_segment(handle: int, instrument: int, frame: str, ticks: np.ndarray, quats: np.ndarray, name: str) -> None:
    spiceypy.ckw03(
        handle,
        float(ticks[0]),
        float(ticks[-1]),
        instrument,
        frame,
        False,
        name,
        len(ticks),
        np.ascontiguousarray(ticks, dtype=np.float64),
        np.ascontiguousarray(quats, dtype=np.float64),
        np.zeros((len(ticks), 3)),
        1,
        np.array([ticks[0]], dtype=np.float64),
    )


def write_ck(path: Path, segments: Sequence[CkSegment], internal_name: str, comments: str) -> None:
    """Write a CK file (atomically) holding the given segments.

    Long segments are split into pieces of at most :data:`MAX_RECORDS_PER_SEGMENT` records sharing
    their boundary record.

    Raises
    ------
    ValueError
        If a segment has fewer than two records or ticks that do not increase strictly.
    """
    with open_daf(path, spiceypy.ckopn, internal_name, comments) as handle:
        for segment in segments:
            ticks = np.asarray(segment.ticks, dtype=np.float64)
            if len(ticks) < 2 or np.any(np.diff(ticks) <= 0):
                raise ValueError("a CK segment needs at least two records with increasing ticks")
            quats = matrices_to_quaternions(segment.matrices)
            for begin in range(0, max(len(ticks) - 1, 1), MAX_RECORDS_PER_SEGMENT - 1):
                stop = min(begin + MAX_RECORDS_PER_SEGMENT, len(ticks))
                _write_segment(
                    handle, segment.instrument, segment.frame, ticks[begin:stop], quats[begin:stop], segment.segment_id
                )
