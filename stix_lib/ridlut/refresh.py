"""Refreshing the RID LUT before a publishing run: retries that resume, and the fallback rule.

:func:`refresh_rid_lut` calls :func:`~stix_lib.ridlut.update.update_rid_lut` up to ``attempts``
times; every attempt resumes from the newest request already stored, so a retry fetches only what
is missing. When the API still fails, publishing may go on with the local LUT if it holds at least
one request (it then lacks at most the newest requests, whose products are rarely out of their
waiting period). Without a usable local LUT the delivered BSD products would lack their request
comments for good, so a caller that asks for it (``require_usable``) gets :class:`RidLutUnusable`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stix_lib.ridlut.table import RidLut, RidLutError
from stix_lib.ridlut.update import update_rid_lut

#: Seconds one RID API call may take.
RID_API_TIMEOUT = 30.0
#: Update attempts of the scheduled refresh (each resumes from the newest stored request).
RID_API_ATTEMPTS = 3
#: Seconds between two attempts.
RID_API_RETRY_PAUSE = 20.0


class RidLutUnusable(RuntimeError):
    """The API failed and the local LUT holds no request to publish with."""


@dataclass(frozen=True)
class RidLutRefresh:
    """What a refresh did.

    Attributes
    ----------
    lut_file
        The LUT file.
    calls
        API calls that succeeded (over all attempts).
    added, replaced
        Rows new to the file, and stored rows replaced by a changed API row.
    rows
        Requests in the file afterwards (0 when it cannot be read).
    attempts
        Attempts made.
    error
        The last API error, None when the refresh succeeded.
    """

    lut_file: str
    calls: int
    added: int
    replaced: int
    rows: int
    attempts: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (an Airflow XCom)."""
        return asdict(self)


def refresh_rid_lut(
    path: Path,
    url: str,
    *,
    attempts: int | None = None,
    pause: float | None = None,
    timeout: float | None = None,
    require_usable: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> RidLutRefresh:
    """Refresh the RID LUT from the API, up to ``attempts`` times; decide whether a failure is fatal.

    Parameters
    ----------
    path
        The LUT file.
    url
        RID API base URL.
    attempts, pause, timeout
        Attempts, seconds between them, seconds per API call (default :data:`RID_API_ATTEMPTS`,
        :data:`RID_API_RETRY_PAUSE`, :data:`RID_API_TIMEOUT`, read when called).
    require_usable
        Raise :class:`RidLutUnusable` when the API failed and the LUT holds no request; else the
        failure is only reported in ``error``.
    sleep
        Sleep function between attempts (tests pass a recorder).

    Returns
    -------
    RidLutRefresh
        What was fetched; ``error`` set when the API still failed.

    Raises
    ------
    RidLutUnusable
        ``require_usable`` and the API failed and there is no usable local LUT.
    ValueError
        ``url`` is not http(s).
    """
    attempts = max(1, RID_API_ATTEMPTS if attempts is None else attempts)
    pause = RID_API_RETRY_PAUSE if pause is None else pause
    timeout = RID_API_TIMEOUT if timeout is None else timeout
    calls = added = replaced = 0
    attempt = 0
    while True:
        attempt += 1
        result = update_rid_lut(path, url, timeout=timeout)
        calls, added, replaced = calls + len(result.urls), added + result.added_rows, replaced + result.replaced_rows
        if result.error is None or attempt >= attempts:
            break
        sleep(pause)
    try:
        rows = len(RidLut.read(path))
    except (OSError, RidLutError):
        rows = 0
    if require_usable and result.error and rows == 0:
        raise RidLutUnusable(f"RID LUT refresh failed and {path} holds no request to publish with: {result.error}")
    return RidLutRefresh(str(path), calls, added, replaced, rows, attempt, result.error)
