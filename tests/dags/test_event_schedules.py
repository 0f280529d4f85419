"""Schedules of the event-driven design: which asset or clock starts which DAG, and the quiet-day count."""

from __future__ import annotations

import pendulum
import pytest

pytestmark = pytest.mark.airflow

#: DAG -> (daily safety cron, asset names that start it). None: no clock at all.
EVENT_DRIVEN = {
    "stix_tm_ingest": ("0 3 * * *", {"stix_soc_tm"}),
    "stix_spice_sync": ("10 3 * * *", {"stix_soc_from_soc"}),
    "stix_tm_staging": ("20 3 * * *", {"stix_tm_incoming", "stix_spice_kernels"}),
    "stix_fits_nas_sync": ("0 1 * * *", {"stix_fits_l1", "stix_soar_published"}),
    "stix_tm_release_timer": (None, {"stix_tm_incoming", "stix_tm_held"}),
    "stix_pipeline_watch": ("0 0 * * *", {"stix_monitor_rearm"}),
}
#: Calendar jobs stay calendar jobs (daily products also run on new L1 files).
CALENDAR = {"stix_daily_products": "0 8 * * *", "stix_soar_publish": "0 5 * * *", "stix_conf_sync": "20 22 * * *"}
#: Level processing: staging and kernel events, plus one daily safety run (no hourly polling).
PROCESSING = ("40 3 * * *", {"stix_tm_staged", "stix_spice_kernels"})


def _asset_names(condition) -> set[str]:
    from airflow.sdk import Asset

    if isinstance(condition, Asset):
        return {condition.name}
    return set().union(*(_asset_names(c) for c in getattr(condition, "objects", ())))


@pytest.mark.parametrize("dag_id", sorted(EVENT_DRIVEN))
def test_event_driven_schedules(dagbag, dag_id):
    from airflow.sdk import AssetOrTimeSchedule

    cron, assets = EVENT_DRIVEN[dag_id]
    dag = dagbag.get_dag(dag_id)
    timetable = dag.timetable
    if cron is None:
        assert not isinstance(timetable, AssetOrTimeSchedule)
        assert _asset_names(timetable.asset_condition) == assets
    else:
        assert isinstance(timetable, AssetOrTimeSchedule)
        assert (timetable.timetable.expression, str(timetable.timetable.timezone)) == (cron, "UTC")
        assert _asset_names(timetable.asset_condition) == assets
    assert dag.max_active_runs == 1 and dag.catchup is False


@pytest.mark.parametrize(
    ("dag_id", "asset", "source", "interval"),
    [("stix_tm_ingest", "stix_soc_tm", "tm", None), ("stix_spice_sync", "stix_soc_from_soc", "from_soc", 60.0)],
)
def test_exchange_assets_are_watched_by_the_folder_trigger(dagbag, dag_id, asset, source, interval):
    from stix_ops.triggers.folder import ExchangeFolderTrigger

    (watched,) = [a for a in dagbag.get_dag(dag_id).timetable.asset_condition.objects if a.name == asset]
    (watcher,) = watched.watchers
    assert watcher.name == f"{asset}_watcher"
    assert isinstance(watcher.trigger, ExchangeFolderTrigger)
    assert watcher.trigger.serialize() == (
        "stix_ops.triggers.folder.ExchangeFolderTrigger",
        {"source": source, "poke_interval": interval},  # folder, pattern, SSH or local: settings, in the triggerer
    )


def test_watchers_survive_serialization(dagbag):
    """What the dag-processor stores (and the triggerer starts) is our trigger with its kwargs."""
    from airflow.serialization.serialized_objects import DagSerialization

    data = DagSerialization.to_dict(dagbag.get_dag("stix_tm_ingest"))
    text = str(data)
    assert "stix_ops.triggers.folder.ExchangeFolderTrigger" in text and "stix_soc_tm_watcher" in text


@pytest.mark.parametrize(("dag_id", "cron"), sorted(CALENDAR.items()))
def test_calendar_jobs_stay_calendar_jobs(dagbag, dag_id, cron):
    timetable = dagbag.get_dag(dag_id).timetable
    clock = getattr(timetable, "timetable", timetable)  # AssetOrTimeSchedule: its clock part
    assert (clock.expression, str(clock.timezone)) == (cron, "UTC")


def test_level_processing_runs_on_events_and_once_a_day(dagbag):
    from airflow.sdk import AssetOrTimeSchedule

    timetable = dagbag.get_dag("stix_level_processing").timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert (timetable.timetable.expression, _asset_names(timetable.asset_condition)) == PROCESSING


def test_timed_runs_on_a_quiet_day(dagbag):
    """Clock-started runs per day from Airflow's own timetables (asset runs: none on a quiet day)."""
    from stix_ops.runcount import timed_runs_per_dag

    day = pendulum.datetime(2026, 6, 1, tz="UTC")
    counts = timed_runs_per_dag(dagbag.dags.values(), day, day.add(days=1))
    assert {dag_id: counts[dag_id] for dag_id in EVENT_DRIVEN} == {
        "stix_tm_ingest": 1,
        "stix_spice_sync": 1,
        "stix_tm_staging": 1,
        "stix_fits_nas_sync": 1,
        "stix_tm_release_timer": 0,
        "stix_pipeline_watch": 1,
    }
    assert {dag_id: counts[dag_id] for dag_id in CALENDAR} == dict.fromkeys(CALENDAR, 1)
    assert counts["stix_pipeline_monitor"] == 0  # "check now" by hand only
    assert counts["stix_level_processing"] == 1
    paused = ("stix_reprocess", "stix_reprocess_monthly")  # paused outside campaigns
    unpaused = sum(n for dag_id, n in counts.items() if dag_id not in paused)
    assert unpaused <= 10  # issue 19: at most 10 DAG runs on a day without a delivery
