"""On-board time (OBT float seconds) -> UTC, for product naming, splitting and headers.

:class:`SpiceClock` converts with the Solar Orbiter clock kernels (L1 needs it). Without kernels
:class:`NominalClock` uses the project's one nominal clock (:mod:`stix_lib.time.nominal_clock`:
SCET 0 = 2000-01-01T00:00:00 UTC, leap seconds counted, no drift; seconds to minutes off the real
clock); it only serves where a rough date is enough, i.e. choosing the energy channel table of an
L0 file when no kernels are available (L1 made with it is held back by the publish gate).
"""

from __future__ import annotations

import bisect
from typing import Protocol

import numpy as np
import numpy.typing as npt

from stix_lib.spice.clock import format_utc
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.time.nominal_clock import obt_seconds_to_utc
from stix_lib.time.scet import SCETime, scet_from_float


class ObtClock(Protocol):
    """OBT -> UTC conversion."""

    def to_datetime64(self, obt: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """UTC ``datetime64[ns]`` of OBT float seconds."""
        ...  # pragma: no cover - protocol


def utc_span(clock: ObtClock, start: float, end: float) -> tuple[list[str], np.datetime64]:
    """``DATE-BEG``, ``DATE-AVG`` and ``DATE-END`` of a product spanning OBT ``start..end``.

    The centre is the midpoint of the UTC start and end (what STIXCore writes: the centre of the
    UTC time range), not the UTC of the OBT midpoint; the two differ where the clock kernel
    changes rate within the product. Strings are ISO with milliseconds, rounded half up.

    Returns
    -------
    iso, centre
        The three ISO strings, and the centre as ``datetime64[ns]`` (for the SPICE keywords).
    """
    begin, finish = clock.to_datetime64(np.array([start, end], dtype=np.float64))
    centre = begin + (finish - begin) // 2
    return [str(text) for text in format_utc(np.array([begin, centre, finish]), 3)], centre


def _scet(obt: npt.ArrayLike) -> SCETime:
    return SCETime(*scet_from_float(obt))


#: Conversions of at most this many values at a time are remembered by :class:`SpiceClock`.
MEMO_VALUES = 8
#: Remembered conversions at most (the memo starts afresh beyond).
MEMO_SIZE = 4096
#: Seconds an OBT must lie from a remembered UTC midnight to be given a day without SPICE.
MIDNIGHT_MARGIN = 2.0


class SpiceClock:
    """OBT -> UTC with SPICE (kernels loaded on demand).

    A run converts the same few times again and again (the start of a product for its energy
    table, its name, its header; the ends for the UTC day split): conversions of a few values are
    remembered, per load of the kernels (:attr:`SpiceKernels.generation`), as the exact result
    SPICE gave. Keep one object for a run.
    """

    def __init__(self, kernels: SpiceKernels) -> None:
        self.kernels = kernels
        self._memo: dict[float, int] = {}  # OBT -> UTC ns since 1970
        self._midnights: dict[int, float] = {}  # UTC day (days since 1970) -> OBT of its midnight
        self._sorted_midnights: tuple[list[float], list[int]] | None = None  # the same, in time order
        self._generation = kernels.generation

    def to_datetime64(self, obt: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """UTC ``datetime64[ns]`` of OBT float seconds."""
        values = np.asarray(obt, dtype=np.float64)
        if values.size > MEMO_VALUES:
            return self.kernels.scet_to_datetime64(_scet(values))
        keys = values.ravel().tolist()
        memo = self._memo
        missing = list(dict.fromkeys(key for key in keys if key not in memo))
        converted = None
        if missing:
            times = _scet(np.array(missing, dtype=np.float64))  # bad values fail before SPICE
            converted = self.kernels.scet_to_datetime64(times)  # loads the kernels when needed
        else:
            self.kernels.ensure_loaded()
        if self._generation != self.kernels.generation or len(memo) > MEMO_SIZE:
            memo.clear()
            self._midnights.clear()
            self._sorted_midnights = None
            self._generation = self.kernels.generation
            if len(missing) < len(set(keys)):  # values remembered from other kernels: converted again
                missing = list(dict.fromkeys(keys))
                converted = self.kernels.scet_to_datetime64(_scet(np.array(missing, dtype=np.float64)))
        if converted is not None:
            memo.update(zip(missing, converted.astype(np.int64).tolist(), strict=True))
        return np.array([memo[key] for key in keys], dtype="datetime64[ns]").reshape(values.shape)

    def to_iso(self, obt: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """ISO UTC strings with milliseconds (SPICE ``et2utc``)."""
        return self.kernels.scet_to_utc_iso(_scet(obt), 3)

    def utc_days(self, obt: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """UTC calendar day (``datetime64[D]``) of each OBT value.

        Only the first and last time and the OBT of each UTC midnight in between are converted
        with SPICE (the clock is monotonic), so long products cost a few SPICE calls, not one
        per row.
        """
        times = np.asarray(obt, dtype=np.float64)
        if not times.size:
            return np.zeros(0, dtype="datetime64[D]")
        inside = self._between_known_midnights(float(times.min()), float(times.max()))
        if inside is not None:
            first, obt_midnights = inside
            if not len(obt_midnights):
                return np.full(times.shape, first)
            return first + np.searchsorted(obt_midnights, times, side="right").astype("timedelta64[D]")
        ends = self.to_datetime64(np.array([times.min(), times.max()])).astype("datetime64[D]")
        first, last = ends[0], ends[1]
        if first == last:
            return np.full(times.shape, first)
        days = np.arange(first + 1, last + 1)
        known = self._midnights  # valid for the kernels to_datetime64 has just checked
        numbers = days.astype(np.int64).tolist()
        if not all(number in known for number in numbers):
            if len(known) > MEMO_SIZE:
                known.clear()
            boundaries = self.kernels.datetime64_to_scet(days.astype("datetime64[ns]"))
            obt = np.asarray(boundaries.as_float(), dtype=np.float64)  # float form, as the times
            known.update(zip(numbers, obt.tolist(), strict=True))
            self._sorted_midnights = None
        obt_midnights = np.array([known[number] for number in numbers], dtype=np.float64)
        return first + np.searchsorted(obt_midnights, times, side="right").astype("timedelta64[D]")

    def _between_known_midnights(self, low: float, high: float) -> tuple[np.datetime64, np.ndarray] | None:
        """UTC day of ``low`` and the OBT of the midnights up to ``high``, from remembered midnights only.

        ``None`` unless both ends lie more than :data:`MIDNIGHT_MARGIN` inside remembered days
        (every midnight in between remembered): then the clock being monotonic, they fall on the days
        SPICE would give them.
        """
        if not (np.isfinite(low) and np.isfinite(high)) or not self._midnights:
            return None
        if self._sorted_midnights is None:
            days = sorted(self._midnights)
            self._sorted_midnights = ([self._midnights[day] for day in days], days)
        obt, days = self._sorted_midnights
        start = bisect.bisect_right(obt, low - MIDNIGHT_MARGIN) - 1  # the midnight opening low's day
        end = bisect.bisect_right(obt, high - MIDNIGHT_MARGIN) - 1
        if start < 0 or end + 1 >= len(obt) or days[end] - days[start] != end - start:
            return None
        if days[end + 1] != days[end] + 1 or obt[end + 1] < high + MIDNIGHT_MARGIN:
            return None
        if days[start + 1] != days[start] + 1 or obt[start + 1] < low + MIDNIGHT_MARGIN:
            return None
        self.kernels.ensure_loaded()
        if self._generation != self.kernels.generation:
            return None  # remembered with other kernels (to_datetime64 forgets them)
        first = np.datetime64(days[start], "D")
        return first, np.array(obt[start + 1 : end + 1], dtype=np.float64)


class NominalClock:
    """OBT -> UTC on the nominal clock (:mod:`stix_lib.time.nominal_clock`), for runs without kernels."""

    def to_datetime64(self, obt: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """Nominal UTC ``datetime64[ns]``."""
        return obt_seconds_to_utc(obt)
