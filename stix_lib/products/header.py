"""Primary-header keywords of L0 and L1 products.

Order (L1; L0 leaves out the SOOP and SPICE blocks and uses OBT strings for the dates)::

    SIMPLE BITPIX NAXIS EXTEND
    FILENAME RAW_FILE PARENT DATE BLANK LEVEL ORIGIN CREATOR VERS_SW VERS_CFG VERSION
    OBSRVTRY TELESCOP INSTRUME STYPE SSTYPE SSID SCI_RID SCI_TCC      (common, stix_lib.lb.header)
    DATAMIN DATAMAX BUNIT XPOSURE XPOMAX
    OBS_MODE OBS_TYPE OBS_ID SOOPNAME SOOPTYPE TARGET                  (L1, SOOP provider)
    OBT_BEG OBT_END TIMESYS DATE-OBS DATE-BEG DATE-AVG DATE-END
    SPICE_MK [SPICE_ER] RSUN_ARC ... DATE_SUN                          (L1, spice_fits_keywords)
    TRIG_SCA                                                           (when triggers were descaled)
    CHECKSUM DATASUM, HISTORY

L0 headers give the exact OBT range; L1 headers the range as the file stores it
(:attr:`~stix_lib.products.model.Product.file_obt_range`: the end on the centisecond grid of the
DATA times) with ``DATE-AVG`` the midpoint of the UTC start and end
(:func:`~stix_lib.products.clock.utc_span`), as STIXCore writes them. Only count products give
``DATAMIN``/``DATAMAX``/``BUNIT``/``XPOSURE``/``XPOMAX``; all others write 0 / 0 / " " / 0 / 0.

Everything here is a function of the product content (and of the software/configuration
versions), so rewriting a file with the same rows gives the same header apart from ``DATE``,
``CHECKSUM``, ``DATASUM`` and ``VERS_SW``. ``RAW_FILE`` and ``PARENT`` are the sorted distinct
values of the CONTROL columns ``raw_file`` and ``parent``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from stix_lib.lb.header import common_header
from stix_lib.products.model import Product
from stix_lib.time.scet import FINE_FLOAT_SCALE, MAX_COARSE, scet_from_float, scet_to_string

Card = tuple[str, Any, str]

#: SOOP/observation keywords of L1 headers, in order, with their comments.
SOOP_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("OBS_MODE", "Observation mode"),
    ("OBS_TYPE", "Encoded version of OBS_MODE"),
    ("OBS_ID", "Unique ID of the individual observation"),
    ("SOOPNAME", "Name of the SOOP campaign the data belong to"),
    ("SOOPTYPE", "Campaign ID(s) the data belong to"),
    ("TARGET", "Type of target from planning"),
)

#: Descaling factor of quick-look triggers compressed with scheme (0, 0, 7).
QL_TRIGGER_FACTOR = 30

_COUNT_COLUMNS = {"lightcurve": "counts", "background": "counts", "calibration": "counts", "spectra": "spectra"}


class SoopKeywordProvider(Protocol):
    """Source of the SOOP keywords of L1 headers (implemented by the SOOP manager)."""

    def keywords(self, utc_start: Any, utc_end: Any) -> list[Card]:
        """``OBS_MODE, OBS_TYPE, OBS_ID, SOOPNAME, SOOPTYPE, TARGET`` for a UTC time range."""
        ...  # pragma: no cover - protocol


class NoSoopKeywords:
    """Default provider: every SOOP keyword is ``"none"``."""

    def keywords(self, utc_start: Any, utc_end: Any) -> list[Card]:
        """``(key, "none", comment)`` for each SOOP keyword."""
        return [(key, "none", comment) for key, comment in SOOP_KEYWORDS]


def soop_cards(provider: SoopKeywordProvider | None, utc_start: Any, utc_end: Any) -> list[Card]:
    """The six SOOP cards in their fixed order (missing ones ``"none"``; keys case-insensitive)."""
    given = {}
    if provider is not None:
        for key, value, comment in provider.keywords(utc_start, utc_end):
            given[str(key).upper()] = (value, comment)
    out = []
    for key, comment in SOOP_KEYWORDS:
        value, their_comment = given.get(key, ("none", comment))
        out.append((key, "none" if value in (None, "") else value, their_comment or comment))
    return out


def obt_string(seconds: float) -> str:
    """OBT float seconds as ``cccccccccc:fffff``.

    A number in the clock's range is converted here with the arithmetic of
    :func:`~stix_lib.time.scet.scet_from_float` (same result, without numpy); anything else by it.
    """
    if isinstance(seconds, float | int | np.floating | np.integer):
        value = float(seconds)
        if math.isfinite(value) and 0.0 <= value < MAX_COARSE + 1:
            whole = math.floor(value)
            return f"{whole:010d}:{round((value - whole) * FINE_FLOAT_SCALE):05d}"
    coarse, fine = scet_from_float(seconds)
    return str(scet_to_string(coarse, fine))


def _sorted_values(product: Product, column: str) -> list[str]:
    if column not in product.control:
        return []
    values = np.asarray(product.control[column])
    distinct = set((values if values.dtype.kind == "U" else values.astype(str)).tolist())
    distinct.discard("")
    return sorted(distinct)


def data_range_cards(product: Product, *, nan_as_empty: bool = False) -> list[Card]:
    """``DATAMIN``, ``DATAMAX``, ``BUNIT``, ``XPOSURE``, ``XPOMAX``.

    Count products (a ``counts`` column, ``spectra`` for quick-look spectra) give the range of
    their counts and of their bin widths; every other product writes ``0, 0, " ", 0, 0``
    (processing spec §4.2; the V01 references: variance, flare flags, HK have ``XPOSURE = 0``).
    """
    column = _COUNT_COLUMNS.get(product.spec.kind)
    low: float | str = 0.0
    high: float | str = 0.0
    unit = " "
    xmin = xmax = 0.0
    if column and column in product.data and len(product.data):
        # extremes first, then converted: the same numbers (the conversions are monotonic), without
        # a float64 copy of every value
        values = np.asarray(product.data[column])
        if values.dtype.kind not in "iuf":
            values = values.astype(np.float64)
        low, high, unit = float(np.nanmin(values)), float(np.nanmax(values)), "counts"
        timedel = np.asarray(product.data["timedel"])
        xmin, xmax = (float(np.float64(value) / 100.0) for value in (timedel.min(), timedel.max()))
    if nan_as_empty:
        low, high = ("" if isinstance(v, float) and np.isnan(v) else v for v in (low, high))
    return [
        ("DATAMIN", low, "Minimum valid physical value"),
        ("DATAMAX", high, "Maximum valid physical value"),
        ("BUNIT", unit, "Unit of the physical values"),
        ("XPOSURE", xmin, "[s] Shortest exposure (integration) time"),
        ("XPOMAX", xmax, "[s] Longest exposure (integration) time"),
    ]


def descaled_trigger_factor(product: Product) -> int | None:
    """The trigger descaling factor when some triggers were compressed with (0, 0, 7)."""
    for name in ("compression_scheme_triggers_skm",):
        if name in product.control and len(product.control):
            skm = np.asarray(product.control[name]).reshape(len(product.control), -1)
            if np.any(np.all(skm == (0, 0, 7), axis=1)):
                return QL_TRIGGER_FACTOR
    return None


def _base_cards(product: Product, *, filename: str, version: int, vers_cfg: str, date: str | None) -> list[Card]:
    spec = product.spec
    return common_header(
        filename=filename,
        level=product.level,
        service_type=spec.service_type,
        service_subtype=spec.service_subtype,
        ssid=spec.ssid,
        version=version,
        raw_files=_sorted_values(product, "raw_file"),
        parents=_sorted_values(product, "parent"),
        vers_cfg=vers_cfg,
        date=date,
    )


def _extra_cards(product: Product) -> tuple[list[Card], list[str]]:
    factor = descaled_trigger_factor(product)
    if factor is None:
        return [], []
    return [("TRIG_SCA", factor, "Descaling factor of the triggers")], [f"trigger descaled with {factor}"]


def _trim(cards: Sequence[Card]) -> list[Card]:
    """Shorten comments to what fits on the card; drop them next to long string values."""
    out = []
    for key, value, comment in cards:
        if isinstance(value, str):
            out.append((key, value, _string_card_comment(len(value), value.count("'"), comment)))
        else:
            out.append((key, value, comment[:47]))  # 80 - 10 - 20 (value field) - 3
    return out


@functools.lru_cache(maxsize=4096)
def _string_card_comment(length: int, quotes: int, comment: str) -> str:
    """The comment of a string card whose value has ``length`` characters, ``quotes`` of them quotes."""
    if length + len(comment) > 60:
        return ""
    room = 80 - 10 - max(length + quotes + 2, 10) - 3
    return comment[: max(room, 0)]


def l0_primary_cards(
    product: Product, *, filename: str, version: int, vers_cfg: str = "", date: str | None = None
) -> tuple[list[Card], list[str]]:
    """Primary-header cards and HISTORY lines of an L0 file."""
    start, end = product.obt_range
    middle = start + (end - start) / 2.0
    begin = obt_string(start)
    cards = _base_cards(product, filename=filename, version=version, vers_cfg=vers_cfg, date=date)
    cards += data_range_cards(product)
    cards += [
        ("OBT_BEG", start, "Start of acquisition time in OBT"),
        ("OBT_END", end, "End of acquisition time in OBT"),
        ("TIMESYS", "OBT", "System used for time keywords"),
        ("DATE-OBS", begin, "Start of acquisition time in OBT"),
        ("DATE-BEG", begin, "Start of acquisition time in OBT"),
        ("DATE-AVG", obt_string(middle), "Centre of acquisition time in OBT"),
        ("DATE-END", obt_string(end), "End of acquisition time in OBT"),
    ]
    extra, history = _extra_cards(product)
    return _trim(cards + extra), [*history, "Processed by stix_lib L0"]


def l1_primary_cards(
    product: Product,
    *,
    filename: str,
    version: int,
    utc: Sequence[str],
    spice_cards: Sequence[Card],
    soop: Sequence[Card],
    vers_cfg: str = "",
    date: str | None = None,
) -> tuple[list[Card], list[str]]:
    """Primary-header cards and HISTORY lines of an L1 file.

    Parameters
    ----------
    utc
        ISO UTC strings of the start, centre and end of the product.
    spice_cards
        From :func:`stix_lib.spice.spice_fits_keywords`.
    soop
        From :func:`soop_cards`.
    """
    start, end = product.file_obt_range
    cards = _base_cards(product, filename=filename, version=version, vers_cfg=vers_cfg, date=date)
    cards += data_range_cards(product, nan_as_empty=True)
    cards += list(soop)
    cards += [
        ("OBT_BEG", start, "Start of acquisition time in OBT"),
        ("OBT_END", end, "End of acquisition time in OBT"),
        ("TIMESYS", "UTC", "System used for time keywords"),
        ("DATE-OBS", utc[0], "Start of acquisition time in UTC"),
        ("DATE-BEG", utc[0], "Start of acquisition time in UTC"),
        ("DATE-AVG", utc[1], "Centre of acquisition time in UTC"),
        ("DATE-END", utc[2], "End of acquisition time in UTC"),
    ]
    cards += list(spice_cards)
    extra, history = _extra_cards(product)
    return _trim(cards + extra), [*history, "Processed by stix_lib L1"]
