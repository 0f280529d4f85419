"""Unpausing stix_soar_publish or stix_reprocess starts no run that was already due (past or today's)."""

from __future__ import annotations

import datetime

import pendulum
import pytest

pytestmark = pytest.mark.airflow

UTC = datetime.UTC


def _next(dagbag, dag_id: str, now: datetime.datetime, monkeypatch, last_run: datetime.datetime | None = None):
    """The next automated run the scheduler would create, from the DAG as the dag-processor serialized it."""
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import DataInterval, TimeRestriction

    from stix_ops import timetables

    monkeypatch.setattr(timetables, "utcnow", lambda: now)
    monkeypatch.setattr("airflow.timetables.trigger.utcnow", lambda: pendulum.instance(now))
    dag = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.get_dag(dag_id)))  # the plugin-registered class
    last = DataInterval(pendulum.instance(last_run), pendulum.instance(last_run)) if last_run else None
    restriction = TimeRestriction(pendulum.instance(dag.start_date), None, catchup=dag.catchup)
    info = dag.timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
    return info.run_after


@pytest.mark.parametrize(("dag_id", "hour"), [("stix_soar_publish", 5), ("stix_reprocess", 0)])
def test_unpausing_waits_for_the_next_cron_time(dagbag, monkeypatch, dag_id, hour):
    noon = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    tomorrow = datetime.datetime(2026, 3, 11, hour, 0, tzinfo=UTC)
    # never ran (first unpause): not today's past run, the next one
    assert _next(dagbag, dag_id, noon, monkeypatch) == tomorrow
    # paused for a week: not the missed runs, not today's
    week_ago = datetime.datetime(2026, 3, 3, hour, 0, tzinfo=UTC)
    assert _next(dagbag, dag_id, noon, monkeypatch, last_run=week_ago) == tomorrow
    # running normally: yesterday's run done, today's is due within the grace (scheduler lag) and runs
    yesterday = datetime.datetime(2026, 3, 9, hour, 0, tzinfo=UTC)
    just_after = datetime.datetime(2026, 3, 10, hour, 3, tzinfo=UTC)
    assert _next(dagbag, dag_id, just_after, monkeypatch, last_run=yesterday) == just_after.replace(minute=0)
    today = datetime.datetime(2026, 3, 10, hour, 0, tzinfo=UTC)
    assert _next(dagbag, dag_id, today - datetime.timedelta(minutes=1), monkeypatch, last_run=yesterday) == today


def test_airflow_default_would_run_at_once(monkeypatch):
    """Why: the stock CronTriggerTimetable with catchup off creates today's past run at once."""
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.trigger import CronTriggerTimetable

    noon = pendulum.datetime(2026, 3, 10, 12, tz="UTC")
    monkeypatch.setattr("airflow.timetables.trigger.utcnow", lambda: noon)
    stock = CronTriggerTimetable("0 5 * * *", timezone="UTC")
    restriction = TimeRestriction(pendulum.datetime(2025, 1, 1, tz="UTC"), None, catchup=False)
    info = stock.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info.run_after == pendulum.datetime(2026, 3, 10, 5, tz="UTC")


def test_backfill_dates_unchanged(dagbag):
    """Backfills (catchup restriction) still get one run per day of the range."""
    from airflow.serialization.serialized_objects import DagSerialization

    dag = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.get_dag("stix_reprocess")))
    infos = list(
        dag.iter_dagrun_infos_between(pendulum.datetime(2024, 3, 1, tz="UTC"), pendulum.datetime(2024, 3, 3, tz="UTC"))
    )
    assert [i.logical_date.day for i in infos] == [1, 2, 3]
