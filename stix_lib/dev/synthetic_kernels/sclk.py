"""Solar Orbiter spacecraft clock kernel (SCLK type 1) from OBT ↔ UTC correlation pairs.

Clock layout (as the SOC kernels): NAIF id −144, one partition starting at tick 0, two fields
``coarse:fine`` with moduli ``2**32`` and ``65536``, so one *tick* is 1/65536 s of spacecraft time
and the encoded SCLK of ``coarse:fine`` is ``coarse * 65536 + fine``. The parallel time system is
TDT (``SCLK01_TIME_SYSTEM = 2``), which runs without leap seconds.

A type 1 clock is piecewise linear: each coefficient row ``(ticks, TDT, rate)`` maps the ticks from
its own up to the next row's to ``TDT + rate * (t - ticks) / 65536`` — ``rate`` is TDT seconds per
*coarse* count. :func:`build_sclk` turns correlation pairs (OBT ticks, UTC) into such rows: the
clock passes exactly through every pair, is linear between pairs and keeps the last (or only)
slope after the last pair; if the first pair is after tick 0 a row at tick 0 extrapolates the first
slope backwards (SPICE needs a row at the partition start). The default is one pair
SCET 0 ↔ 2000-01-01T00:00:00 UTC with rate ``1 + drift_ppm·1e-6``.

:class:`SclkModel` evaluates the same mapping with numpy, so the builder can place CK records on
the SCLK time line without loading anything into SPICE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from stix_lib.dev.synthetic_kernels.textkernel import Epoch, assignment, text_kernel
from stix_lib.time.leapseconds import LeapSeconds
from stix_lib.time.scet import FINE_TICKS, MAX_COARSE

#: NAIF id of the Solar Orbiter clock.
SOLO_CLOCK_ID = -144
#: Encoded SCLK at the end of the single partition (the clock rolls over at 2**32 coarse counts).
PARTITION_END_TICKS = (MAX_COARSE + 1) * FINE_TICKS
#: SCET 0 in UTC (the STIXCore test anchor).
DEFAULT_EPOCH_UTC = np.datetime64("2000-01-01T00:00:00", "ns")
#: SCLK01 parallel time system code for TDT.
TIME_SYSTEM_TDT = 2


@dataclass(frozen=True)
class ClockPair:
    """One OBT ↔ UTC correlation point.

    Attributes
    ----------
    ticks
        Spacecraft time as encoded SCLK ticks (``coarse * 65536 + fine``; may be fractional).
    utc
        The UTC instant it corresponds to.
    """

    ticks: float
    utc: np.datetime64

    @classmethod
    def from_scet(cls, coarse: int, fine: int, utc: np.datetime64 | str) -> ClockPair:
        """A pair from a ``coarse:fine`` clock reading (fine in raw 1/65536 s ticks)."""
        return cls(float(int(coarse) * FINE_TICKS + int(fine)), np.datetime64(utc).astype("M8[ns]"))

    @classmethod
    def from_seconds(cls, seconds: float, utc: np.datetime64 | str) -> ClockPair:
        """A pair from spacecraft seconds (``coarse + fine / 65536``)."""
        return cls(float(seconds) * FINE_TICKS, np.datetime64(utc).astype("M8[ns]"))


@dataclass(frozen=True)
class SclkModel:
    """The coefficient rows of a type 1 clock and their evaluation.

    Attributes
    ----------
    ticks
        Encoded SCLK of each row (ascending, first is 0).
    tdt
        TDT (s past J2000) at each row.
    rates
        TDT seconds per coarse count from each row on.
    """

    ticks: tuple[float, ...]
    tdt: tuple[float, ...]
    rates: tuple[float, ...]

    def _row(self, ticks: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(np.asarray(self.ticks), ticks, side="right") - 1, 0, None)

    def ticks_to_tdt(self, ticks: ArrayLike) -> np.ndarray:
        """Encoded SCLK → TDT seconds past J2000."""
        values = np.asarray(ticks, dtype=np.float64)
        row = self._row(values)
        base, tdt, rate = (np.asarray(a)[row] for a in (self.ticks, self.tdt, self.rates))
        return tdt + rate * (values - base) / FINE_TICKS

    def tdt_to_ticks(self, tdt: ArrayLike) -> np.ndarray:
        """TDT seconds past J2000 → encoded SCLK (continuous, not rounded)."""
        values = np.asarray(tdt, dtype=np.float64)
        row = np.clip(np.searchsorted(np.asarray(self.tdt), values, side="right") - 1, 0, None)
        base, start, rate = (np.asarray(a)[row] for a in (self.ticks, self.tdt, self.rates))
        return base + (values - start) / rate * FINE_TICKS

    def et_to_ticks(self, et: ArrayLike, leapseconds: LeapSeconds) -> np.ndarray:
        """ET (TDB) → encoded SCLK."""
        return self.tdt_to_ticks(leapseconds.tdb_to_tdt(et))

    def utc_to_ticks(self, utc: ArrayLike, leapseconds: LeapSeconds) -> np.ndarray:
        """UTC → encoded SCLK."""
        return self.tdt_to_ticks(leapseconds.utc_to_tdt(utc))


@dataclass(frozen=True)
class SclkKernel:
    """A generated SCLK kernel: its text and the model it encodes."""

    text: str
    model: SclkModel


def sclk_model(pairs: Sequence[ClockPair] | None, leapseconds: LeapSeconds, *, drift_ppm: float = 0.0) -> SclkModel:
    """Coefficient rows through the given correlation pairs (see the module docstring).

    Parameters
    ----------
    pairs
        OBT ↔ UTC pairs; ``None`` or empty → SCET 0 ↔ 2000-01-01T00:00:00 UTC.
    leapseconds
        LSK parameters for UTC → TDT.
    drift_ppm
        Clock drift used when there is only one pair: the spacecraft clock runs slow by this
        many parts per million (TDT seconds per coarse count = ``1 + drift_ppm * 1e-6``).

    Raises
    ------
    ValueError
        If pairs are not strictly increasing in both ticks and UTC, or lie outside the partition.
    """
    chosen = sorted(pairs or [ClockPair(0.0, DEFAULT_EPOCH_UTC)], key=lambda p: p.ticks)
    ticks = np.array([p.ticks for p in chosen], dtype=np.float64)
    tdt = leapseconds.utc_to_tdt(np.array([p.utc for p in chosen], dtype="datetime64[ns]"))
    if ticks[0] < 0 or ticks[-1] >= PARTITION_END_TICKS:
        raise ValueError("clock pair outside the SCLK partition [0, 2**48)")
    if len(ticks) > 1 and (np.any(np.diff(ticks) <= 0) or np.any(np.diff(tdt) <= 0)):
        raise ValueError("clock pairs must increase strictly in both OBT and UTC")
    if len(ticks) == 1:
        rates = np.array([1.0 + drift_ppm * 1e-6])
    else:
        slopes = np.diff(tdt) / (np.diff(ticks) / FINE_TICKS)
        rates = np.append(slopes, slopes[-1])
    if ticks[0] > 0:
        tdt = np.insert(tdt, 0, tdt[0] - rates[0] * ticks[0] / FINE_TICKS)
        ticks = np.insert(ticks, 0, 0.0)
        rates = np.insert(rates, 0, rates[0])
    return SclkModel(tuple(ticks.tolist()), tuple(tdt.tolist()), tuple(rates.tolist()))


def sclk_text(model: SclkModel, kernel_id: str, title: str) -> str:
    """Text of a type 1 SCLK kernel for the Solar Orbiter clock.

    Parameters
    ----------
    model
        Coefficient rows.
    kernel_id
        ``SCLK_KERNEL_ID`` value (a SPICE time string such as ``2024-03-03T00:00:00``).
    title
        Leading comment.
    """
    sc = -SOLO_CLOCK_ID
    rows = "\n".join(
        f"      {ticks!r:>24} {tdt!r:>24} {rate!r:>22}"
        for ticks, tdt, rate in zip(model.ticks, model.tdt, model.rates, strict=True)
    )
    assignments = [
        assignment("SCLK_KERNEL_ID", Epoch(kernel_id)),
        assignment(f"SCLK_DATA_TYPE_{sc}", 1),
        assignment(f"SCLK01_TIME_SYSTEM_{sc}", TIME_SYSTEM_TDT),
        assignment(f"SCLK01_N_FIELDS_{sc}", 2),
        assignment(f"SCLK01_MODULI_{sc}", [MAX_COARSE + 1, FINE_TICKS]),
        assignment(f"SCLK01_OFFSETS_{sc}", [0, 0]),
        assignment(f"SCLK01_OUTPUT_DELIM_{sc}", 2),
        assignment(f"SCLK_PARTITION_START_{sc}", 0.0),
        assignment(f"SCLK_PARTITION_END_{sc}", float(PARTITION_END_TICKS)),
        f"   {f'SCLK01_COEFFICIENTS_{sc}':<32} = (\n{rows} )",
    ]
    comment = (
        "Clock fields: coarse (1 s, modulus 4294967296) and fine (1/65536 s, modulus 65536), output\n"
        "delimiter ':'. Parallel time system: TDT. Coefficient rows: encoded SCLK (ticks),\n"
        "TDT seconds past J2000, TDT seconds per coarse count from that row on."
    )
    return text_kernel("SCLK", title, [(comment, assignments)])


def build_sclk(
    pairs: Sequence[ClockPair] | None = None,
    *,
    leapseconds: LeapSeconds,
    drift_ppm: float = 0.0,
    kernel_id: str = "2000-01-01T00:00:00",
    title: str = "Solar Orbiter spacecraft clock kernel (synthetic).",
) -> SclkKernel:
    """Build the SCLK kernel text and model from correlation pairs.

    Parameters
    ----------
    pairs
        OBT ↔ UTC pairs (e.g. fitted to time-correlation packets); ``None`` → SCET 0 at
        2000-01-01T00:00:00 UTC.
    leapseconds
        LSK parameters (UTC → TDT).
    drift_ppm
        Drift applied when a single pair is given (see :func:`sclk_model`).
    kernel_id
        ``SCLK_KERNEL_ID`` (a fixed value keeps the output reproducible).
    title
        Leading comment.

    Returns
    -------
    SclkKernel
        Text and model.
    """
    model = sclk_model(pairs, leapseconds, drift_ppm=drift_ppm)
    return SclkKernel(sclk_text(model, kernel_id, title), model)
