"""On-board energy look-up tables (ELUT) from STIX-CONF, selected by date.

STIX-CONF keeps the ELUTs that were active on board in ``elut/``:

* ``elut_index.csv`` — one row per validity interval: ``index, start_date, end_date, elut_file``
  (ISO UTC, ``end_date`` may be ``none`` for the open-ended current table; values may carry
  surrounding spaces). Intervals are half open, ``[start, end)``.
* ``elut_table_<YYYYMMDD>.csv`` — two free-text lines, then the column header
  ``Offset, Gain keV/ADC, Pixel, Detector, ADC Edge 0 … ADC Edge 30``, then one row per pixel
  (32 detectors × 12 pixels). Values may be quoted and padded with spaces; some files end lines
  with ``\r\r\n``. The gain is in keV/ADC in every table (two 2024 tables label it "ADC/keV",
  but their values, ~0.11, are keV/ADC).

:class:`ElutIndex` reads the index once and finds the table for a date with a binary search on the
sorted start times (numpy, no interval-tree dependency); :meth:`ElutIndex.elut_for` returns the
parsed :class:`Elut`, cached per file.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

N_DETECTORS = 32
N_PIXELS = 12
#: Number of ADC edges per pixel in an ELUT (science channel edges 4 keV … 150 keV).
N_ADC_EDGES = 31

#: Stand-in end of an open-ended index row (``end_date = none``).
OPEN_END = np.datetime64("2200-01-01T00:00:00", "us")


class ElutError(ValueError):
    """An ELUT index or table cannot be used; the message names the file and the reason."""


class ElutNotFoundError(ElutError):
    """No ELUT is valid for the requested date."""


@dataclass(frozen=True)
class Elut:
    """One on-board energy look-up table.

    Attributes
    ----------
    name
        File name without ``.csv`` (``elut_table_20200519``); written to CAL products.
    path
        The CSV file.
    offset
        ``(32, 12)`` ADC offset per detector/pixel.
    gain
        ``(32, 12)`` gain in keV/ADC.
    adc
        ``(32, 12, 31)`` ADC values of the science-channel edges (4 keV … 150 keV).
    """

    name: str
    path: Path
    offset: np.ndarray
    gain: np.ndarray
    adc: np.ndarray

    @property
    def energy_edges(self) -> np.ndarray:
        """``(32, 12, 31)`` edge energies in keV implied by the table's own offset and gain."""
        return (self.adc - self.offset[..., None]) * self.gain[..., None]


@dataclass(frozen=True)
class ElutPeriod:
    """One row of ``elut_index.csv``: the table ``file`` is valid in ``[start, end)`` (UTC)."""

    start: np.datetime64
    end: np.datetime64
    file: str


def _to_datetime64(value: datetime | np.datetime64 | str) -> np.datetime64:
    """UTC instant as ``datetime64[us]`` (aware datetimes are converted, naive ones taken as UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return np.datetime64(value, "us")
    if isinstance(value, str):
        text = value.strip().replace("Z", "")
        if "+" in text[10:]:
            text = text[: 10 + text[10:].index("+")]
        return np.datetime64(text, "us")
    return np.datetime64(value).astype("M8[us]")


def _parse_number(text: str, path: Path, line: int) -> float:
    try:
        return float(text.strip().strip('"').strip())
    except ValueError as exc:
        raise ElutError(f"{path}: line {line}: not a number: {text!r}") from exc


def read_elut_table(path: Path) -> Elut:
    """Parse one ``elut_table_*.csv``.

    Raises
    ------
    ElutError
        If the file is missing, has no ``Offset``/``Gain``/``Pixel``/``Detector`` header on line 3,
        has a row with the wrong number of values, or does not cover all 32 × 12 pixels once.
    """
    path = Path(path)
    if not path.is_file():
        raise ElutError(f"ELUT table {path} does not exist")
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        numbered = [(reader.line_num, row) for row in reader]
    # Some tables end lines with "\r\r\n" (empty rows in between): find the header by content.
    header_at = next(
        (i for i, (_, row) in enumerate(numbered[:6]) if row and row[0].strip().lower().startswith("offset")), None
    )
    if header_at is None:
        raise ElutError(f"{path}: no 'Offset, Gain, Pixel, Detector, ADC Edge …' header in the first lines")
    header = [cell.strip() for cell in numbered[header_at][1] if cell.strip()]
    if len(header) != 4 + N_ADC_EDGES or not header[1].lower().startswith("gain"):
        raise ElutError(
            f"{path}: header has {len(header)} columns, expected Offset, Gain, Pixel, Detector, 31 ADC edges"
        )
    offset = np.full((N_DETECTORS, N_PIXELS), np.nan)
    gain = np.full((N_DETECTORS, N_PIXELS), np.nan)
    adc = np.full((N_DETECTORS, N_PIXELS, N_ADC_EDGES), np.nan)
    seen = np.zeros((N_DETECTORS, N_PIXELS), dtype=bool)
    for line, row in numbered[header_at + 1 :]:
        cells = [cell for cell in row if cell.strip() != ""]
        if not cells:
            continue
        if len(cells) != 4 + N_ADC_EDGES:
            raise ElutError(f"{path}: line {line}: {len(cells)} values, expected {4 + N_ADC_EDGES}")
        values = [_parse_number(cell, path, line) for cell in cells]
        pixel, detector = int(values[2]), int(values[3])
        if not (0 <= detector < N_DETECTORS and 0 <= pixel < N_PIXELS):
            raise ElutError(f"{path}: line {line}: detector {detector} / pixel {pixel} out of range")
        if seen[detector, pixel]:
            raise ElutError(f"{path}: line {line}: detector {detector} pixel {pixel} listed twice")
        seen[detector, pixel] = True
        offset[detector, pixel], gain[detector, pixel] = values[0], values[1]
        adc[detector, pixel] = values[4:]
    if not seen.all():
        raise ElutError(f"{path}: {int((~seen).sum())} of {seen.size} detector/pixel rows missing")
    return Elut(name=path.stem, path=path, offset=offset, gain=gain, adc=adc)


def read_elut_index(path: Path) -> list[ElutPeriod]:
    """Parse ``elut_index.csv`` into periods sorted by start time.

    Raises
    ------
    ElutError
        If the file is missing, a row is malformed, a period ends before it starts, or periods
        overlap.
    """
    path = Path(path)
    if not path.is_file():
        raise ElutError(f"ELUT index {path} does not exist")
    periods: list[ElutPeriod] = []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for line, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) < 4:
            raise ElutError(f"{path}: line {line}: expected 'index, start_date, end_date, elut_file'")
        _, start_text, end_text, file = cells[:4]
        try:
            start = _to_datetime64(start_text)
            end = OPEN_END if end_text.lower() in {"none", ""} else _to_datetime64(end_text)
        except ValueError as exc:
            raise ElutError(f"{path}: line {line}: bad date: {exc}") from exc
        if end <= start:
            raise ElutError(f"{path}: line {line}: end {end_text} is not after start {start_text}")
        periods.append(ElutPeriod(start=start, end=end, file=file))
    periods.sort(key=lambda p: p.start)
    for before, after in zip(periods, periods[1:], strict=False):
        if after.start < before.end:
            raise ElutError(f"{path}: periods of {before.file} and {after.file} overlap")
    return periods


class ElutIndex:
    """Date → ELUT lookup over a STIX-CONF ``elut`` folder.

    Parameters
    ----------
    elut_dir
        The folder holding ``elut_index.csv`` and the tables (``<conf_dir>/elut``).
    """

    INDEX_NAME = "elut_index.csv"

    def __init__(self, elut_dir: Path) -> None:
        self.elut_dir = Path(elut_dir)
        self.index_file = self.elut_dir / self.INDEX_NAME
        self.periods = read_elut_index(self.index_file)
        self._starts = np.array([p.start for p in self.periods], dtype="datetime64[us]")
        self._ends = np.array([p.end for p in self.periods], dtype="datetime64[us]")
        self._cache: dict[str, Elut] = {}

    @classmethod
    def from_conf_dir(cls, conf_dir: Path) -> ElutIndex:
        """Index of ``<conf_dir>/elut`` (a STIX-CONF checkout)."""
        return cls(Path(conf_dir) / "elut")

    def period_for(self, when: datetime | np.datetime64 | str) -> ElutPeriod:
        """The index row valid at ``when`` (UTC).

        Raises
        ------
        ElutNotFoundError
            If no period contains ``when``.
        """
        instant = _to_datetime64(when)
        position = int(np.searchsorted(self._starts, instant, side="right")) - 1
        if position < 0 or instant >= self._ends[position]:
            raise ElutNotFoundError(f"No ELUT for {instant} in {self.index_file}")
        return self.periods[position]

    def elut_for(self, when: datetime | np.datetime64 | str) -> Elut:
        """The ELUT valid at ``when`` (parsed once per file, then cached).

        Raises
        ------
        ElutNotFoundError
            If no period contains ``when``.
        ElutError
            If the table file is missing or malformed.
        """
        file = self.period_for(when).file
        if file not in self._cache:
            self._cache[file] = read_elut_table(self.elut_dir / file)
            logger.debug("read ELUT %s", file)
        return self._cache[file]

    def elut_for_range(self, start: datetime | np.datetime64 | str, end: datetime | np.datetime64 | str) -> Elut:
        """The single ELUT valid over ``[start, end]``.

        Raises
        ------
        ElutError
            If the ELUT changes within the range (the on-board table changed during the
            accumulation) or none is valid at either end.
        """
        first, last = self.period_for(start), self.period_for(end)
        if first.file != last.file:
            raise ElutError(
                f"ELUT changes within {_to_datetime64(start)} .. {_to_datetime64(end)}: "
                f"{first.file} -> {last.file} ({self.index_file})"
            )
        return self.elut_for(start)

    def clear_cache(self) -> None:
        """Forget the parsed tables."""
        self._cache.clear()

    @property
    def cache_size(self) -> int:
        """Number of parsed tables held."""
        return len(self._cache)
