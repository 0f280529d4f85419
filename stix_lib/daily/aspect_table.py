"""Input table of the ANC aspect solution: one row per L1 ``hk-maxi`` DATA row.

What STIXCore's ``AspectANC`` pre-processing hands to STX-GSW (processing spec §4.6.1), built
with numpy over whole columns:

=================  ================================================================================
column             value
=================  ================================================================================
``cha_diode0/1``   HK ``hk_asp_photoa0_v`` / ``hk_asp_photoa1_v`` (SAS channel A photodiodes, V)
``chb_diode0/1``   HK ``hk_asp_photob0_v`` / ``hk_asp_photob1_v`` (channel B, V)
``time``           ISO UTC of the row (SPICE, milliseconds)
``scet_time_c/f``  on-board time of the row, coarse / fine (1/65535 s float convention)
``duration``       seconds to the next row; the last row repeats the previous step (STIXCore sets
                   every row to the last step, an acknowledged quirk; with the regular 64-s HK
                   cadence both agree); ``0`` for a single row
``spice_disc_size`` apparent solar radius, arcsec (:func:`stix_lib.spice.positions.sun_disc_size`)
``y_srf, z_srf``   placeholders ``0.0`` (filled by IDL)
``calib``          placeholder ``0.0``
``sas_ok``         placeholder ``0``
``error``          placeholder ``""``
=================  ================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stix_lib.products.fits_io import read_product
from stix_lib.products.model import Product
from stix_lib.spice import clock
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.spice.positions import sun_disc_size
from stix_lib.time.scet import SCETime, scet_from_float

#: Input column -> HK L1 column it is copied from.
DIODE_COLUMNS: dict[str, str] = {
    "cha_diode0": "hk_asp_photoa0_v",
    "cha_diode1": "hk_asp_photoa1_v",
    "chb_diode0": "hk_asp_photob0_v",
    "chb_diode1": "hk_asp_photob1_v",
}
#: Columns of the input table, in order.
INPUT_COLUMNS: tuple[str, ...] = (
    *DIODE_COLUMNS,
    "time",
    "scet_time_c",
    "scet_time_f",
    "duration",
    "spice_disc_size",
    "y_srf",
    "z_srf",
    "calib",
    "sas_ok",
    "error",
)


class AspectInputError(ValueError):
    """An HK file cannot be turned into aspect input (the message names the file)."""


@dataclass
class AspectInput:
    """One L1 ``hk-maxi`` file prepared for the aspect solution.

    Attributes
    ----------
    hk_path
        The input file.
    hk
        Its content (CONTROL/DATA/IDB versions as read by :func:`stix_lib.products.fits_io.read_product`).
    et
        Ephemeris time of each DATA row.
    table
        The input columns (:data:`INPUT_COLUMNS`), numpy arrays of the row count.
    """

    hk_path: Path
    hk: Product
    et: npt.NDArray[np.float64]
    table: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.et)

    def records(self) -> dict[str, list[Any]]:
        """The table as JSON-ready column lists (the IDL bridge's ``data`` of this file); NaN → ``None``."""
        out: dict[str, list[Any]] = {}
        for name in INPUT_COLUMNS:
            values = self.table[name]
            if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
                out[name] = [v if np.isfinite(v) else None for v in values.tolist()]
            else:
                out[name] = values.tolist()
        return out


def row_durations(obt: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Seconds from each time to the next; the last row repeats the previous step (``0`` for one row)."""
    times = np.asarray(obt, dtype=np.float64)
    if times.size < 2:
        return np.zeros(times.shape)
    steps = np.diff(times)
    return np.append(steps, steps[-1])


def read_aspect_input(hk_path: Path, kernels: SpiceKernels) -> AspectInput:
    """Read an L1 ``hk-maxi`` file and build its aspect input table.

    Parameters
    ----------
    hk_path
        The L1 file.
    kernels
        Loaded SPICE kernels (times and the solar disc size).

    Raises
    ------
    AspectInputError
        If the file cannot be read, lacks a photodiode column, has no rows, or SPICE cannot
        convert its times or positions.
    """
    hk_path = Path(hk_path)
    try:
        hk = read_product(hk_path)
    except Exception as exc:  # noqa: BLE001 - every read failure is this file's failure
        raise AspectInputError(f"{hk_path.name}: cannot read: {exc}") from exc
    missing = [name for name in DIODE_COLUMNS.values() if name not in hk.data]
    if missing:
        raise AspectInputError(f"{hk_path.name}: no column(s) {', '.join(missing)} (not an L1 hk-maxi file?)")
    if not len(hk):
        raise AspectInputError(f"{hk_path.name}: no DATA rows")
    obt = hk.time
    coarse, fine = scet_from_float(obt)
    try:
        et = np.asarray(kernels.scet_to_et(SCETime(coarse, fine)), dtype=np.float64)
        disc = sun_disc_size(et)
    except Exception as exc:  # noqa: BLE001 - SPICE errors (SpiceyError, ValueError) of this file
        raise AspectInputError(f"{hk_path.name}: SPICE cannot evaluate its times: {exc}") from exc
    rows = len(obt)
    table: dict[str, np.ndarray] = {
        name: np.asarray(hk.data[source], dtype=np.float64) for name, source in DIODE_COLUMNS.items()
    }
    table["time"] = clock.format_utc(clock.et_to_datetime64(et), 3)
    table["scet_time_c"] = coarse.astype(np.int64)
    table["scet_time_f"] = fine.astype(np.int64)
    table["duration"] = row_durations(obt)
    table["spice_disc_size"] = disc
    for name in ("y_srf", "z_srf", "calib"):
        table[name] = np.zeros(rows)
    table["sas_ok"] = np.zeros(rows, dtype=np.int64)
    table["error"] = np.full(rows, "", dtype=object)
    return AspectInput(hk_path, hk, et, table)
