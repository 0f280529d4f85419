"""The ANC aspect ephemeris product (``solo_ANC_stix-asp-ephemeris``): layout and writing.

Level ``ANC``, type ``asp``, name ``ephemeris``, ``STYPE/SSTYPE/SSID`` = 0/0/1, version 2, one
daily incomplete file per UTC day (processing spec §4.6.1)::

    ANC/YYYY/MM/DD/ASP/solo_ANC_stix-asp-ephemeris_YYYYMMDD_V02U.fits

HDUs ``PRIMARY``, ``CONTROL``, ``DATA``, ``IDB_VERSIONS``, serialised by the L1 product writer
(:func:`stix_lib.products.fits_io.product_bytes`, ``time`` as centiseconds from ``OBT_BEG``) and
written atomically under the folder lock of :mod:`stix_lib.products.writer`. CONTROL is the HK
file's CONTROL with ``parent`` = the complete HK file name; IDB_VERSIONS are the HK file's. DATA:

==============================  =======  ======================================================
column                          unit     value
==============================  =======  ======================================================
``time``, ``timedel``           s, cs    on-board time of the HK row, 0
``time_utc``                             ISO UTC (milliseconds)
``control_index``                        CONTROL row
``spice_disc_size``             arcsec   apparent solar radius
``y_srf``, ``z_srf``            arcsec   Sun centre in the spacecraft frame (IDL), float32
``sas_ok``                               SAS solution valid (IDL)
``sas_error``                            STX-GSW error text (IDL)
``solo_loc_carrington_lonlat``  deg      (lon, lat) — heliographic Stonyhurst values, as
                                         STIXCore writes under this name
``solo_loc_carrington_dist``    km       distance Sun–spacecraft
``solo_loc_heeq_zxy``           km       HEEQ (x, y, z), in that order despite the name
``roll_angle_rpy``              deg      roll, pitch, yaw of STIX vs ``SOLO_SUN_RTN`` (NaN: no CK)
==============================  =======  ======================================================

The primary header is the L1 header (:func:`stix_lib.products.header.l1_primary_cards`: common
keywords, times, SPICE observer keywords at the data centre) with ``BUNIT = 'arcsec'``,
``DATAMIN``/``DATAMAX`` over ``y_srf`` and ``z_srf`` and ``STX_GSW`` (the STX-GSW version that
computed the solution), HISTORY naming the step. An existing file of the day (incomplete or
complete twin) is merged with the new rows, newest wins per centisecond time
(:func:`stix_lib.products.merge.combine`); an unchanged result is not rewritten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from stix_lib.atomic import atomic_write_bytes, remove_stale_temps
from stix_lib.daily.aspect_table import AspectInput
from stix_lib.daily.idl_bridge import FileSolution
from stix_lib.fits.reader import TableData, UnsupportedLayout, read_fits_tables, serialized_columns
from stix_lib.products.catalogue import ProductSpec
from stix_lib.products.clock import SpiceClock, utc_span
from stix_lib.products.fits_io import product_bytes
from stix_lib.products.header import Card, NoSoopKeywords, l1_primary_cards, soop_cards
from stix_lib.products.l0_l1_names import complete_name
from stix_lib.products.merge import combine, split_by_utc_day
from stix_lib.products.model import Product, control_base, snap_times
from stix_lib.products.table import Column, ColumnTable
from stix_lib.products.writer import folder_lock
from stix_lib.spice.fits_keywords import spice_fits_keywords
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.spice.positions import auxiliary_positions
from stix_lib.time.scet import SCETime, scet_from_float

log = logging.getLogger(__name__)

LEVEL = "ANC"
#: The product kind (service 0/0, SSID 1 as STIXCore's ``Ephemeris``).
EPHEMERIS = ProductSpec(0, 0, 1, "anc-aspect", "asp", "ephemeris", "ephemeris", version=2, daily=True)
#: DATA columns in file order.
DATA_COLUMNS: tuple[str, ...] = (
    "time",
    "timedel",
    "time_utc",
    "control_index",
    "spice_disc_size",
    "y_srf",
    "z_srf",
    "sas_ok",
    "sas_error",
    "solo_loc_carrington_lonlat",
    "solo_loc_carrington_dist",
    "solo_loc_heeq_zxy",
    "roll_angle_rpy",
)


class AspectProductError(RuntimeError):
    """An aspect file cannot be built, read or written (the message names it)."""


@dataclass(frozen=True)
class AspectFile:
    """One daily aspect file written (or found unchanged).

    Attributes
    ----------
    path
        The file (incomplete name).
    written
        False when the merged content equalled the existing file.
    rows
        DATA rows in the file.
    """

    path: Path
    written: bool
    rows: int


def anc_file_name(day: date, version: int) -> str:
    """``solo_ANC_stix-asp-ephemeris_YYYYMMDD_V<vv>U.fits``."""
    return f"solo_ANC_stix-{EPHEMERIS.type}-{EPHEMERIS.name}_{day:%Y%m%d}_V{version:02d}U.fits"


def anc_directory(archive: Path, day: date) -> Path:
    """``<archive>/ANC/YYYY/MM/DD/ASP``."""
    return Path(archive) / LEVEL / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / EPHEMERIS.type.upper()


def build_product(item: AspectInput, solution: FileSolution) -> Product:
    """The aspect product of one HK file: its rows, the IDL solution and the SPICE positions.

    Raises
    ------
    spiceypy.utils.exceptions.SpiceyError
        If the loaded kernels do not cover the positions.
    """
    hk = item.hk
    control = hk.control.copy()
    parent = np.full(len(control), complete_name(item.hk_path.name))
    if "parent" in control:
        control.replace_values("parent", parent)
    else:
        control.add("parent", parent)
    positions = auxiliary_positions(item.et)
    rows = len(item)
    data = ColumnTable()
    data.add("time", hk.time.copy())
    data.add("timedel", np.zeros(rows, dtype=np.int64), "cs")
    data.add("time_utc", np.asarray(item.table["time"], dtype=str))
    data.add("control_index", np.asarray(hk.data["control_index"], dtype=np.int64))
    data.add("spice_disc_size", np.asarray(item.table["spice_disc_size"], dtype=np.float64), "arcsec")
    data.add("y_srf", solution.y_srf.astype(np.float32), "arcsec")
    data.add("z_srf", solution.z_srf.astype(np.float32), "arcsec")
    data.add("sas_ok", solution.sas_ok.astype(bool))
    data.add("sas_error", np.asarray(solution.error, dtype=str))
    data.add("solo_loc_carrington_lonlat", positions.lonlat, "deg")
    data.add("solo_loc_carrington_dist", positions.distance, "km")
    data.add("solo_loc_heeq_zxy", positions.heeq, "km")
    data.add("roll_angle_rpy", positions.roll_pitch_yaw, "deg")
    return Product(EPHEMERIS, LEVEL, control, data, dict(hk.idb_versions)).canonical()


def _table(data: TableData, cache: dict) -> ColumnTable:
    info = serialized_columns(data.comments, cache)
    table = ColumnTable()
    for name, values in data.columns.items():
        extra = info.get(name, {})
        meta = dict(extra.get("meta") or {})
        table.set(name, Column(np.array(values), data.units.get(name), meta, extra.get("description")))
    return table


def read_aspect_file(path: Path) -> Product:
    """Read an aspect file written by :func:`write_aspect` back into a product (exact times).

    Raises
    ------
    AspectProductError
        If the file is unreadable or not an aspect ephemeris file.
    """
    try:
        primary, tables = read_fits_tables(path)
        if str(primary.get("LEVEL", "")).strip() != LEVEL:
            raise ValueError(f"LEVEL is {primary.get('LEVEL')!r}, not {LEVEL}")
        cache: dict = {}
        control, data, idb = (_table(tables[name], cache) for name in ("CONTROL", "DATA", "IDB_VERSIONS"))
        start = float(primary["OBT_BEG"])
        base = control_base(control)
        index = np.asarray(control["index"], dtype=np.int64)
        lookup = np.zeros(int(index.max()) + 1 if len(index) else 1, dtype=np.int64)
        lookup[index] = np.arange(len(index))
        control.replace_values("index", index)
        data.replace_values("control_index", np.asarray(data["control_index"], dtype=np.int64))
        timedel = np.asarray(data["timedel"], dtype=np.int64)
        data.replace_values("timedel", timedel)
        approximate = start + np.asarray(data["time"], dtype=np.float64) / 100.0
        data.replace_values("time", snap_times(approximate, base[lookup[data["control_index"]]], timedel))
        data.column("time").unit = None
        versions = {
            str(v).strip(): (float(a), float(b))
            for v, a, b in zip(idb["version"], idb["obt_start"], idb["obt_end"], strict=True)
        }
    except (OSError, KeyError, ValueError, IndexError, TypeError, UnsupportedLayout) as exc:
        raise AspectProductError(f"{path}: cannot read aspect file: {exc}") from exc
    return Product(EPHEMERIS, LEVEL, control, data, versions)


def _data_range(product: Product) -> tuple[float | str, float | str]:
    values = np.concatenate([np.asarray(product.data[n], dtype=np.float64) for n in ("y_srf", "z_srf")])
    values = values[np.isfinite(values)]
    return (float(values.min()), float(values.max())) if values.size else ("", "")


def primary_cards(
    product: Product, filename: str, version: int, kernels: SpiceKernels, gsw_version: str, date: str | None = None
) -> tuple[list[Card], list[str]]:
    """Primary header of an aspect file: the L1 cards with the aspect range, ``BUNIT`` and ``STX_GSW``."""
    start, end = product.file_obt_range
    utc, centre = utc_span(SpiceClock(kernels), start, end)
    spice = spice_fits_keywords(kernels, SCETime(*scet_from_float(start)), centre)
    soop = soop_cards(NoSoopKeywords(), utc[0], utc[2])
    cards, history = l1_primary_cards(
        product, filename=filename, version=version, utc=utc, spice_cards=spice, soop=soop, date=date
    )
    low, high = _data_range(product)
    replaced = {
        "DATAMIN": (low, "[arcsec] Minimum of y_srf and z_srf"),
        "DATAMAX": (high, "[arcsec] Maximum of y_srf and z_srf"),
        "BUNIT": ("arcsec", "Unit of y_srf and z_srf"),
    }
    out: list[Card] = []
    for key, value, comment in cards:
        value, comment = replaced.get(key, (value, comment))
        out.append((key, value, comment))
        if key == "VERSION":
            out.append(("STX_GSW", gsw_version, "STX-GSW version of the aspect solution"))
    history = [line for line in history if not line.startswith("Processed by stix_lib")]
    history += [f"Aspect solution by STX-GSW {gsw_version} (IDL)", "Processed by stix_lib ANC aspect"]
    return out, history


def write_aspect(
    product: Product,
    archive: Path,
    kernels: SpiceKernels,
    gsw_version: str,
    *,
    version: int = 2,
    date: str | None = None,
) -> list[AspectFile]:
    """Split ``product`` per UTC day and merge each day into its aspect file.

    Parameters
    ----------
    product
        From :func:`build_product`.
    archive
        Archive root (``<archive>/ANC/...``).
    kernels
        SPICE kernels (UTC days, header keywords).
    gsw_version
        ``STX_GSW`` header value.
    version
        File version (``_V02U``).
    date
        Fixed ``DATE`` keyword (tests); default now.

    Raises
    ------
    AspectProductError
        If an existing file of a day cannot be read, or the new content cannot be serialised.
    """
    results = []
    for day, part in split_by_utc_day(product, SpiceClock(kernels).utc_days(product.time)):
        path = anc_directory(archive, day) / anc_file_name(day, version)
        twin = path.with_name(complete_name(path.name))
        with folder_lock(path.parent):
            remove_stale_temps(path)
            existing = None
            for candidate in (twin, path):
                if candidate.exists():
                    found = read_aspect_file(candidate)
                    existing = found if existing is None else combine(found, existing)
            merged = part if existing is None else combine(part, existing)
            if existing is not None and merged.same_content(existing):
                results.append(AspectFile(path, False, len(existing)))
                continue
            cards, history = primary_cards(merged, path.name, version, kernels, gsw_version, date)
            try:
                content = product_bytes(merged, cards, history, None)
            except (ValueError, TypeError) as exc:
                raise AspectProductError(f"{path.name}: cannot serialise: {exc}") from exc
            atomic_write_bytes(path, content)
        log.info("wrote %s (%d rows)", path, len(merged))
        results.append(AspectFile(path, True, len(merged)))
    return results
