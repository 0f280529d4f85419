"""Spacecraft elapsed time (SCET / OBT): a 32-bit coarse count of seconds and a 16-bit fine count.

Design
------
Plain functions work on ``(coarse, fine)`` numpy arrays; :class:`SCETime`, :class:`SCETimeDelta`
and :class:`SCETimeRange` are thin, immutable wrappers around them that keep the two arrays
together and add checked arithmetic. Everything is vectorised: a "scalar" is a 0-d array.

Conventions (fixed by the STIX products, keep them):

* binary form ``btime = (coarse << 16) + fine`` (int64) — used for ordering and arithmetic;
* float form ``coarse + fine / 65535`` seconds (**65535**, not 65536) — header floats such as
  ``OBT_BEG`` use it, and :func:`scet_from_float` inverts it with ``round(65535 * fraction)``;
* string form ``"%010d:%05d"`` (the separator is selectable, e.g. ``"f"`` for file names);
* ``time_sync = (coarse >> 31) != 1``: the top coarse bit set means "not synchronised"
  (the coarse value is not masked).

The conversion to UTC needs the spacecraft clock kernel and lives in :mod:`stix_lib.spice`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import astropy.units as u

MAX_COARSE = 2**32 - 1
MAX_FINE = 2**16 - 1
#: Denominator of the float form (fine / 65535).
FINE_FLOAT_SCALE = 65535
#: Fine ticks per coarse second in the binary form.
FINE_TICKS = 2**16
MAX_BTIME = (MAX_COARSE << 16) + MAX_FINE
SECONDS_PER_DAY = 86400

__all__ = [
    "FINE_FLOAT_SCALE",
    "MAX_COARSE",
    "MAX_FINE",
    "SCETime",
    "SCETimeDelta",
    "SCETimeRange",
    "scet_from_btime",
    "scet_from_float",
    "scet_from_string",
    "scet_to_btime",
    "scet_to_float",
    "scet_to_string",
    "time_sync",
]


def _integers(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.size == 0 and array.dtype.kind in "fiub":  # e.g. SCETime([], [])
        return array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got {array.dtype}")
    return array.astype(np.int64)


def _check_range(array: np.ndarray, low: int, high: int, name: str) -> None:
    if array.size and (array.min() < low or array.max() > high):
        raise ValueError(f"{name} out of range [{low}, {high}]")


# --------------------------------------------------------------------------------------------
# plain array functions


def scet_to_btime(coarse: ArrayLike, fine: ArrayLike) -> np.ndarray:
    """Binary form ``(coarse << 16) + fine`` as int64."""
    return (np.asarray(coarse, dtype=np.int64) << 16) + np.asarray(fine, dtype=np.int64)


def scet_from_btime(btime: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Split a non-negative binary time into ``(coarse uint32, fine uint16)``.

    Raises
    ------
    ValueError
        If a value is outside ``[0, (2**32 - 1) << 16 | 65535]``.
    """
    value = _integers(btime, "btime")
    _check_range(value, 0, MAX_BTIME, "SCET")
    return (value >> 16).astype(np.uint32), (value & 0xFFFF).astype(np.uint16)


def scet_to_float(coarse: ArrayLike, fine: ArrayLike) -> np.ndarray:
    """Float seconds ``coarse + fine / 65535``."""
    return np.asarray(coarse, dtype=np.float64) + np.asarray(fine, dtype=np.float64) / FINE_FLOAT_SCALE


def scet_from_float(seconds: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`scet_to_float`: ``coarse = floor(s)``, ``fine = round(65535 * frac)``.

    Not an exact inverse: ``fine = 65535`` floats to the next whole second (and the very last
    time ``4294967295:65535`` to ``2**32`` s, which is out of range).

    Raises
    ------
    ValueError
        For negative, non-finite or too large values.
    """
    value = np.asarray(seconds, dtype=np.float64)
    if not np.all(np.isfinite(value)):
        raise ValueError("SCET float must be finite")
    coarse = np.floor(value)
    fine = np.round((value - coarse) * FINE_FLOAT_SCALE)
    _check_range(coarse, 0, MAX_COARSE, "SCET coarse")
    return coarse.astype(np.uint32), fine.astype(np.uint16)


def scet_to_string(coarse: ArrayLike, fine: ArrayLike, sep: str = ":") -> np.ndarray:
    """``"%010d<sep>%05d"`` for every element (array of str, same shape)."""
    c, f = np.broadcast_arrays(np.asarray(coarse, dtype=np.int64), np.asarray(fine, dtype=np.int64))
    text = [f"{a:010d}{sep}{b:05d}" for a, b in zip(c.ravel().tolist(), f.ravel().tolist(), strict=True)]
    return np.array(text, dtype=str).reshape(c.shape)


def scet_from_string(text: str | Iterable[str], sep: str = ":") -> tuple[np.ndarray, np.ndarray]:
    """Parse ``"coarse<sep>fine"`` strings (a missing fine part means 0).

    Raises
    ------
    ValueError
        For malformed strings or values out of range.
    """
    items = np.asarray(text, dtype=str)
    coarse = np.empty(items.shape, dtype=np.int64)
    fine = np.empty(items.shape, dtype=np.int64)
    for index, item in np.ndenumerate(items):
        head, _, tail = str(item).strip().partition(sep)
        try:
            coarse[index] = int(head)
            fine[index] = int(tail) if tail else 0
        except ValueError as exc:
            raise ValueError(f"not an SCET string: {item!r}") from exc
    _check_range(coarse, 0, MAX_COARSE, "SCET coarse")
    _check_range(fine, 0, MAX_FINE, "SCET fine")
    return coarse.astype(np.uint32), fine.astype(np.uint16)


def time_sync(coarse: ArrayLike) -> np.ndarray:
    """True where the clock was synchronised: ``(coarse >> 31) != 1``."""
    return (np.asarray(coarse, dtype=np.uint32) >> 31) != 1


# --------------------------------------------------------------------------------------------
# wrappers


def _is_quantity(value: object) -> bool:
    """True for an astropy Quantity (none exists before astropy.units is imported: no import here)."""
    units = sys.modules.get("astropy.units")
    return units is not None and isinstance(value, units.Quantity)


def _seconds(quantity: u.Quantity) -> np.ndarray:
    import astropy.units as u

    return np.asarray(quantity.to_value(u.s), dtype=np.float64)


class _TimeBase:
    """Shared container behaviour: shape, indexing, comparison on ``btime``."""

    __slots__ = ()
    __array_ufunc__ = None  # make numpy/astropy operands defer to our reflected operators
    __hash__ = None  # type: ignore[assignment]

    @property
    def btime(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def _from_btime(cls, btime: np.ndarray) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        return self.btime.shape

    @property
    def size(self) -> int:
        return int(self.btime.size)

    @property
    def ndim(self) -> int:
        return self.btime.ndim

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError(f"len() of a scalar {type(self).__name__}")
        return self.shape[0]

    def __getitem__(self, item: Any) -> Any:
        return self._from_btime(self.btime[item])

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def _other_btime(self, other: object) -> np.ndarray | None:
        return other.btime if type(other) is type(self) else None

    def _compare(self, other: object, op) -> Any:
        theirs = self._other_btime(other)
        if theirs is None:
            return NotImplemented
        return op(self.btime, theirs)

    def __eq__(self, other: object) -> Any:
        return self._compare(other, np.equal)

    def __ne__(self, other: object) -> Any:
        return self._compare(other, np.not_equal)

    def __lt__(self, other: object) -> Any:
        return self._compare(other, np.less)

    def __le__(self, other: object) -> Any:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: object) -> Any:
        return self._compare(other, np.greater)

    def __ge__(self, other: object) -> Any:
        return self._compare(other, np.greater_equal)

    def min(self) -> Any:
        """Earliest element (scalar)."""
        return self._from_btime(self.btime.min())

    def max(self) -> Any:
        """Latest element (scalar)."""
        return self._from_btime(self.btime.max())

    def argsort(self) -> np.ndarray:
        """Indices that sort the elements (stable)."""
        return np.argsort(self.btime, kind="stable")

    def reshape(self, *shape: int) -> Any:
        return self._from_btime(self.btime.reshape(*shape))


class SCETime(_TimeBase):
    """Spacecraft time(s): ``coarse`` (uint32 s) and ``fine`` (uint16, 1/65536 s ticks).

    Parameters
    ----------
    coarse, fine
        Integers (scalars or arrays, broadcast together). Floats are refused: use
        :meth:`from_float` for float seconds.

    Raises
    ------
    ValueError
        Non-integer input, coarse outside ``[0, 2**32 - 1]`` or fine outside ``[0, 65535]``.

    Examples
    --------
    >>> t = SCETime(1, 32768)
    >>> float(t.as_float())
    1.5000076295109483
    >>> t.to_string()
    '0000000001:32768'
    """

    __slots__ = ("_coarse", "_fine")

    def __init__(self, coarse: ArrayLike, fine: ArrayLike = 0) -> None:
        c = _integers(coarse, "coarse")
        f = _integers(fine, "fine")
        _check_range(c, 0, MAX_COARSE, "coarse")
        _check_range(f, 0, MAX_FINE, "fine")
        c, f = np.broadcast_arrays(c, f)
        self._coarse = c.astype(np.uint32)
        self._fine = f.astype(np.uint16)

    # construction ----------------------------------------------------------------------------
    @classmethod
    def _from_btime(cls, btime: ArrayLike) -> SCETime:
        coarse, fine = scet_from_btime(btime)
        return cls(coarse, fine)

    @classmethod
    def from_btime(cls, btime: ArrayLike) -> SCETime:
        """From the binary form ``(coarse << 16) + fine``."""
        return cls._from_btime(btime)

    @classmethod
    def from_float(cls, seconds: ArrayLike | u.Quantity) -> SCETime:
        """From float seconds (``fine = round(65535 * fraction)``); a time Quantity is accepted."""
        if _is_quantity(seconds):
            seconds = _seconds(seconds)
        return cls(*scet_from_float(seconds))

    @classmethod
    def from_string(cls, text: str | Iterable[str], sep: str = ":") -> SCETime:
        """From ``"coarse<sep>fine"`` string(s)."""
        return cls(*scet_from_string(text, sep=sep))

    @classmethod
    def min_time(cls) -> SCETime:
        """The earliest representable time ``0:0``."""
        return cls(0, 0)

    @classmethod
    def max_time(cls) -> SCETime:
        """The latest representable time ``4294967295:65535``."""
        return cls(MAX_COARSE, MAX_FINE)

    @classmethod
    def concatenate(cls, times: Iterable[SCETime]) -> SCETime:
        """Join times (each flattened) into one 1-d array."""
        parts = [t.btime.ravel() for t in times]
        return cls._from_btime(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))

    # views -----------------------------------------------------------------------------------
    @property
    def coarse(self) -> np.ndarray:
        """Coarse seconds (uint32)."""
        return self._coarse

    @property
    def fine(self) -> np.ndarray:
        """Fine ticks (uint16)."""
        return self._fine

    @property
    def btime(self) -> np.ndarray:
        """Binary form ``(coarse << 16) + fine`` (int64)."""
        return scet_to_btime(self._coarse, self._fine)

    @property
    def time_sync(self) -> np.ndarray:
        """True where the clock was synchronised (top coarse bit clear)."""
        return time_sync(self._coarse)

    def as_float(self) -> np.ndarray:
        """Float seconds ``coarse + fine / 65535``."""
        return scet_to_float(self._coarse, self._fine)

    def to_string(self, sep: str = ":") -> str | np.ndarray:
        """``"%010d:%05d"`` (a str for a scalar, an array of str otherwise)."""
        text = scet_to_string(self._coarse, self._fine, sep=sep)
        return str(text) if text.ndim == 0 else text

    def get_scedays(self) -> np.ndarray:
        """SCET day number ``coarse // 86400``."""
        return self._coarse // SECONDS_PER_DAY

    def __repr__(self) -> str:
        text = self.to_string()
        return f"SCETime({text!r})" if isinstance(text, str) else f"SCETime({text.tolist()!r})"

    def __str__(self) -> str:
        text = self.to_string()
        return text if isinstance(text, str) else str(text.tolist())

    # arithmetic ------------------------------------------------------------------------------
    def _delta_btime(self, other: object) -> np.ndarray | None:
        if isinstance(other, SCETimeDelta):
            return other.btime
        if _is_quantity(other):
            return SCETimeDelta.from_float(other).btime
        return None

    def __add__(self, other: object) -> SCETime:
        delta = self._delta_btime(other)
        if delta is None:
            if isinstance(other, SCETime):
                raise TypeError("cannot add two SCETime values")
            return NotImplemented
        return SCETime._from_btime(self.btime + delta)

    __radd__ = __add__

    @overload
    def __sub__(self, other: SCETime) -> SCETimeDelta: ...

    @overload
    def __sub__(self, other: object) -> SCETime | SCETimeDelta: ...

    def __sub__(self, other: object) -> SCETime | SCETimeDelta:
        if isinstance(other, SCETime):
            return SCETimeDelta._from_btime(self.btime - other.btime)
        delta = self._delta_btime(other)
        if delta is None:
            return NotImplemented
        return SCETime._from_btime(self.btime - delta)

    def __rsub__(self, other: object) -> Any:
        return NotImplemented


class SCETimeDelta(_TimeBase):
    """Signed difference of spacecraft times, held as a signed binary count of 1/65536 s ticks.

    ``coarse`` and ``fine`` are the binary count split towards zero, so both carry the sign
    (``-(1 s + 1 tick)`` is ``(-1, -1)``); the float form is ``coarse + fine / 65535``.

    Parameters
    ----------
    coarse, fine
        Integers (broadcast together); ``btime = coarse * 65536 + fine``. Fine may be negative.

    Raises
    ------
    ValueError
        Non-integer input or values outside the int32 range.
    """

    __slots__ = ("_btime",)

    def __init__(self, coarse: ArrayLike, fine: ArrayLike = 0) -> None:
        c = _integers(coarse, "coarse")
        f = _integers(fine, "fine")
        _check_range(c, -(2**31), 2**31 - 1, "delta coarse")
        _check_range(f, -(2**31), 2**31 - 1, "delta fine")
        c, f = np.broadcast_arrays(c, f)
        self._btime = (c << 16) + f

    @classmethod
    def _from_btime(cls, btime: ArrayLike) -> SCETimeDelta:
        value = _integers(btime, "btime")
        _check_range(value, -(2**47), 2**47 - 1, "SCET delta")
        result = cls.__new__(cls)
        result._btime = value
        return result

    @classmethod
    def from_btime(cls, btime: ArrayLike) -> SCETimeDelta:
        """From a signed binary tick count."""
        return cls._from_btime(btime)

    @classmethod
    def from_float(cls, seconds: ArrayLike | u.Quantity) -> SCETimeDelta:
        """From float seconds (or a time Quantity): ``coarse = trunc(s)``, ``fine = round(65535 * rest)``."""
        value = _seconds(seconds) if _is_quantity(seconds) else np.asarray(seconds, dtype=np.float64)
        if not np.all(np.isfinite(value)):
            raise ValueError("SCET delta float must be finite")
        coarse = np.trunc(value)
        fine = np.round((value - coarse) * FINE_FLOAT_SCALE)
        _check_range(coarse, -(2**31), 2**31 - 1, "delta coarse")
        return cls(coarse.astype(np.int64), fine.astype(np.int64))

    @property
    def btime(self) -> np.ndarray:
        """Signed tick count ``coarse * 65536 + fine`` (int64)."""
        return self._btime

    @property
    def coarse(self) -> np.ndarray:
        """Whole seconds, truncated towards zero (int32)."""
        return (np.sign(self._btime) * (np.abs(self._btime) >> 16)).astype(np.int32)

    @property
    def fine(self) -> np.ndarray:
        """Remaining ticks, same sign as the delta (int32)."""
        return (self._btime - (self.coarse.astype(np.int64) << 16)).astype(np.int32)

    def as_float(self) -> np.ndarray:
        """Float seconds ``coarse + fine / 65535``."""
        return scet_to_float(self.coarse, self.fine)

    def as_quantity(self) -> u.Quantity:
        """Float form as an astropy Quantity in seconds."""
        import astropy.units as u

        return self.as_float() * u.s

    def __repr__(self) -> str:
        pairs = list(zip(np.ravel(self.coarse).tolist(), np.ravel(self.fine).tolist(), strict=True))
        body = pairs[0] if not self.ndim else pairs
        return f"SCETimeDelta({body!r})"

    def _other(self, other: object) -> np.ndarray | None:
        if isinstance(other, SCETimeDelta):
            return other.btime
        if _is_quantity(other):
            return SCETimeDelta.from_float(other).btime
        return None

    def __add__(self, other: object) -> Any:
        if isinstance(other, SCETime):
            return other + self
        theirs = self._other(other)
        if theirs is None:
            return NotImplemented
        return SCETimeDelta._from_btime(self._btime + theirs)

    __radd__ = __add__

    def __sub__(self, other: object) -> SCETimeDelta:
        if isinstance(other, SCETime):
            raise TypeError("cannot subtract an SCETime from an SCETimeDelta")
        theirs = self._other(other)
        if theirs is None:
            return NotImplemented
        return SCETimeDelta._from_btime(self._btime - theirs)

    def __rsub__(self, other: object) -> SCETimeDelta:
        theirs = self._other(other)
        if theirs is None:
            return NotImplemented
        return SCETimeDelta._from_btime(theirs - self._btime)

    def __neg__(self) -> SCETimeDelta:
        return SCETimeDelta._from_btime(-self._btime)

    def __abs__(self) -> SCETimeDelta:
        return SCETimeDelta._from_btime(np.abs(self._btime))

    def __mul__(self, factor: object) -> SCETimeDelta:
        if isinstance(factor, _TimeBase) or _is_quantity(factor):
            return NotImplemented
        return SCETimeDelta._from_btime(np.round(self._btime * np.asarray(factor)).astype(np.int64))

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Any:
        """``delta / n`` floor-divides the tick count; ``delta / delta`` is a float ratio."""
        if isinstance(other, SCETimeDelta):
            return self._btime / other.btime
        if isinstance(other, _TimeBase) or _is_quantity(other):
            return NotImplemented
        divisor = np.asarray(other)
        if divisor.dtype.kind in "iu":
            return SCETimeDelta._from_btime(self._btime // divisor)
        return SCETimeDelta._from_btime(np.floor(self._btime / divisor).astype(np.int64))

    def __floordiv__(self, other: object) -> Any:
        if isinstance(other, SCETimeDelta):
            return self._btime // other.btime
        return self.__truediv__(other)


class SCETimeRange:
    """Closed interval ``[start, end]`` of spacecraft time (scalar ends).

    Parameters
    ----------
    start, end
        Scalar :class:`SCETime` values with ``start <= end``.
    """

    __slots__ = ("start", "end")

    def __init__(self, start: SCETime, end: SCETime) -> None:
        if start.ndim or end.ndim:
            raise ValueError("SCETimeRange needs scalar start and end")
        if start > end:
            raise ValueError(f"SCETimeRange start {start} is after end {end}")
        self.start = start
        self.end = end

    @classmethod
    def covering(cls, times: SCETime) -> SCETimeRange:
        """The smallest range containing all ``times`` (non-empty)."""
        if not times.size:
            raise ValueError("cannot build a range from no times")
        return cls(times.min(), times.max())

    def expand(self, other: SCETime | SCETimeRange) -> SCETimeRange:
        """A new range that also covers ``other`` (times or a range); ``self`` is unchanged."""
        if isinstance(other, SCETimeRange):
            low, high = other.start, other.end
        else:
            low, high = other.min(), other.max()
        start = low if low < self.start else self.start
        end = high if high > self.end else self.end
        return SCETimeRange(start, end)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, SCETimeRange):
            return bool(self.start <= item.start) and bool(item.end <= self.end)
        if isinstance(item, SCETime):
            return bool(np.all((self.start.btime <= item.btime) & (item.btime <= self.end.btime)))
        return False

    @property
    def duration(self) -> SCETimeDelta:
        """``end - start``."""
        return self.end - self.start

    @property
    def avg(self) -> SCETime:
        """Centre ``start + duration / 2`` (floor to a tick)."""
        return self.start + self.duration / 2

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SCETimeRange):
            return NotImplemented
        return bool(self.start == other.start) and bool(self.end == other.end)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SCETimeRange({self.start.to_string()!r}, {self.end.to_string()!r})"
