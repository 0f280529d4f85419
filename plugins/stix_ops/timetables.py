"""Timetables of the STIX DAGs (registered with Airflow by ``plugins/stix_timetables_plugin.py``).

:class:`NextCronTimetable` — a cron trigger timetable that, with catchup off, never starts a run
that was already due when the DAG was unpaused. Airflow's own ``CronTriggerTimetable`` with
``catchup=False`` creates the latest past run at once (``scheduled__<today>``, airflow-3-notes
§2.8): unpausing ``stix_soar_publish`` at noon would publish at once, unpausing ``stix_reprocess``
would reprocess today. Here the next run after a pause is the next future cron time, unless the
run due is at most :data:`GRACE` old (a scheduler restart or parse lag right at the cron time
must not drop the day's run). Backfills (catchup restriction) are unchanged.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction
from airflow.timetables.trigger import CronTriggerTimetable

#: A due run this recent is still started (scheduler restart, parse lag at the cron time).
GRACE = datetime.timedelta(minutes=10)


def utcnow() -> datetime.datetime:
    """Now in UTC (a module function so tests can set the clock)."""
    return datetime.datetime.now(datetime.UTC)


class NextCronTimetable(CronTriggerTimetable):
    """``CronTriggerTimetable`` whose first run after a pause is the next future cron time (see module doc)."""

    @property
    def expression(self) -> str:
        """The cron expression (as the SDK timetables name it)."""
        return self._expression

    @property
    def timezone(self) -> Any:
        """The timezone of the cron expression."""
        return self._timezone

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        """The next automated run; with catchup off never one due more than :data:`GRACE` ago."""
        if restriction.catchup:
            return super().next_dagrun_info(
                last_automated_data_interval=last_automated_data_interval, restriction=restriction
            )
        from airflow._shared.timezones.timezone import coerce_datetime

        now = coerce_datetime(utcnow())
        due: Any = None
        if last_automated_data_interval is not None:
            due = self._get_next(last_automated_data_interval.end)
        if due is None or due < now - GRACE:  # never ran, or paused (or stopped) for longer: next future time
            due = self._align_to_next(now - GRACE)
        if restriction.earliest is not None:
            due = max(due, self._align_to_next(restriction.earliest))
        if restriction.latest is not None and restriction.latest < due:
            return None
        return DagRunInfo.interval(coerce_datetime(due - self._interval), due)
