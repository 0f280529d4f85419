"""What time range the loaded **flown** kernels cover, for releasing TM files.

Definition used here ("covers"):

* ``utc_end`` is the earlier of

  - the start (00:00 UTC) of the day in the flown meta-kernel name (``…_YYYYMMDD_…``): SOC builds a
    flown MK from reconstructed data up to the day it is issued, so days before it are final;
  - the end of the Solar Orbiter (NAIF −144) SPK coverage of the SPK files loaded through the
    flown MK (when it has any);

* ``obt_end`` is ``utc_end`` converted to spacecraft time with the loaded SCLK kernel;
* a TM file is covered when its **latest** synchronised packet time is not after ``obt_end``
  (:meth:`FlownCoverage.covers`; unsynchronised times, top coarse bit set, are ignored).
  Earlier times count as covered too: a newer flown kernel set does not change how they convert.
  (Times before the orbit files, e.g. ground tests, still get ``SPICE_ER`` position keywords,
  but their time conversion is final.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import spiceypy
from spiceypy.utils.exceptions import SpiceyError

from stix_lib.spice import clock
from stix_lib.spice.meta_kernels import meta_kernel_date
from stix_lib.time.scet import SCETime

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pathlib import Path

    from stix_lib.spice.kernels import SpiceKernels


@dataclass(frozen=True)
class FlownCoverage:
    """Coverage of the loaded flown kernels (see the module docstring for the definition).

    Attributes
    ----------
    meta_kernel
        File name of the flown meta kernel.
    mk_date
        Date in its name (``None`` if it has none).
    spk_utc_start, spk_utc_end
        First and last UTC of the −144 SPK coverage loaded through the flown MK (``None`` if none).
    utc_end
        End of the covered range (UTC, ``datetime64[ns]``).
    obt_end
        ``utc_end`` as spacecraft time.
    """

    meta_kernel: str
    mk_date: date | None
    spk_utc_start: np.datetime64 | None
    spk_utc_end: np.datetime64 | None
    utc_end: np.datetime64
    obt_end: SCETime

    def covers(self, times: SCETime) -> bool:
        """True if every synchronised time in ``times`` (e.g. a file's packet times) is ≤ :attr:`obt_end`.

        Unsynchronised times (top coarse bit set, see :func:`stix_lib.time.scet.time_sync`) are not
        real clock readings and no later kernel changes how they convert, so they are ignored;
        consequently an empty selection counts as covered.
        """
        synchronised = times.btime[times.time_sync]
        return bool(np.all(synchronised <= self.obt_end.btime))


def _spk_window(kernels: SpiceKernels, body: int, meta_kernel: Path | None = None) -> tuple[float, float] | None:
    """First start and last end (ET) of the ``body`` SPK coverage loaded through ``meta_kernel``.

    ``meta_kernel`` defaults to the flown MK; None when it is missing or loads no such SPK.
    """
    meta_kernel = meta_kernel or kernels.flown_meta_kernel
    if meta_kernel is None:
        return None
    source = kernels.rewritten_path(meta_kernel)
    starts: list[float] = []
    ends: list[float] = []
    for index in range(spiceypy.ktotal("SPK")):
        path, _, loaded_by, _ = spiceypy.kdata(index, "SPK")
        if loaded_by != source:
            continue
        window = spiceypy.spkcov(path, body)
        for interval in range(spiceypy.wncard(window)):
            low, high = spiceypy.wnfetd(window, interval)
            starts.append(low)
            ends.append(high)
    return (min(starts), max(ends)) if starts else None


def flown_coverage(kernels: SpiceKernels, body: int = -144) -> FlownCoverage | None:
    """Coverage of the flown kernels held by ``kernels`` (loading them if needed).

    Parameters
    ----------
    kernels
        The kernel set.
    body
        NAIF id whose SPK coverage counts (Solar Orbiter by default).

    Returns
    -------
    FlownCoverage or None
        ``None`` when no flown MK is loaded or neither its date nor an SPK window is known.
    """
    kernels.ensure_loaded()
    flown = kernels.flown_meta_kernel
    if flown is None:
        return None
    mk_date = meta_kernel_date(flown)
    try:
        window = _spk_window(kernels, body)
    except SpiceyError:
        window = None
    ends: list[np.datetime64] = []
    if mk_date is not None:
        ends.append(np.datetime64(mk_date.isoformat(), "ns"))
    spk_start = spk_end = None
    if window is not None:
        spk_start, spk_end = clock.et_to_datetime64(np.array(window))
        ends.append(spk_end)
    if not ends:
        return None
    utc_end = min(ends)
    obt_end = kernels.datetime64_to_scet(utc_end)
    return FlownCoverage(flown.name, mk_date, spk_start, spk_end, utc_end, obt_end)


def _predicted_spk_end(kernels: SpiceKernels, body: int) -> float | None:
    """End (ET) of the ``body`` SPK coverage loaded through the predicted MK (None if none)."""
    predicted = kernels.predicted_meta_kernel
    window = _spk_window(kernels, body, predicted) if predicted is not None else None
    return window[1] if window else None


def loaded_coverage_end(kernels: SpiceKernels, body: int = -144) -> float | None:
    """Latest on-board time the loaded kernel set (flown and predicted) converts and locates.

    The later of the flown coverage end (:func:`flown_coverage`) and the end of the ``body`` SPK
    coverage of the predicted MK. L1 products are made only for times up to this: beyond it the
    clock would be extrapolated and the observer position unknown.

    Returns
    -------
    float or None
        On-board time in float seconds (the form of product times, ``coarse + fine/65535``);
        ``None`` when neither MK gives a coverage (nothing may be converted).

    Raises
    ------
    SpiceKernelError
        When the kernels cannot be loaded.
    """
    kernels.ensure_loaded()
    ends: list[float] = []
    flown = flown_coverage(kernels, body)
    if flown is not None:
        ends.append(float(np.max(flown.obt_end.as_float())))
    try:
        predicted_et = _predicted_spk_end(kernels, body)
    except SpiceyError:
        predicted_et = None
    if predicted_et is not None:
        ends.append(float(np.max(kernels.et_to_scet(np.array([predicted_et])).as_float())))
    return max(ends) if ends else None
