"""The ANC aspect product (``solo_ANC_stix-asp-ephemeris``): IDL requirement and input gates.

STIXCore computes the aspect solution from L1 ``hk-maxi`` files with STX-GSW in a licensed IDL
(operations spec §8.5); without IDL it produces nothing. So does this pipeline: while
``idl_gsw_path`` is empty :func:`idl_missing` says so in one line and the daily DAG skips the
product — there is no substitute product. With it set, the IDL command ``idl_executable`` is run
on the due inputs (:mod:`stix_lib.daily.idl_bridge`, :mod:`stix_lib.daily.aspect_run`). The input
gates of STIXCore's ``AspectANC`` step are :func:`aspect_due`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from astropy.io import fits

from stix_lib.daily.processing_history import ProcessingHistory, parse_fits_date
from stix_lib.settings import Settings

IDL_NOT_CONFIGURED = (
    "ANC aspect skipped: no IDL bridge configured (setting idl_gsw_path is empty) - "
    "the aspect product needs STX-GSW in a licensed IDL; no ANC file is made"
)
HK_MAXI_GLOB = "solo_L1_stix-hk-maxi_*.fits"
#: Output identity in the processing history (STIXCore: ``ephemeris``, ``ANC``, ``asp``, version 2).
PRODUCT_NAME, PRODUCT_LEVEL, PRODUCT_TYPE, PRODUCT_VERSION = "ephemeris", "ANC", "asp", 2
#: Data must end this long before the flown meta kernel's date.
FLOWN_MARGIN = timedelta(hours=24)


def idl_missing(settings: Settings) -> str | None:
    """Why the aspect product cannot be made here (one line), ``None`` when an IDL bridge is configured."""
    return IDL_NOT_CONFIGURED if not str(settings.idl_gsw_path).strip() else None


def aspect_inputs(archive: Path, days: Sequence[date] | None) -> list[Path]:
    """L1 ``hk-maxi`` files (all versions, as STIXCore) of ``days`` (``L1/YYYY/MM/DD/HK``) or of the archive."""
    root = Path(archive) / "L1"
    if days is None:
        return sorted(root.rglob(HK_MAXI_GLOB))
    return sorted(p for d in days for p in (root / f"{d:%Y}" / f"{d:%m}" / f"{d:%d}" / "HK").glob(HK_MAXI_GLOB))


def aspect_due(hk_path: Path, flown_mk_date: date | None, history: ProcessingHistory) -> tuple[bool, str]:
    """STIXCore's ``AspectANC`` gates for one L1 ``hk-maxi`` file.

    Due when the input's ``VERSION`` is at least 2, its data end (``DATE-END``) at least 24 h
    before the date of the latest flown meta kernel, and the history has no aspect product made
    from it after its ``DATE``.

    Returns
    -------
    (due, reason)

    Raises
    ------
    ValueError
        If the file has no readable ``VERSION``/``DATE``/``DATE-END`` header.
    """
    hk_path = Path(hk_path)
    try:
        header = fits.getheader(hk_path)
        version = int(str(header["VERSION"]).strip())
        created = parse_fits_date(header["DATE"])
        data_end = parse_fits_date(header["DATE-END"])
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{hk_path}: cannot read VERSION/DATE/DATE-END: {exc}") from exc
    if version < 2:
        return False, f"{hk_path.name}: version {version} < 2"
    if flown_mk_date is None:
        return False, f"{hk_path.name}: no flown meta kernel"
    limit = datetime.combine(flown_mk_date, time(0), tzinfo=UTC) - FLOWN_MARGIN
    if data_end > limit:
        return False, f"{hk_path.name}: data end {data_end.isoformat()} after flown MK date - 24 h ({limit:%Y-%m-%d})"
    out = Path(PRODUCT_LEVEL)  # the output path is not compared by the history
    if history.has_processed(
        name=PRODUCT_NAME,
        level=PRODUCT_LEVEL,
        product_type=PRODUCT_TYPE,
        version=PRODUCT_VERSION,
        in_path=hk_path,
        in_created=created,
        out_path=out,
    ):
        return False, f"{hk_path.name}: already processed"
    return True, f"{hk_path.name}: data end {data_end.date()} covered by flown kernels ({flown_mk_date})"
