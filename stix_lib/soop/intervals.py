"""Overlap search over a static set of closed time intervals, with numpy only.

Entries are sorted by start; the running maximum of the ends over that order is non-decreasing,
so the candidates that can overlap ``[start, end]`` form a contiguous slice found with two binary
searches, after which one vectorised comparison removes the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


class IntervalIndex(Generic[T]):
    """Items with closed ``[start, end]`` intervals (``datetime64``), queried by overlap.

    Parameters
    ----------
    starts, ends
        Interval bounds, one per item (``end >= start``).
    items
        The payloads returned by queries.
    """

    def __init__(self, starts: Sequence[np.datetime64], ends: Sequence[np.datetime64], items: Sequence[T]) -> None:
        if not (len(starts) == len(ends) == len(items)):
            raise ValueError("starts, ends and items must have the same length")
        start_array = np.asarray(starts, dtype="datetime64[ms]")
        end_array = np.asarray(ends, dtype="datetime64[ms]")
        order = np.argsort(start_array, kind="stable")
        self._starts = start_array[order]
        self._ends = end_array[order]
        self._items = [items[i] for i in order]
        self._max_end = np.maximum.accumulate(self._ends) if len(order) else self._ends

    def __len__(self) -> int:
        return len(self._items)

    def overlapping(self, start: np.datetime64, end: np.datetime64 | None = None) -> list[T]:
        """Items whose interval overlaps ``[start, end]`` (a point query when ``end`` is None).

        Touching intervals count (closed bounds). Results are in start order.
        """
        if not self._items:
            return []
        lo_time = np.datetime64(start).astype("M8[ms]")
        hi_time = lo_time if end is None else np.datetime64(end).astype("M8[ms]")
        if hi_time < lo_time:
            lo_time, hi_time = hi_time, lo_time
        first = int(np.searchsorted(self._max_end, lo_time, side="left"))
        last = int(np.searchsorted(self._starts, hi_time, side="right"))
        if first >= last:
            return []
        window = slice(first, last)
        hits = np.nonzero(self._ends[window] >= lo_time)[0] + first
        return [self._items[i] for i in hits]
