"""Incident state machine of the monitor (table ``monitor_incidents``).

Each monitor pass produces *findings* (a problem seen now, identified by a stable key such as
``backlog_stuck``, ``unhealthy:scheduler`` or ``run_overdue:<dag>:<run>``) and the set of
*checked kinds* (the checks that could be evaluated this time). :func:`reconcile` then

* opens an incident for a finding whose key has no open incident (state *open*, alert due);
* refreshes an open incident that is still found (``last_seen_at`` and ``details``; the summary
  stays as opened, so alert and recovery mail subjects match; no new mail);
* resolves an open incident whose kind was checked and which was not found (recovery due);
* leaves open incidents of kinds that could not be checked alone (e.g. the backlog rule while the
  REST API is unreachable, or while the window has too few samples): no evidence, no change.

Mails: :func:`due_alerts` lists open incidents whose alert was not sent yet, :func:`due_recoveries`
resolved incidents whose alert went out but whose recovery did not. The caller marks each mail
sent only after the SMTP server accepted it, so a failed send is retried by the next pass, and
every incident produces exactly one alert and one recovery mail. An incident that was resolved
before its alert could be sent gets neither (noted in ``notes``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from stix_lib.db.schema import monitor_incidents
from stix_lib.monitor.samples import aware


@dataclass(frozen=True)
class Finding:
    """A problem observed by one monitor pass.

    Attributes
    ----------
    key
        Stable identity (one open incident per key).
    kind
        Check that produced it: ``backlog_stuck``, ``run_overdue``, ``component_unhealthy``,
        ``airflow_api``.
    summary
        One line (used in mail subjects).
    details
        JSON-serializable facts for the mail body.
    """

    key: str
    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Incident:
    """One stored incident."""

    id: int
    key: str
    kind: str
    summary: str
    details: dict[str, Any]
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None = None
    alert_sent_at: datetime | None = None
    recovery_sent_at: datetime | None = None
    notes: str | None = None

    @property
    def is_open(self) -> bool:
        """True while not resolved."""
        return self.resolved_at is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


@dataclass
class Transitions:
    """What :func:`reconcile` changed."""

    opened: list[Incident] = field(default_factory=list)
    resolved: list[Incident] = field(default_factory=list)
    ongoing: list[Incident] = field(default_factory=list)


def _opt(value: datetime | None) -> datetime | None:
    return aware(value) if value is not None else None


def _incident(row: Any) -> Incident:
    return Incident(
        id=row.id,
        key=row.key,
        kind=row.kind,
        summary=row.summary,
        details=json.loads(row.details or "{}"),
        opened_at=aware(row.opened_at),
        last_seen_at=aware(row.last_seen_at),
        resolved_at=_opt(row.resolved_at),
        alert_sent_at=_opt(row.alert_sent_at),
        recovery_sent_at=_opt(row.recovery_sent_at),
        notes=row.notes,
    )


def _select(*where: Any) -> Any:
    return select(monitor_incidents).where(*where).order_by(monitor_incidents.c.opened_at, monitor_incidents.c.id)


def reconcile(engine: Engine, findings: Iterable[Finding], checked_kinds: Iterable[str], now: datetime) -> Transitions:
    """Apply one monitor pass to the stored incidents (see the module docstring).

    Parameters
    ----------
    engine
        Pipeline database.
    findings
        Problems seen now (keys must be unique).
    checked_kinds
        Kinds that were evaluated now; open incidents of other kinds are left as they are.
    now
        Time of the pass.

    Returns
    -------
    Transitions
        Opened, resolved and still-open incidents.
    """
    now = aware(now)
    found = {f.key: f for f in findings}
    checked = set(checked_kinds) | {f.kind for f in found.values()}
    result = Transitions()
    with engine.begin() as conn:
        open_rows = {row.key: row for row in conn.execute(_select(monitor_incidents.c.resolved_at.is_(None)))}
        for key, finding in found.items():
            details = json.dumps(finding.details, sort_keys=True, default=str)
            if key in open_rows:
                conn.execute(
                    monitor_incidents.update()
                    .where(monitor_incidents.c.id == open_rows[key].id)
                    .values(last_seen_at=now, details=details)  # summary kept: mails of one incident share it
                )
            else:
                conn.execute(
                    monitor_incidents.insert().values(
                        key=key,
                        kind=finding.kind,
                        summary=finding.summary,
                        details=details,
                        opened_at=now,
                        last_seen_at=now,
                    )
                )
        for key, row in open_rows.items():
            if key not in found and row.kind in checked:
                conn.execute(monitor_incidents.update().where(monitor_incidents.c.id == row.id).values(resolved_at=now))
        for key in found:
            row = conn.execute(_select(monitor_incidents.c.key == key, monitor_incidents.c.resolved_at.is_(None))).one()
            (result.ongoing if key in open_rows else result.opened).append(_incident(row))
        resolved_ids = [row.id for key, row in open_rows.items() if key not in found and row.kind in checked]
        if resolved_ids:
            result.resolved = [_incident(r) for r in conn.execute(_select(monitor_incidents.c.id.in_(resolved_ids)))]
    return result


def due_alerts(engine: Engine) -> list[Incident]:
    """Open incidents whose alert mail was not sent yet."""
    with engine.connect() as conn:
        rows = conn.execute(
            _select(monitor_incidents.c.resolved_at.is_(None), monitor_incidents.c.alert_sent_at.is_(None))
        ).all()
    return [_incident(row) for row in rows]


def due_recoveries(engine: Engine) -> list[Incident]:
    """Resolved incidents that were alerted but whose recovery mail was not sent yet.

    Incidents resolved before their alert was sent are marked in ``notes`` here and never mailed.
    """
    with engine.begin() as conn:
        conn.execute(
            monitor_incidents.update()
            .where(
                monitor_incidents.c.resolved_at.is_not(None),
                monitor_incidents.c.alert_sent_at.is_(None),
                monitor_incidents.c.notes.is_(None),
            )
            .values(notes="resolved before its alert mail could be sent: no alert, no recovery mail")
        )
        rows = conn.execute(
            _select(
                monitor_incidents.c.resolved_at.is_not(None),
                monitor_incidents.c.alert_sent_at.is_not(None),
                monitor_incidents.c.recovery_sent_at.is_(None),
            )
        ).all()
    return [_incident(row) for row in rows]


def mark_alert_sent(engine: Engine, incident_id: int, at: datetime) -> None:
    """Record that the alert mail of an incident was accepted by the SMTP server."""
    with engine.begin() as conn:
        conn.execute(
            monitor_incidents.update().where(monitor_incidents.c.id == incident_id).values(alert_sent_at=aware(at))
        )


def mark_recovery_sent(engine: Engine, incident_id: int, at: datetime) -> None:
    """Record that the recovery mail of an incident was accepted by the SMTP server."""
    with engine.begin() as conn:
        conn.execute(
            monitor_incidents.update().where(monitor_incidents.c.id == incident_id).values(recovery_sent_at=aware(at))
        )


def open_incidents(engine: Engine) -> list[Incident]:
    """Incidents not resolved yet, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(_select(monitor_incidents.c.resolved_at.is_(None))).all()
    return [_incident(row) for row in rows]


def all_incidents(engine: Engine) -> list[Incident]:
    """Every stored incident, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(_select()).all()
    return [_incident(row) for row in rows]
