"""Refreshing the RID LUT from the data-center API.

The API answers ``GET <url><YYYYMMDD>/<YYYYMMDD>`` (start and end date) with the requests of that
period as CSV (same columns as the LUT, see :mod:`stix_lib.ridlut.table`). :func:`update_rid_lut`

1. starts at the date of the latest ``start_utc`` already in the file (that window is fetched
   again, so requests added later that day are not missed), or at 2019-01-01 when there is no
   usable file;
2. fetches consecutive 30-day windows until today, at most one call per ``throttle`` seconds (the
   API allows two calls per second), each with a timeout;
3. stops at the first failing call (network error, HTTP error, bad CSV) and keeps what it has; the
   error is returned, not raised — a stale LUT is better than none;
4. merges: a row with the same ``_id`` as a stored row replaces it (the API corrected it), rows
   without ``_id`` are kept once per distinct content; then the file is replaced atomically.

Only ``http``/``https`` URLs are accepted; the URL comes from the ``rid_lut_update_url`` setting.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from stix_lib.ridlut.table import RidLut, RidLutError, Row, parse_rows, write_rows_atomic

log = logging.getLogger(__name__)

#: First day of the LUT (before Solar Orbiter's launch).
FIRST_DATE = date(2019, 1, 1)
#: Length of one API window.
WINDOW = timedelta(days=30)


@dataclass
class RidLutUpdate:
    """What an update did.

    Attributes
    ----------
    path
        The LUT file.
    urls
        The API calls that succeeded, in order.
    fetched_rows
        Rows the API returned (before merging).
    added_rows, replaced_rows
        Rows new to the file, and stored rows replaced by a changed API row (same ``_id``).
    total_rows
        Rows in the file afterwards.
    written
        Whether the file was (re)written.
    error
        The first failure (``"RID API ERROR …"``), None if every window was fetched.
    """

    path: Path
    urls: list[str] = field(default_factory=list)
    fetched_rows: int = 0
    added_rows: int = 0
    replaced_rows: int = 0
    total_rows: int = 0
    written: bool = False
    error: str | None = None


def window_url(base_url: str, start: date, end: date) -> str:
    """``<base_url>/<YYYYMMDD>/<YYYYMMDD>`` (exactly one ``/`` after the base)."""
    return f"{base_url.rstrip('/')}/{start:%Y%m%d}/{end:%Y%m%d}"


def _check_url(url: str) -> None:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        raise ValueError(f"RID LUT update URL must be http(s), got {url!r}")


def _fetch(url: str, timeout: float) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "stix-pipeline rid-lut", "Accept": "text/csv"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
        charset = response.headers.get_content_charset() or "utf-8"
        return response.read().decode(charset)


def merge_rows(stored: list[Row], fetched: list[Row]) -> tuple[list[Row], int, int]:
    """Merge API rows into stored rows.

    Returns
    -------
    (rows, added, replaced)
        The merged rows (stored order, new rows appended), how many were new and how many stored
        rows were replaced by a changed API row with the same ``_id``.
    """
    merged: list[Row] = []
    by_id: dict[str, int] = {}
    seen: set[tuple[tuple[str, str], ...]] = set()
    added = replaced = 0
    for index, row in enumerate([*stored, *fetched]):
        is_new = index >= len(stored)
        key = row.get("_id", "").strip()
        if key:
            if key in by_id:
                position = by_id[key]
                if merged[position] != row:
                    merged[position] = row
                    replaced += is_new
                continue
            by_id[key] = len(merged)
        else:
            content = tuple(sorted(row.items()))
            if content in seen:
                continue
            seen.add(content)
        merged.append(row)
        added += is_new
    return merged, added, replaced


def update_rid_lut(
    path: Path,
    url: str,
    *,
    today: date | None = None,
    timeout: float = 30.0,
    throttle: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> RidLutUpdate:
    """Bring the LUT file up to date from the API.

    Parameters
    ----------
    path
        The LUT CSV (created with its folder when missing).
    url
        API base URL, e.g. ``https://datacenter.stix.i4ds.net/api/bsd/info/``.
    today
        Fetch windows up to this UTC date (default: today).
    timeout
        Seconds per API call.
    throttle
        Minimum seconds between the starts of two calls.
    sleep
        Sleep function (tests pass a recorder).

    Returns
    -------
    RidLutUpdate
        What was fetched and written; ``error`` names the call that failed, if any.

    Raises
    ------
    ValueError
        If ``url`` is not http(s).
    """
    _check_url(url)
    path = Path(path)
    today = today or datetime.now(UTC).date()
    result = RidLutUpdate(path=path)
    stored: list[Row] = []
    if path.exists():
        try:
            table = RidLut.read(path)
            stored = table.rows
        except (RidLutError, UnicodeDecodeError) as exc:
            log.warning("RID LUT %s is unreadable (%s): fetching it again from %s", path, exc, FIRST_DATE)
            table = RidLut()
    else:
        table = RidLut()
    latest = table.latest_start_date()
    start = date.fromisoformat(latest) if latest else FIRST_DATE

    fetched: list[Row] = []
    last_call: float | None = None
    while start < today:
        end = start + WINDOW
        call_url = window_url(url, start, end)
        if last_call is not None:
            wait = throttle - (time.monotonic() - last_call)
            if wait > 0:
                sleep(wait)
        last_call = time.monotonic()
        try:
            rows = parse_rows(_fetch(call_url, timeout), source=call_url)
        except (OSError, urllib.error.URLError, RidLutError, UnicodeDecodeError, ValueError) as exc:
            result.error = f"RID API ERROR {call_url}: {exc}"
            log.warning("%s; keeping the rows fetched so far", result.error)
            break
        result.urls.append(call_url)
        fetched += rows
        start = end

    result.fetched_rows = len(fetched)
    merged, result.added_rows, result.replaced_rows = merge_rows(stored, fetched)
    result.total_rows = len(merged)
    if result.added_rows or result.replaced_rows or not path.exists() or len(merged) != len(stored):
        write_rows_atomic(path, merged)
        result.written = True
    log.info(
        "RID LUT %s: %d API call(s), %d row(s) fetched, %d added, %d replaced, %d total",
        path, len(result.urls), result.fetched_rows, result.added_rows, result.replaced_rows, result.total_rows,
    )  # fmt: skip
    return result
