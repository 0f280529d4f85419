"""FITS primary-header keywords shared by every STIX product, plus the LB-specific ones.

:func:`common_header` builds the keywords every level writes (spec: common primary header);
:func:`lb_primary_header` adds what Level Binary files carry. Values that would change between
identical runs (``DATE``) can be passed in for reproducible output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import stix_lib

if TYPE_CHECKING:
    from astropy.io import fits

ORIGIN = "STIX Team, FHNW"
CREATOR = "stix_lib"
OBSRVTRY = "Solar Orbiter"
TELESCOP = "SOLO/STIX"
INSTRUME = "STIX"
#: ``BLANK`` of every primary header (STIXCore writes 2**32 - 1, processing spec §6.2).
BLANK = 2**32 - 1
#: ``VERS_CFG`` when STIX-CONF has no ``VERSION.TXT``: STIXCore's fallback (processing spec §6.2).
CONF_VERSION_FALLBACK = "v0.1.5code"
#: ``SCI_RID`` of LB files that belong to no request: STIXCore formats the request-id cell of
#: such files, a boolean ``False``, as ten digits (processing spec §3.4).
LB_NO_REQUEST_RID = "0000000000"


def obt_string(coarse: int, fine: int) -> str:
    """On-board time as ``cccccccccc:fffff`` (10-digit coarse, 5-digit fine)."""
    return f"{int(coarse):010d}:{int(fine):05d}"


def creation_date() -> str:
    """Current UTC time, ISO format with milliseconds (the ``DATE`` keyword)."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def common_header(
    *,
    filename: str,
    level: str,
    service_type: int,
    service_subtype: int,
    ssid: int | None,
    version: int,
    raw_files: Iterable[str] = (),
    parents: Iterable[str] = (),
    vers_cfg: str = "",
    request: tuple[int, int] | None = None,
    date: str | None = None,
) -> list[tuple[str, object, str]]:
    """Return the common primary-header cards ``(keyword, value, comment)``.

    Parameters
    ----------
    filename
        The product file name (``FILENAME``).
    level
        Processing level (``LB``, ``L0``, ``L1`` ...).
    service_type, service_subtype, ssid
        Packet type of the product (``STYPE``, ``SSTYPE``, ``SSID``; ``SSID`` empty when none).
    version
        Processing version (``VERSION``, two digits).
    raw_files, parents
        Names joined with ``;`` into ``RAW_FILE`` / ``PARENT`` (sorted, duplicates removed, so the
        header does not depend on delivery order).
    vers_cfg
        STIX-CONF version (``VERS_CFG``).
    request
        ``(psc, rid)`` of a science request: ``SCI_RID`` (10 digits) and ``SCI_TCC`` (5 digits);
        empty otherwise.
    date
        Creation time (``DATE``); default now (UTC).
    """
    psc, rid = request if request is not None else (None, None)
    return [
        ("FILENAME", filename, "FITS filename"),
        ("RAW_FILE", ";".join(sorted(set(raw_files))), "Raw filename(s)"),
        ("PARENT", ";".join(sorted(set(parents))), "Source file(s)"),
        ("DATE", date or creation_date(), "FITS file creation date in UTC"),
        ("BLANK", BLANK, "Value marking undefined pixels"),
        ("LEVEL", level, "Processing level of the data"),
        ("ORIGIN", ORIGIN, "Location where file has been generated"),
        ("CREATOR", CREATOR, "FITS creation software"),
        ("VERS_SW", stix_lib.__version__, "Version of the software"),
        ("VERS_CFG", vers_cfg, "Version of the common instrument configuration"),
        ("VERSION", f"{version:02d}", "Version of data product"),
        ("OBSRVTRY", OBSRVTRY, "Satellite name"),
        ("TELESCOP", TELESCOP, "Telescope/Sensor name"),
        ("INSTRUME", INSTRUME, "Instrument name"),
        ("STYPE", service_type, "Packet service type"),
        ("SSTYPE", service_subtype, "Packet service subtype"),
        ("SSID", "" if ssid is None else ssid, "Science structure id"),
        ("SCI_RID", "" if rid is None else f"{rid:010d}", "Science data request id"),
        ("SCI_TCC", "" if psc is None else f"{psc:05d}", "Science data TC packet sequence control"),
    ]


def lb_primary_cards(
    *,
    filename: str,
    service_type: int,
    service_subtype: int,
    ssid: int | None,
    version: int,
    obt_begin: tuple[int, int],
    obt_end: tuple[int, int],
    raw_files: Sequence[str],
    vers_cfg: str = "",
    request: tuple[int, int] | None = None,
    date: str | None = None,
) -> tuple[list[tuple[str, object, str]], list[str]]:
    """Return the primary-header cards of an LB file and its HISTORY lines.

    Common keywords (:func:`common_header`, ``PARENT`` = the raw telemetry files) followed by the
    OBT range: ``OBT_BEG``, ``OBT_END``, ``TIMESYS='OBT'``, ``DATE-OBS``, ``DATE-BEG``, ``DATE-END``.
    Comments are dropped where a long value would not leave room for them.
    """
    cards = common_header(
        filename=filename,
        level="LB",
        service_type=service_type,
        service_subtype=service_subtype,
        ssid=ssid,
        version=version,
        raw_files=raw_files,
        parents=raw_files,
        vers_cfg=vers_cfg,
        request=request,
        date=date,
    )
    if request is None:
        cards = [(k, LB_NO_REQUEST_RID if k == "SCI_RID" else v, c) for k, v, c in cards]
    begin, end = obt_string(*obt_begin), obt_string(*obt_end)
    cards += [
        ("OBT_BEG", begin, "Start of acquisition time in OBT"),
        ("OBT_END", end, "End of acquisition time in OBT"),
        ("TIMESYS", "OBT", "System used for time keywords"),
        ("DATE-OBS", begin, "Start of acquisition time in OBT"),
        ("DATE-BEG", begin, "Start of acquisition time in OBT"),
        ("DATE-END", end, "End of acquisition time in OBT"),
    ]
    cards = [
        (keyword, value, "" if isinstance(value, str) and len(value) + len(comment) > 60 else comment)
        for keyword, value, comment in cards
    ]
    return cards, ["Processed by stix_lib LB"]


def lb_primary_header(**kwargs: Any) -> fits.Header:
    """:func:`lb_primary_cards` as an :class:`astropy.io.fits.Header` (same keyword arguments)."""
    from astropy.io import fits

    cards, history = lb_primary_cards(**kwargs)
    header = fits.Header()
    for keyword, value, comment in cards:
        header[keyword] = (value, comment)
    for line in history:
        header.add_history(line)
    return header
