"""The product time that the publishing waiting period is counted from.

STIXCore counts the waiting period from the file's ``st_ctime``. That is the inode change time:
every rename, ``chmod`` or header edit resets it — including the publisher's own ``U`` → complete
rename and its header updates — it cannot be set, and a copy or restore of the archive makes
every file "new" again. It measures when the file was last touched, not when its data changed.

This package uses the **product's own creation time**, the primary-header keyword ``DATE``,
which the product writers set each time they (re)write a file — i.e. exactly when new telemetry
was merged into it. The publisher's rename and header edits, rsync, copies and restores leave it
alone, so the clock restarts when, and only when, the data change. In detail
(:func:`product_time`):

* FITS with a parseable ``DATE`` (ISO 8601; without a zone it is UTC, as the writers write it):
  ``min(DATE, mtime)``. For every file the pipeline writes ``DATE`` ≤ mtime, so this is ``DATE``;
  the ``min`` only guards against a ``DATE`` that lies after the last write (a wrong writer
  clock), which would otherwise hold a product back;
* files without a usable ``DATE`` (SVG plots, foreign FITS): the modification time ``st_mtime``,
  which header edits by the publisher do not concern (it never edits them in place).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path


def parse_fits_date(value: object) -> float | None:
    """Epoch seconds of an ISO ``DATE`` header value (naive = UTC), None if it is not a date/time."""
    if not isinstance(value, str) or "T" not in value:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def header_date(path: Path) -> float | None:
    """The primary-header ``DATE`` of a FITS file as epoch seconds (None if absent or unreadable)."""
    from astropy.io import fits

    try:
        value = fits.getval(path, "DATE", ext=0)
    except (OSError, KeyError, IndexError, ValueError, TypeError):
        return None
    return parse_fits_date(value)


def product_time(path: Path, stat: os.stat_result | None = None) -> float:
    """Epoch seconds the waiting period of ``path`` counts from (see the module docstring).

    Parameters
    ----------
    path
        A product file.
    stat
        Its ``os.stat`` result, if already known.
    """
    path = Path(path)
    mtime = (stat or path.stat()).st_mtime
    if path.suffix.lower() != ".fits":
        return mtime
    created = header_date(path)
    return mtime if created is None else min(created, mtime)
