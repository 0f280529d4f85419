"""Backlog samples of the monitor in the pipeline database (table ``monitor_samples``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select

from stix_lib.db.schema import monitor_samples
from stix_lib.monitor.window import Sample

#: Samples older than this are deleted when a new one is recorded.
DEFAULT_RETENTION = timedelta(days=30)


def aware(value: datetime) -> datetime:
    """Return ``value`` with UTC attached when it is naive (SQLite drops the zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class SampleRow:
    """A stored sample with its parts."""

    sampled_at: datetime
    staged: int
    active_tasks: int
    backlog: int
    failed: int
    health: dict[str, str]
    run_id: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "sampled_at": self.sampled_at.isoformat(),
            "staged": self.staged,
            "active_tasks": self.active_tasks,
            "backlog": self.backlog,
            "failed": self.failed,
            "health": self.health,
            "run_id": self.run_id,
        }


def record_sample(
    engine: Engine,
    at: datetime,
    staged: int,
    active_tasks: int,
    *,
    failed: int = 0,
    health: Mapping[str, str] | None = None,
    run_id: str = "",
    retention: timedelta = DEFAULT_RETENTION,
) -> Sample:
    """Store one sample (backlog = ``staged + active_tasks``) and prune samples older than ``retention``.

    Parameters
    ----------
    engine
        Pipeline database.
    at
        Time of the sample.
    staged
        TM files staged but not processed (ledger).
    active_tasks
        Queued plus running task instances (REST API).
    failed
        TM files in state ``failed`` (kept for information; not part of the backlog).
    health
        ``{component: status}``.
    run_id
        Airflow run id (or ``cli``).
    retention
        Samples older than ``at - retention`` are deleted.

    Returns
    -------
    Sample
        The stored sample as the window rule sees it.
    """
    at = aware(at)
    backlog = int(staged) + int(active_tasks)
    with engine.begin() as conn:
        conn.execute(
            monitor_samples.insert().values(
                sampled_at=at,
                staged=int(staged),
                active_tasks=int(active_tasks),
                backlog=backlog,
                failed=int(failed),
                health=json.dumps(dict(health or {}), sort_keys=True),
                run_id=run_id,
            )
        )
        conn.execute(delete(monitor_samples).where(monitor_samples.c.sampled_at < at - retention))
    return Sample(at, backlog)


def window_samples(engine: Engine, until: datetime, min_span: timedelta) -> list[Sample]:
    """Samples the window rule needs: all after ``until - min_span`` plus the newest one before it.

    Parameters
    ----------
    engine
        Pipeline database.
    until
        Newest time to consider (normally the time of the latest sample).
    min_span
        The window's minimum span.

    Returns
    -------
    list of Sample
        Oldest first.
    """
    until = aware(until)
    cutoff = until - min_span
    with engine.connect() as conn:
        anchor = conn.execute(
            select(func.max(monitor_samples.c.sampled_at)).where(monitor_samples.c.sampled_at <= cutoff)
        ).scalar()
        start = aware(anchor) if anchor is not None else cutoff
        rows = conn.execute(
            select(monitor_samples.c.sampled_at, monitor_samples.c.backlog)
            .where(monitor_samples.c.sampled_at >= start, monitor_samples.c.sampled_at <= until)
            .order_by(monitor_samples.c.sampled_at, monitor_samples.c.id)
        ).all()
    return [Sample(aware(row.sampled_at), int(row.backlog)) for row in rows]


def latest_sample(engine: Engine) -> SampleRow | None:
    """The most recent sample, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(monitor_samples).order_by(monitor_samples.c.sampled_at.desc(), monitor_samples.c.id.desc()).limit(1)
        ).first()
    if row is None:
        return None
    return SampleRow(
        sampled_at=aware(row.sampled_at),
        staged=row.staged,
        active_tasks=row.active_tasks,
        backlog=row.backlog,
        failed=row.failed,
        health=json.loads(row.health or "{}"),
        run_id=row.run_id,
    )
