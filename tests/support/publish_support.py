"""Synthetic STIX products for the publishing tests (astropy FITS: PRIMARY + DATA table)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits

#: Meta kernels of the shared reference SPICE tree.
FLOWN_MK = "solo_ANC_soc-flown-mk_V999_20200611_001.tm"
PRED_MK = "solo_ANC_soc-pred-mk_V999_20200611_001.tm"

#: Bogus observer values written into synthetic headers (a refresh must replace them).
BOGUS_EPHEMERIS = {"RSUN_ARC": 1.0, "DSUN_OBS": 1.0, "HGLN_OBS": 99.0, "SPICE_ER": "1"}


def iso(when: datetime) -> str:
    """FITS date/time (UTC, ms)."""
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def days_ago(days: float) -> datetime:
    """Now minus ``days`` (UTC)."""
    return datetime.now(UTC) - timedelta(days=days)


def write_product(
    folder: Path,
    name: str,
    *,
    counts: Sequence[float] = (1.0, 2.0, 3.0),
    created: datetime | None = None,
    begin: str | None = "2020-05-05T23:59:59.531",
    end: str = "2020-05-06T23:59:59.688",
    average: str = "2020-05-06T11:59:59.610",
    obt_begin: float | str = 642038387.2001526,
    spice_mk: str | None = f"{PRED_MK}, {FLOWN_MK}",
    header: Mapping[str, object] | None = None,
    mtime: datetime | None = None,
) -> Path:
    """Write a small product FITS file and return its path.

    Parameters
    ----------
    folder, name
        Where and under which file name (the LEVEL keyword comes from the name).
    counts
        Values of the DATA table's ``counts`` column (equal counts = identical DATA).
    created
        ``DATE`` (product creation time); default 30 days ago.
    begin, end, average
        ``DATE-BEG``/``DATE-END``/``DATE-AVG``; ``begin=None`` leaves ``DATE-BEG`` out.
    obt_begin
        ``OBT_BEG`` (float seconds, or ``"cccccccccc:fffff"``).
    spice_mk
        ``SPICE_MK`` (None: no observer keywords at all, like L0).
    header
        More primary keywords.
    mtime
        File modification time (default: ``created``).
    """
    created = created or days_ago(30)
    folder.mkdir(parents=True, exist_ok=True)
    primary = fits.PrimaryHDU()
    cards: dict[str, object] = {
        "FILENAME": name,
        "DATE": iso(created),
        "LEVEL": name.split("_")[1],
        "OBT_BEG": obt_begin,
        "DATE-END": end,
        "DATE-AVG": average,
    }
    if begin is not None:
        cards["DATE-BEG"] = begin
    if spice_mk is not None:
        cards["SPICE_MK"] = spice_mk
        cards.update(BOGUS_EPHEMERIS)
    cards.update(header or {})
    for key, value in cards.items():
        primary.header[key] = value
    primary.header.add_history("Processed by the test suite")
    values = np.asarray(counts, dtype=np.float64)
    data = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="time", format="J", array=np.arange(values.size, dtype=np.int32)),
            fits.Column(name="counts", format="D", array=values),
        ],
        name="DATA",
    )
    path = folder / name
    fits.HDUList([primary, data]).writeto(path, checksum=True, overwrite=True)
    stamp = (mtime or created).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def write_svg(folder: Path, name: str, *, mtime: datetime | None = None) -> Path:
    """Write a tiny SVG plot with the given modification time (default 30 days ago)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n')
    stamp = (mtime or days_ago(30)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def tree_state(*roots: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``roots`` → (content, mtime ns): to prove nothing was touched."""
    state = {}
    for root in roots:
        if root.exists():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    state[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return state


def data_counts(path: Path) -> list[float]:
    """The ``counts`` column of a product."""
    with fits.open(path) as hdul:
        return [float(v) for v in hdul["DATA"].data["counts"]]
