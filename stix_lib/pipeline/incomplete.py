"""Science requests that stay incomplete: tracked per packet sequence, reported once when overdue.

A science request (BSD packet sequence) with missing packets yields no product; the LB -> L0
step reports it as a warning ``"<LB file>: incomplete sequence of N packets (counts a..b): reason"``
(:meth:`stix_lib.lb.request_sequences.SequenceReport.messages`). Missing packets usually arrive
with a later TM file; when they do not, an operator must ask for them. :func:`track` keeps one
row per incomplete sequence (key: LB file and first sequence count) in the pipeline database —
first and last seen — and drops it when a later run of that LB file no longer reports it
(completed). :func:`overdue` lists the sequences incomplete for longer than the threshold
(setting ``request_incomplete_alert``) that were not alerted yet; :func:`mark_alerted` records
the mail, so each is reported once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from stix_lib.db.schema import incomplete_requests

_MESSAGE = re.compile(r"^(?P<lb>[^:]+): incomplete sequence of \d+ packets \(counts (?P<first>\d+)\.\.\d+\): .*$")


@dataclass(frozen=True)
class IncompleteRequest:
    """A sequence incomplete since ``first_seen``."""

    key: str
    lb_file: str
    tm_file: str
    message: str
    first_seen: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def track(
    engine: Engine, lb_warnings: Mapping[str, Iterable[str]], tm_of: Mapping[str, str], now: datetime | None = None
) -> None:
    """Record the incomplete sequences reported for the LB files of a run; forget completed ones.

    Parameters
    ----------
    engine
        Pipeline database.
    lb_warnings
        LB file (path or name) -> the warnings of its LB -> L0 step (every LB file of the run).
    tm_of
        LB file -> a TM file that delivered packets to it (named in the alert).
    now
        Time of the run (default: now, UTC).
    """
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        for lb, warnings in lb_warnings.items():
            lb_name = Path(lb).name
            seen: dict[str, str] = {}
            for text in warnings:
                match = _MESSAGE.match(text)
                if match and match["lb"] == lb_name:
                    seen[f"{lb_name}#{match['first']}"] = text
            stored = {
                row.key: row
                for row in conn.execute(select(incomplete_requests).where(incomplete_requests.c.lb_file == lb_name))
            }
            for key in set(stored) - set(seen):  # complete now (or no longer reported)
                conn.execute(incomplete_requests.delete().where(incomplete_requests.c.key == key))
            for key, text in seen.items():
                if key in stored:
                    conn.execute(
                        incomplete_requests.update()
                        .where(incomplete_requests.c.key == key)
                        .values(message=text, last_seen=now)
                    )
                else:
                    conn.execute(
                        incomplete_requests.insert().values(
                            key=key, lb_file=lb_name, tm_file=Path(tm_of.get(lb, "")).name, message=text,
                            first_seen=now, last_seen=now,
                        )
                    )  # fmt: skip


def overdue(engine: Engine, threshold: timedelta, now: datetime | None = None) -> list[IncompleteRequest]:
    """Sequences incomplete for at least ``threshold`` and not alerted yet, oldest first."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            select(incomplete_requests)
            .where(incomplete_requests.c.alerted_at.is_(None))
            .order_by(incomplete_requests.c.first_seen, incomplete_requests.c.key)
        ).all()
    return [
        IncompleteRequest(row.key, row.lb_file, row.tm_file, row.message, _aware(row.first_seen))
        for row in rows
        if now - _aware(row.first_seen) >= threshold
    ]


def mark_alerted(engine: Engine, keys: Iterable[str], now: datetime | None = None) -> None:
    """Record that the data-problem mail of these sequences went out."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        for key in keys:
            conn.execute(incomplete_requests.update().where(incomplete_requests.c.key == key).values(alerted_at=now))
