"""UTC helpers for wall-clock datetimes (databases and file headers)."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken as UTC (SQLite returns stored UTC times naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
