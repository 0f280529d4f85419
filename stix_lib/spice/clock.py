"""Spacecraft clock ↔ ephemeris time ↔ UTC with SPICE (kernels must be loaded by the caller).

* SCET → ET: the SCLK "ticks" of ``coarse:fine`` are ``coarse * 65536 + fine`` (the SCLK string
  fine field counts raw 1/65536 s ticks, *not* the 1/65535 float convention of header floats);
  for the Solar Orbiter clock (one partition starting at 0, moduli 2**32 and 65536) they are
  computed directly and passed to ``sct2e``; any other clock layout goes through ``scencd``.
* ET → SCET: ``sce2c`` continuous ticks, rounded to the nearest tick.
* ET ↔ UTC: ``deltet`` (ET − UTC) per value; UTC is returned as ``datetime64[ns]`` counted from
  2000-01-01T12:00:00 UTC without leap seconds, which is exact except *during* a leap second
  (23:59:60 cannot be represented and folds onto the following second).

SPICE calls are per scalar; the loops run in Python with no string parsing on the default path.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import spiceypy
from numpy.typing import ArrayLike
from spiceypy.utils.exceptions import SpiceyError

from stix_lib.spice.errors import spice_error_reason
from stix_lib.time.scet import FINE_TICKS, MAX_COARSE

#: UTC epoch that ``ET - deltet(ET)`` counts from.
J2000_UTC = np.datetime64("2000-01-01T12:00:00", "ns")


def sclk_is_plain(sc_id: int) -> bool:
    """Whether the loaded SCLK of ``sc_id`` has one partition at 0 and moduli (2**32, 65536)."""
    try:
        starts = spiceypy.gdpool(f"SCLK_PARTITION_START_{-sc_id}", 0, 10)
        moduli = spiceypy.gdpool(f"SCLK01_MODULI_{-sc_id}", 0, 10)
        offsets = spiceypy.gdpool(f"SCLK01_OFFSETS_{-sc_id}", 0, 10)
    except SpiceyError:
        return False
    return len(starts) == 1 and starts[0] == 0 and list(moduli) == [MAX_COARSE + 1, FINE_TICKS] and not any(offsets)


def scet_to_ticks(coarse: ArrayLike, fine: ArrayLike, sc_id: int, *, direct: bool = True) -> np.ndarray:
    """Encoded SCLK ticks of ``coarse:fine`` (float64, exact below 2**53)."""
    c, f = np.broadcast_arrays(np.asarray(coarse, dtype=np.int64), np.asarray(fine, dtype=np.int64))
    if direct:
        return (c * FINE_TICKS + f).astype(np.float64)
    flat = [spiceypy.scencd(sc_id, f"{a}:{b}") for a, b in zip(c.ravel().tolist(), f.ravel().tolist(), strict=True)]
    return np.asarray(flat, dtype=np.float64).reshape(c.shape)


def scet_to_et(coarse: ArrayLike, fine: ArrayLike, sc_id: int, *, direct: bool = True) -> np.ndarray:
    """Spacecraft time → ET (TDB seconds past J2000), same shape as the broadcast input.

    Raises
    ------
    ValueError
        If SPICE cannot convert a value (e.g. no SCLK kernel loaded).
    """
    ticks = scet_to_ticks(coarse, fine, sc_id, direct=direct)
    try:
        flat = [spiceypy.sct2e(sc_id, value) for value in ticks.ravel().tolist()]
    except SpiceyError as exc:
        raise ValueError(f"cannot convert SCET to ET: {spice_error_reason(exc)}") from exc
    return np.asarray(flat, dtype=np.float64).reshape(ticks.shape)


def et_to_scet(et: ArrayLike, sc_id: int, *, direct: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """ET → ``(coarse uint32, fine uint16)`` rounded to the nearest tick.

    Raises
    ------
    ValueError
        If a time falls outside the clock (before its start or past 2**32 s) or SPICE fails.
    """
    values = np.asarray(et, dtype=np.float64)
    try:
        ticks = np.rint([spiceypy.sce2c(sc_id, value) for value in values.ravel().tolist()]).reshape(values.shape)
    except SpiceyError as exc:
        raise ValueError(f"cannot convert ET to SCET: {spice_error_reason(exc)}") from exc
    if direct:
        count = ticks.astype(np.int64)
        coarse, fine = count // FINE_TICKS, count % FINE_TICKS
    else:
        coarse = np.empty(values.shape, dtype=np.int64)
        fine = np.empty(values.shape, dtype=np.int64)
        for index, value in np.ndenumerate(ticks):
            text = spiceypy.scfmt(sc_id, float(value))
            coarse[index], fine[index] = (int(part) for part in text.split(":")[-2:])
    if coarse.size and (coarse.min() < 0 or coarse.max() > MAX_COARSE):
        raise ValueError("time outside the spacecraft clock range")
    return coarse.astype(np.uint32), fine.astype(np.uint16)


def et_to_datetime64(et: ArrayLike) -> np.ndarray:
    """ET → UTC ``datetime64[ns]`` (leap-second aware through the loaded LSK)."""
    values = np.asarray(et, dtype=np.float64)
    utc_seconds = np.asarray([value - spiceypy.deltet(value, "ET") for value in values.ravel().tolist()])
    whole = np.floor(utc_seconds)
    nanos = np.rint((utc_seconds - whole) * 1e9).astype(np.int64)
    delta = whole.astype(np.int64) * 1_000_000_000 + nanos
    return (J2000_UTC + delta.astype("timedelta64[ns]")).reshape(values.shape)


def datetime64_to_et(utc: ArrayLike) -> np.ndarray:
    """UTC (``datetime64`` or ISO strings) → ET."""
    stamps = np.asarray(utc, dtype="datetime64[ns]")
    nanos = (stamps - J2000_UTC).astype(np.int64)
    seconds = (nanos // 1_000_000_000).astype(np.float64) + (nanos % 1_000_000_000) / 1e9
    flat = [value + spiceypy.deltet(value, "UTC") for value in seconds.ravel().tolist()]
    return np.asarray(flat, dtype=np.float64).reshape(stamps.shape)


def et_to_utc_iso(et: ArrayLike, precision: int = 3) -> np.ndarray:
    """ET → ISO UTC strings ``YYYY-MM-DDThh:mm:ss.fff`` exactly as SPICE ``et2utc(…, "ISOC")``."""
    values = np.asarray(et, dtype=np.float64)
    flat = [spiceypy.et2utc(value, "ISOC", precision) for value in values.ravel().tolist()]
    return np.asarray(flat, dtype=str).reshape(values.shape)


def format_utc(utc: ArrayLike, precision: int = 3) -> np.ndarray:
    """``datetime64`` → ISO strings with ``precision`` decimals, rounded half up (like SPICE)."""
    stamps = np.asarray(utc, dtype="datetime64[ns]")
    step = 10 ** (9 - precision)
    nanos = stamps.astype(np.int64)
    rounded = ((nanos + step // 2) // step * step).astype("datetime64[ns]")
    units: dict[int, Literal["s", "ms", "us", "ns"]] = {0: "s", 3: "ms", 6: "us", 9: "ns"}
    unit = units.get(precision)
    if unit is None:
        raise ValueError("precision must be 0, 3, 6 or 9")
    return np.datetime_as_string(rounded.astype(f"datetime64[{unit}]"), unit=unit)


def datetime64_to_time(utc: ArrayLike):
    """``datetime64`` → :class:`astropy.time.Time` in UTC."""
    from astropy.time import Time

    return Time(np.asarray(utc, dtype="datetime64[ns]"), scale="utc")


def time_to_datetime64(time) -> np.ndarray:
    """:class:`astropy.time.Time` → UTC ``datetime64[ns]``."""
    return np.asarray(time.utc.to_value("datetime64"), dtype="datetime64[ns]")
