"""Science energy channels of STIX by date, from a STIX-CONF working copy.

Files (below ``<conf_dir>/detector/``):

* ``science_echan_index.csv``: ``index, start_date, end_date, sci_chan_file``; a row applies from
  ``start_date`` (inclusive) to ``end_date`` (exclusive, ``none`` = open ended), UTC ISO times;
* ``ScienceEnergyChannels_*.csv``: a free-text preamble, the column header row
  ``Channel Number, Channel Edge, Energy Edge, Elower, Eupper, ...`` and, two lines below it, 33
  rows: channels 0..31 and the closing edge row 32. ``Elower``/``Eupper`` are keV; the upper edge
  of channel 31 is ``maxADC`` (not a number) and is returned as ``inf``.

Energy bands of a product (:func:`energy_bands`):

* no mask: the 32 native channels;
* a 33-element *edge* mask (quick-look light curves, background): consecutive set edges
  ``i < j`` form the band ``[Elower[i], Eupper[j - 1]]``;
* a 32-element channel mask: one band from the lowest to the highest set channel.

Tables are read once per :class:`ScienceEnergyChannels` instance (no module-level cache).
"""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

INDEX_FILE = "science_echan_index.csv"
DETECTOR_DIR = "detector"
NUM_CHANNELS = 32
_HEADER_FIRST_CELL = "channel number"


class EnergyChannelError(ValueError):
    """No energy channel definition for a date, or a malformed STIX-CONF file."""


@dataclass(frozen=True)
class EnergyChannelTable:
    """The 32 science energy channels of one definition file.

    Attributes
    ----------
    name
        File name (``ScienceEnergyChannels_1000.csv``).
    e_lower, e_upper
        Lower/upper channel edges in keV (float64, 32 values; ``e_upper[31]`` is ``inf``).
    """

    name: str
    e_lower: npt.NDArray[np.float64]
    e_upper: npt.NDArray[np.float64]

    @property
    def channels(self) -> npt.NDArray[np.uint8]:
        """Channel numbers 0..31."""
        return np.arange(NUM_CHANNELS, dtype=np.uint8)


@dataclass(frozen=True)
class _IndexRow:
    start: np.datetime64
    end: np.datetime64 | None
    file: str


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def read_energy_channel_file(path: Path) -> EnergyChannelTable:
    """Read one ``ScienceEnergyChannels_*.csv`` file.

    Raises
    ------
    EnergyChannelError
        If the column header row or the 32 channel rows are missing.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    header = next((i for i, row in enumerate(rows) if row and row[0].strip().lower() == _HEADER_FIRST_CELL), None)
    if header is None:
        raise EnergyChannelError(f"{path}: no 'Channel Number' header row")
    columns = [c.strip().lower() for c in rows[header]]
    try:
        low_col, high_col = columns.index("elower"), columns.index("eupper")
    except ValueError as exc:
        raise EnergyChannelError(f"{path}: header lacks Elower/Eupper columns") from exc
    by_channel: dict[int, tuple[float, float]] = {}
    for row in rows[header + 1 :]:
        if not row or not row[0].strip():
            continue
        try:
            channel = int(row[0])
        except ValueError:
            continue
        if 0 <= channel < NUM_CHANNELS:
            by_channel[channel] = (_number(row[low_col]), _number(row[high_col]))
    if sorted(by_channel) != list(range(NUM_CHANNELS)):
        raise EnergyChannelError(f"{path}: expected channels 0..31, found {sorted(by_channel)}")
    low = np.array([by_channel[c][0] for c in range(NUM_CHANNELS)], dtype=np.float64)
    high = np.array([by_channel[c][1] for c in range(NUM_CHANNELS)], dtype=np.float64)
    return EnergyChannelTable(path.name, low, high)


def _as_datetime64(date: datetime | np.datetime64 | str) -> np.datetime64:
    if isinstance(date, datetime) and date.tzinfo is not None:
        date = date.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(date).astype("M8[ms]")


class ScienceEnergyChannels:
    """Science energy channel definitions of a STIX-CONF working copy, selected by date.

    Parameters
    ----------
    conf_dir
        STIX-CONF root (``Settings.conf_dir``).
    """

    def __init__(self, conf_dir: Path) -> None:
        self.conf_dir = Path(conf_dir)
        self._lock = threading.Lock()
        self._index: list[_IndexRow] | None = None
        self._tables: dict[str, EnergyChannelTable] = {}

    def _read_index(self) -> list[_IndexRow]:
        path = self.conf_dir / DETECTOR_DIR / INDEX_FILE
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
        except OSError as exc:
            raise EnergyChannelError(f"cannot read {path}: {exc}") from exc
        out = []
        for row in rows[1:]:
            cells = [c.strip() for c in row]
            if len(cells) < 4 or not cells[1]:
                continue
            end = None if cells[2].lower() in ("", "none") else np.datetime64(cells[2], "ms")
            out.append(_IndexRow(np.datetime64(cells[1], "ms"), end, cells[3]))
        return out

    def file_for(self, date: datetime | np.datetime64 | str) -> str:
        """Name of the channel definition file valid at ``date`` (UTC).

        Raises
        ------
        EnergyChannelError
            No definition covers ``date``.
        """
        when = _as_datetime64(date)
        with self._lock:
            if self._index is None:
                self._index = self._read_index()
            index = self._index
        for row in index:
            if row.start <= when and (row.end is None or when < row.end):
                return row.file
        raise EnergyChannelError(f"No Science Energy Channels defined for {when}")

    def table_for(self, date: datetime | np.datetime64 | str) -> EnergyChannelTable:
        """The channel table valid at ``date`` (UTC)."""
        name = self.file_for(date)
        with self._lock:
            table = self._tables.get(name)
        if table is None:
            table = read_energy_channel_file(self.conf_dir / DETECTOR_DIR / name)
            with self._lock:
                self._tables[name] = table
        return table


def energy_bands(
    table: EnergyChannelTable, mask: npt.ArrayLike | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lower and upper band edges (keV) for an energy mask (see the module docstring).

    Raises
    ------
    EnergyChannelError
        For a mask that is neither 32 nor 33 long, or has no set bit.
    """
    if mask is None:
        return table.e_lower.copy(), table.e_upper.copy()
    bits = np.asarray(mask).astype(bool).ravel()
    set_bits = np.flatnonzero(bits)
    if len(bits) == NUM_CHANNELS + 1:
        if len(set_bits) < 2:
            raise EnergyChannelError("an energy edge mask needs at least two set edges")
        return table.e_lower[set_bits[:-1]], table.e_upper[set_bits[1:] - 1]
    if len(bits) == NUM_CHANNELS:
        if not len(set_bits):
            raise EnergyChannelError("energy channel mask has no set channel")
        return table.e_lower[set_bits[:1]], table.e_upper[set_bits[-1:]]
    raise EnergyChannelError(f"Energy mask must have 32 or 33 elements, not {len(bits)}")
