"""The CAL energy-calibration product: one FITS file per calibration spectrum.

Layout (``CAL/YYYY/MM/DD/CAL/solo_CAL_stix-cal-energy_<start>-<end>_V<vv>.fits``, UTC
``YYYYMMDDTHHMMSS`` of the spectrum's start and end, folder by its centre date):

* ``PRIMARY`` — common header (``LEVEL='CAL'``, STYPE/SSTYPE/SSID 21/6/41, ``PARENT`` = the
  complete L1 name), ``DATAMIN=4``, ``DATAMAX=150``, ``BUNIT='keV'``, ``XPOSURE``/``XPOMAX``
  (integration time, s), ``LIVETIME`` (s), SOOP keywords, ``OBT_BEG``/``OBT_END``,
  ``TIMESYS='UTC'``, ``DATE-OBS``/``-BEG``/``-AVG``/``-END`` and the SPICE observer keywords.
* ``CONTROL`` — the L1 control row of the spectrum (``index`` 0) plus ``ob_elut_name`` and
  ``ecc_config_name``.
* ``DATA`` — one row: ``time`` (bin centre, cs after ``OBT_BEG``), ``timedel`` (cs),
  ``control_index`` (0), ``live_time`` (s), ``offset`` (32×12, adu on the 4096-channel scale),
  ``gain`` (32×12, keV/adu), ``goc`` (32×12), ``ecc_error`` (4×32×12: err_P31, err_dE31,
  err_P81, err_dE81), ``gain_range_ok`` (bool), ``e_edges_actual`` (32×12×33 keV: the ELUT ADC
  edges through the fitted offset/gain, padded with 0 and ∞).
* ``IDB_VERSIONS`` — copied from the L1 file.

No ``ENERGIES`` HDU; CAL products are never merged (an existing file is left alone).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Column, Table

from stix_lib.lb.header import common_header

CAL_SERVICE = (21, 6, 41)
CAL_NAME_PREFIX = "solo_CAL_stix-cal-energy"

Card = tuple[str, object, str]


@dataclass(frozen=True)
class CalTiming:
    """Time range of one calibration spectrum.

    Attributes
    ----------
    start, end
        UTC as ``datetime64[ms]``.
    obt_start, obt_end
        On-board time (float seconds).
    timedel_cs
        Accumulation length in centiseconds.
    integration_s
        Integration time from CONTROL (s).
    """

    start: np.datetime64
    end: np.datetime64
    obt_start: float
    obt_end: float
    timedel_cs: int
    integration_s: float

    @property
    def centre(self) -> np.datetime64:
        """Middle of the accumulation."""
        return self.start + (self.end - self.start) // 2


def _stamp(moment: np.datetime64) -> str:
    return np.datetime_as_string(moment, unit="s").replace("-", "").replace(":", "")


def _iso(moment: np.datetime64) -> str:
    return np.datetime_as_string(moment.astype("datetime64[ms]"), unit="ms")


def cal_filename(timing: CalTiming, version: int) -> str:
    """``solo_CAL_stix-cal-energy_<start>-<end>_V<vv>.fits``."""
    return f"{CAL_NAME_PREFIX}_{_stamp(timing.start)}-{_stamp(timing.end)}_V{version:02d}.fits"


def cal_path(archive_dir: Path, timing: CalTiming, version: int) -> Path:
    """``<archive>/CAL/YYYY/MM/DD/CAL/<name>`` (centre date)."""
    day = np.datetime_as_string(timing.centre, unit="D")
    year, month, dom = day.split("-")
    return Path(archive_dir) / "CAL" / year / month / dom / "CAL" / cal_filename(timing, version)


@dataclass(frozen=True)
class CalResult:
    """Calibration values of one spectrum (arrays shaped per detector/pixel)."""

    live_time_s: float
    offset: np.ndarray  # (32, 12) adu
    gain: np.ndarray  # (32, 12) keV/adu
    goc: np.ndarray  # (32, 12)
    ecc_error: np.ndarray  # (4, 32, 12)
    gain_range_ok: bool
    e_edges_actual: np.ndarray  # (32, 12, 33) keV
    elut_name: str
    ecc_config_name: str


def _data_table(timing: CalTiming, result: CalResult) -> Table:
    table = Table()
    table["time"] = Column(np.array([timing.timedel_cs // 2], dtype=np.uint32), unit=u.cs)
    table["timedel"] = Column(np.array([timing.timedel_cs], dtype=np.uint32), unit=u.cs)
    table["control_index"] = Column(np.array([0], dtype=np.uint16))
    table["live_time"] = Column(
        np.array([result.live_time_s]), unit=u.s, description="calibration spectrum live time in seconds"
    )
    table["offset"] = Column(
        result.offset[None].astype(np.float64), unit="adu", description="ADC offset per detector/pixel (ECC + post-fit)"
    )
    table["gain"] = Column(
        result.gain[None].astype(np.float64), unit="keV/adu", description="gain per detector/pixel (ECC + post-fit)"
    )
    table["goc"] = Column(result.goc[None].astype(np.float64), description="ECC goodness of correlation")
    table["ecc_error"] = Column(
        result.ecc_error[None].astype(np.float64),
        description="post-fit errors: err_P31, err_dE31, err_P81, err_dE81 (keV)",
    )
    table["gain_range_ok"] = Column(np.array([result.gain_range_ok]), description="is the gain in the expected range")
    table["e_edges_actual"] = Column(
        result.e_edges_actual[None].astype(np.float64),
        unit=u.keV,
        description="actual energy edges of the on-board ELUT channels (ECC + post-fit)",
    )
    return table


def _control_table(control_row: Table, result: CalResult) -> Table:
    table = control_row.copy()
    if "index" in table.colnames:
        table["index"] = np.zeros(len(table), dtype=table["index"].dtype)
    table["ob_elut_name"] = Column([result.elut_name], description="name of the ELUT active on board")
    table["ecc_config_name"] = Column([result.ecc_config_name], description="name of the ECC configuration used")
    return table


def _table_hdu(table: Table, name: str) -> fits.BinTableHDU:
    hdu = fits.table_to_hdu(table)
    hdu.name = name
    return hdu


def primary_header(
    *,
    filename: str,
    timing: CalTiming,
    result: CalResult,
    version: int,
    parent: str,
    raw_files: Sequence[str],
    vers_cfg: str,
    soop_cards: Sequence[Card],
    spice_cards: Sequence[Card],
    date: str | None = None,
) -> fits.Header:
    """The primary header of a CAL file (see the module docstring)."""
    service_type, service_subtype, ssid = CAL_SERVICE
    cards: list[Card] = list(
        common_header(
            filename=filename,
            level="CAL",
            service_type=service_type,
            service_subtype=service_subtype,
            ssid=ssid,
            version=version,
            raw_files=raw_files,
            parents=[parent],
            vers_cfg=vers_cfg,
            date=date,
        )
    )
    cards += [
        ("DATAMIN", 4, "Minimum valid physical value"),
        ("DATAMAX", 150, "Maximum valid physical value"),
        ("BUNIT", "keV", "Units of physical value"),
        ("XPOSURE", timing.integration_s, "[s] Integration time of the calibration spectrum"),
        ("XPOMAX", timing.integration_s, "[s] Maximum integration time"),
        ("LIVETIME", result.live_time_s, "[s] Live time of the calibration spectrum"),
        *soop_cards,
        ("OBT_BEG", timing.obt_start, "Start of acquisition time in OBT"),
        ("OBT_END", timing.obt_end, "End of acquisition time in OBT"),
        ("TIMESYS", "UTC", "System used for time keywords"),
        ("DATE-OBS", _iso(timing.start), "Start of acquisition time in UTC"),
        ("DATE-BEG", _iso(timing.start), "Start of acquisition time in UTC"),
        ("DATE-AVG", _iso(timing.centre), "Center of acquisition time in UTC"),
        ("DATE-END", _iso(timing.end), "End of acquisition time in UTC"),
        *spice_cards,
    ]
    header = fits.Header()
    for keyword, value, comment in cards:
        header[keyword] = (value, _fitting_comment(keyword, value, comment))
    header.add_history("Processed by stix_lib CAL")
    return header


def _fitting_comment(keyword: str, value: object, comment: str) -> str:
    """``comment`` shortened so the card stays one 80-character line (long strings keep none)."""
    bare = fits.Card(keyword, value).image.rstrip()
    if len(bare) > 80:
        return comment if isinstance(value, str) else ""
    room = 80 - max(len(bare), 30) - 3  # short values are padded to column 30
    return comment[: max(room, 0)]


def write_cal_product(
    path: Path,
    *,
    header: fits.Header,
    timing: CalTiming,
    result: CalResult,
    control_row: Table,
    idb_versions: Table,
) -> Path:
    """Write a CAL file atomically (temporary file in the target folder, then rename).

    Raises
    ------
    FileExistsError
        If ``path`` exists (CAL products are not merged or overwritten).
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"CAL product {path} exists; CAL products are not merged")
    hdul = fits.HDUList(
        [
            fits.PrimaryHDU(header=header),
            _table_hdu(_control_table(control_row, result), "CONTROL"),
            _table_hdu(_data_table(timing, result), "DATA"),
            _table_hdu(idb_versions, "IDB_VERSIONS"),
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        hdul.writeto(tmp, overwrite=True, checksum=True)
        tmp.chmod(0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
