"""Processing-history interface of the daily steps, and the default file-based implementation.

The daily steps must not redo work: an output is up to date when it was made from the current
version of its input, i.e. after the input's ``DATE`` (creation) header. The pipeline's
processing-history database implements :class:`ProcessingHistory` later; until then
:class:`OutputFileHistory` answers from the existing output file itself (its recorded input name
and input ``DATE``, else its modification time).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from stix_lib.time.utc import as_utc

_SOURCE = re.compile(r"<dc:source>(?P<name>\S+) DATE=(?P<date>[^<]*)</dc:source>")


class ProcessingHistory(Protocol):
    """Answers whether an output product was already made from the current input."""

    def has_processed(
        self,
        *,
        name: str,
        level: str,
        product_type: str,
        version: int,
        in_path: Path,
        in_created: datetime,
        out_path: Path,
    ) -> bool:
        """True if ``out_path`` (product ``name``/``level``/``product_type``/``version``) was made
        from ``in_path`` after the input's creation time ``in_created`` (UTC)."""
        ...


def parse_fits_date(text: str) -> datetime:
    """A FITS ``DATE`` value (ISO, UTC, optional fraction) as an aware datetime.

    Raises
    ------
    ValueError
        If the text is not an ISO date.
    """
    return as_utc(datetime.fromisoformat(str(text).strip().replace("Z", "")))


def read_svg_source(path: Path) -> tuple[str, str] | None:
    """``(input name, input DATE)`` recorded in an LL03 SVG, None when absent."""
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(8192)
    except OSError:
        return None
    match = _SOURCE.search(head)
    if match is None:
        return None
    return match.group("name"), match.group("date").strip()


class OutputFileHistory:
    """Default history: look at the existing output file.

    The output is up to date when it exists and either records the same input name with an input
    ``DATE`` not older than ``in_created`` (SVG metadata written by :mod:`stix_lib.daily.ll03_plot`),
    or, for outputs without that record, was modified after ``in_created``.
    """

    def has_processed(
        self,
        *,
        name: str,
        level: str,
        product_type: str,
        version: int,
        in_path: Path,
        in_created: datetime,
        out_path: Path,
    ) -> bool:
        """See :meth:`ProcessingHistory.has_processed`."""
        out_path = Path(out_path)
        if not out_path.is_file():
            return False
        created = as_utc(in_created)
        recorded = read_svg_source(out_path) if out_path.suffix.lower() == ".svg" else None
        if recorded is not None:
            from stix_lib.daily.ll03_naming import complete_name

            recorded_name, recorded_date = recorded
            if recorded_name != complete_name(Path(in_path).name):
                return False
            try:
                return parse_fits_date(recorded_date) >= created
            except ValueError:
                return False
        modified = datetime.fromtimestamp(out_path.stat().st_mtime, tz=UTC)
        return modified > created
