"""Processing history of the daily products in the pipeline database (STIXCore ``ProcessingHistoryStorage``).

One row per output made: ``name``, ``level``, ``type``, ``version`` of the output, the input path
``fits_in_path`` (file name in its complete form, so publishing's rename of an incomplete ``U``
input does not look like a new input), the output path and the processing time ``p_date``.

An output counts as made from the current input (:meth:`DatabaseHistory.has_processed`, STIXCore's
``has_processed_fits_products``) when a row with the same name, level, type, version and input
path has ``p_date`` after the input's creation time (its ``DATE`` header): a re-run does not redo
the work, a rewritten input (new ``DATE``) makes the output due again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from stix_lib.db.schema import processed_fits_products
from stix_lib.daily.ll03_naming import complete_name
from stix_lib.time.utc import as_utc


def history_path(path: Path | str) -> str:
    """The input path as recorded: the file name in its complete form (``_V02U`` → ``_V02``)."""
    path = Path(path)
    return str(path.with_name(complete_name(path.name)))


class DatabaseHistory:
    """:class:`stix_lib.daily.ProcessingHistory` on the ``processed_fits_products`` table.

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
