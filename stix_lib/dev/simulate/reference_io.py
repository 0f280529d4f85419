"""Reading STIXCore L1 products for re-encoding: tables, column parameters, times, masks.

L1 time columns are centiseconds relative to ``OBT_BEG`` (float on-board seconds in the
``coarse + fine / 65535`` form), ``time`` being the bin centre and ``timedel`` the bin width.
Column metadata (astropy serialized columns) names the IDB parameter of a column (``NIXS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from astropy.io import fits
from astropy.table import Table

from stix_lib.time.scet import scet_from_float

_NAME = re.compile(r"^solo_L1_stix-(?P<name>[a-z0-9-]+?)_(?P<date>\d{8}(T\d{6}-\d{8}T\d{6})?)_V\d+")


@dataclass
class ReferenceProduct:
    """One L1 product file.

    Attributes
    ----------
    path
        The FITS file.
    name
        Product name from the file name (``ql-lightcurve``, ``hk-maxi``, ``sci-xray-cpd`` ...;
        the doubled ``ql-ql-`` of old files is reduced to ``ql-``).
    header
        Primary header.
    control, data
        The CONTROL and DATA tables.
    """

    path: Path
    name: str
    header: fits.Header
    control: Table
    data: Table

    @property
    def obt_beg(self) -> float:
        """``OBT_BEG`` (float on-board seconds)."""
        return float(self.header["OBT_BEG"])

    def bin_widths(self) -> npt.NDArray[np.float64]:
        """Width of each DATA row in seconds."""
        return self._timedel() / 100.0

    def _timedel(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.data["timedel"], dtype=np.float64)

    def bin_start_times(self) -> npt.NDArray[np.float64]:
        """On-board start ``OBT_BEG + (time - timedel / 2) / 100`` of each DATA row."""
        time = np.asarray(self.data["time"], dtype=np.float64)
        return self.obt_beg + (time - self._timedel() / 2.0) / 100.0


def product_name(path: Path) -> str | None:
    """Product name of an L1 file name, None for other files."""
    match = _NAME.match(Path(path).name)
    if not match:
        return None
    name = match.group("name")
    return name.replace("ql-ql-", "ql-")


def read_product(path: Path) -> ReferenceProduct:
    """Read an L1 product (primary header, CONTROL, DATA).

    Raises
    ------
    ValueError
        If the file name is not an L1 product name or an extension is missing.
    """
    name = product_name(path)
    if name is None:
        raise ValueError(f"{Path(path).name} is not an L1 product file name")
    with fits.open(path) as hdul:
        header = hdul[0].header.copy()
        try:
            control = Table.read(hdul["CONTROL"])
            data = Table.read(hdul["DATA"])
        except KeyError as exc:
            raise ValueError(f"{Path(path).name}: missing extension {exc}") from exc
    return ReferenceProduct(Path(path), name, header, control, data)


def to_scet(seconds: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Float on-board seconds (``coarse + fine / 65535``) -> integer ``(coarse, fine)``."""
    coarse, fine = scet_from_float(seconds)
    return coarse.astype(np.int64), fine.astype(np.int64)


def bits_to_int(bits: npt.ArrayLike, *, msb_first: bool = False) -> int:
    """An array of 0/1 flags as an integer (flag ``i`` is bit ``i``, or bit ``n-1-i`` MSB first)."""
    flags = [int(bool(b)) for b in np.asarray(bits).ravel().tolist()]
    if msb_first:
        flags = flags[::-1]
    return sum(flag << i for i, flag in enumerate(flags))


def column_parameter(table: Table, column: str) -> str | list[str] | None:
    """The ``NIXS`` metadata of a column (None without)."""
    return table[column].meta.get("NIXS") if column in table.colnames else None
