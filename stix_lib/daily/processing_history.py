"""Processing history of the daily products: did an output get made from the current input?

The daily steps must not redo work: an output is up to date when it was made from the current
version of its input, i.e. after the input's ``DATE`` (creation) header.
:class:`ProcessingHistory` is the question; two answers implement it:

* :class:`DatabaseHistory` — the pipeline database (``processed_fits_products``, STIXCore's
  ``ProcessingHistoryStorage``), what the ``stix_daily_products`` DAG uses. One row per output
  made: ``name``, ``level``, ``type``, ``version`` of the output, the input path ``fits_in_path``
  (file name in its complete form, so publishing's rename of an incomplete ``U`` input does not look
  like a new input), the output path and the processing time ``p_date``. An output counts as made
  from the current input (STIXCore's ``has_processed_fits_products``) when a row with the same
  name, level, type, version and input path has ``p_date`` after the input's ``DATE``: a re-run
  does not redo the work, a rewritten input (new ``DATE``) makes the output due again;
* :class:`OutputFileHistory` — the default without a database: the existing output file itself
  (its recorded input name and input ``DATE``, else its modification time).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, select

from stix_lib.db.schema import processed_fits_products
from stix_lib.products.l0_l1_names import complete_name
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
            recorded_name, recorded_date = recorded
            if recorded_name != complete_name(Path(in_path).name):
                return False
            try:
                return parse_fits_date(recorded_date) >= created
            except ValueError:
                return False
        modified = datetime.fromtimestamp(out_path.stat().st_mtime, tz=UTC)
        return modified > created


def history_path(path: Path | str) -> str:
    """The input path as recorded: the file name in its complete form (``_V02U`` → ``_V02``)."""
    path = Path(path)
    return str(path.with_name(complete_name(path.name)))


class DatabaseHistory:
    """:class:`ProcessingHistory` on the ``processed_fits_products`` table.

    Parameters
    ----------
    engine
        The pipeline database (schema migrated, version ≥ 40).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        """True if a row for this output and input has ``p_date`` after ``in_created``.

        ``out_path`` is not compared (as in STIXCore): the output is determined by the other fields.
        """
        t = processed_fits_products
        query = select(t.c.p_date).where(
            t.c.name == name,
            t.c.level == level,
            t.c.type == product_type,
            t.c.version == int(version),
            t.c.fits_in_path == history_path(in_path),
        )
        with self.engine.connect() as conn:
            dates = conn.execute(query).scalars().all()
        created = as_utc(in_created)
        return any(as_utc(p_date) > created for p_date in dates)

    def record(
        self,
        *,
        name: str,
        level: str,
        product_type: str,
        version: int,
        in_path: Path,
        out_path: Path,
        p_date: datetime | None = None,
    ) -> None:
        """Add the row of an output just made (``p_date`` default: now, UTC)."""
        with self.engine.begin() as conn:
            conn.execute(
                processed_fits_products.insert().values(
                    name=name,
                    level=level,
                    type=product_type,
                    version=int(version),
                    fits_in_path=history_path(in_path),
                    fits_out_path=str(out_path),
                    p_date=as_utc(p_date or datetime.now(UTC)),
                )
            )

    def rows(self, level: str | None = None) -> list[dict[str, Any]]:
        """All rows (of one output ``level``), oldest first, ``p_date`` as aware UTC datetimes."""
        t = processed_fits_products
        query = select(t).order_by(t.c.p_date, t.c.id)
        if level is not None:
            query = query.where(t.c.level == level)
        with self.engine.connect() as conn:
            found = [dict(row._mapping) for row in conn.execute(query)]
        for row in found:
            row["p_date"] = as_utc(row["p_date"])
        return found
