"""FITS header work of the publisher: atomic header rewrites, publication notes, begin time, DATA comparison.

Header edits never touch the data: the file is re-written from an :class:`~astropy.io.fits.HDUList`
whose data were not accessed, which astropy copies byte for byte. The new file is written to a
temporary name in the destination folder, flushed to disk and renamed over the destination, so
readers see the old or the new file, never a half-written one. HDUs that carried
``CHECKSUM``/``DATASUM`` get them recomputed.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.diff import HDUDiff

from stix_lib.publish.product_name import ProductName
from stix_lib.publish.timestamps import parse_fits_date
from stix_lib.ridlut.table import RidLut
from stix_lib.time.nominal_clock import obt_seconds_to_utc

log = logging.getLogger(__name__)

#: Approximate UTC of spacecraft time zero (the SCET epoch); good to about a minute, see
#: :func:`begin_time`.
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def rewrite_fits(source: Path, target: Path, edit: Callable[[fits.HDUList], None]) -> Path:
    """Write ``source`` with edited headers to ``target`` atomically (``target`` may be ``source``).

    Parameters
    ----------
    source
        FITS file to read.
    target
        Where the result goes (replaced by rename).
    edit
        Changes the headers of the opened file in place; must not touch data.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    target = Path(target)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with fits.open(source, memmap=False, do_not_scale_image_data=True, lazy_load_hdus=False) as hdul:
            checksum = any("CHECKSUM" in hdu.header for hdu in hdul)
            edit(hdul)
            hdul.writeto(temp, checksum=checksum, output_verify="silentfix", overwrite=True)
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def copy_file_atomic(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` through a temporary name and a rename (data flushed first)."""
    target = Path(target)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with Path(source).open("rb") as src, temp.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(source, temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def utc_iso(when: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss.sss`` in UTC (for header notes)."""
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def bsd_comment(name: ProductName, lut: RidLut | None) -> str:
    """``BSD request id: '<rid>' reason: '<description>'`` for a product with a request id in the LUT.

    Returns
    -------
    str
        Empty when the name has no request id, there is no LUT or the rid is not in it.
    """
    rid = name.rid
    if rid is None or lut is None:
        return ""
    reason = lut.reason(rid)
    if not reason:
        log.info("no BSD request comment for %s: rid %d not in the RID LUT", name.name, rid)
        return ""
    return f"BSD request id: '{rid}' reason: '{reason}'"


def published_note(delivered_name: str, when: datetime) -> str:
    """HISTORY line of a delivered file."""
    return f"published to ESA SOAR as '{delivered_name}' on {utc_iso(when)}"


def supplement_note(base_name: str, original_name: str) -> str:
    """COMMENT line of a supplement: which delivered product it belongs to and its original name."""
    return f"supplement data product combine with: {base_name}. Orig filename of this supplement was {original_name}."


def _obt_seconds(value: object) -> float | None:
    """On-board time in seconds from ``1234.5`` or ``"0000001234:32768"`` (None if neither)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if ":" in text:
        coarse, fine = text.split(":", 1)
        return int(coarse) + int(fine) / 65536 if coarse.isdigit() and fine.isdigit() else None
    try:
        return float(text)
    except ValueError:
        return None


def begin_time(header: fits.Header) -> datetime | None:
    """Start of a product's data (UTC), for the "not from the future" guard.

    ``DATE-BEG`` when it is an ISO date/time (products in UTC, L1 and later); otherwise the
    on-board time of ``OBT_BEG`` (or an OBT-form ``DATE-BEG``, as LB/L0 write it) converted
    approximately with the nominal clock (:mod:`stix_lib.time.nominal_clock`). That ignores
    clock drift (well under a few minutes), which does not matter for a guard of days — and needs no
    SPICE kernels. Unsynchronised on-board times (top bit set) land decades in the future, so they
    are caught too.

    Returns
    -------
    datetime or None
        None when the header has neither form.
    """
    iso = parse_fits_date(header.get("DATE-BEG"))
    if iso is not None:
        return datetime.fromtimestamp(iso, UTC)
    for key in ("OBT_BEG", "DATE-BEG"):
        seconds = _obt_seconds(header.get(key))
        if seconds is not None:
            nanos = (obt_seconds_to_utc(seconds) - np.datetime64(0, "ns")).astype(np.int64)
            return _UNIX_EPOCH + timedelta(microseconds=round(int(nanos) / 1000))
    return None


def data_identical(first: Path, second: Path) -> bool:
    """Whether the ``DATA`` HDUs of two FITS files hold the same table (headers ignored).

    Raises
    ------
    KeyError
        If either file has no ``DATA`` HDU.
    FileNotFoundError
        If either file is missing.
    """
    with fits.open(first, memmap=False) as a, fits.open(second, memmap=False) as b:
        return HDUDiff(a["DATA"], b["DATA"], ignore_keywords=["*"]).identical
