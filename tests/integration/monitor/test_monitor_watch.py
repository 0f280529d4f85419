"""The monitor watch: passes in a trigger (no mail there), mails on a worker only when an incident changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from stix_ops.dev.localstack import free_port


@pytest.fixture
def api_down(settings, monkeypatch):
    """The REST API cannot be reached: a pass opens the ``airflow_api`` incident."""
    monkeypatch.setenv("STIX_AIRFLOW_API_URL", f"http://127.0.0.1:{free_port()}")
    from stix_lib.db import connect
    from stix_lib.settings import load_settings

    return connect(load_settings().pipeline_db_url)


def _trigger(segment: timedelta, poll: float = 60.0):
    from stix_ops.triggers.monitor import PipelineWatchTrigger

    return PipelineWatchTrigger(
        poll_interval=poll,
        segment_end=(datetime.now(UTC) + segment).isoformat(),
        run_id="scheduled__test",
        own_dag_id="stix_pipeline_watch",
        processing_dag_id="stix_level_processing",
    )


def _events(trigger, timeout: float = 60.0) -> list[dict]:
    async def collect():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), timeout))


def test_watch_fires_once_an_incident_opens_and_sends_nothing_itself(api_down):
    from stix_lib.monitor import incidents

    (event,) = _events(_trigger(timedelta(hours=1)))
    assert event["status"] == "incident" and event["opened"] == ["airflow_api"] and event["due_mails"] == 1
    assert event["passes"] == 1  # fired on the first pass, not at the segment end
    assert [i.key for i in incidents.due_alerts(api_down)] == ["airflow_api"]  # left for the worker to send

    for incident in incidents.due_alerts(api_down):  # the worker sent the alert
        incidents.mark_alert_sent(api_down, incident.id, datetime.now(UTC))
    (quiet,) = _events(_trigger(timedelta(seconds=1)))  # still broken, nothing due: a quiet segment
    assert quiet["status"] == "segment_end" and quiet["due_mails"] == 0 and quiet["opened"] == []
    assert quiet["findings"] == ["airflow_api"]


def test_serialize_round_trip():
    from stix_ops.triggers.monitor import PipelineWatchTrigger

    path, kwargs = _trigger(timedelta(hours=1)).serialize()
    assert path == "stix_ops.triggers.monitor.PipelineWatchTrigger"
    assert PipelineWatchTrigger(**kwargs).serialize() == (path, kwargs)


class _Run:
    def __init__(self, run_type: str) -> None:
        self.run_type = run_type


def test_operator_defers_in_segments_and_mails_one_alert_on_an_incident(api_down, smtp_sink):
    from airflow.sdk.exceptions import TaskDeferred

    from stix_ops.operators.monitor_watch import PipelineWatchOperator
    from stix_ops.triggers.monitor import PipelineWatchTrigger

    op = PipelineWatchOperator(task_id="check_pipeline", segment=timedelta(hours=1), window=timedelta(hours=3))
    context = {"dag_run": _Run("scheduled"), "run_id": "scheduled__test"}
    with pytest.raises(TaskDeferred) as first:
        op.execute(context)
    deferred = first.value
    assert isinstance(deferred.trigger, PipelineWatchTrigger) and deferred.method_name == "resume"
    assert deferred.timeout == pytest.approx(timedelta(hours=1, minutes=30), abs=timedelta(seconds=5))
    window_end = deferred.kwargs["window_end"]

    with pytest.raises(TaskDeferred):  # quiet segment inside the window: watch on
        op.resume(context, {"status": "segment_end", "passes": 4}, window_end=window_end)
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    assert op.resume(context, {"status": "segment_end"}, window_end=past)["incident"] is False
    assert smtp_sink.messages == []

    result = op.resume(context, {"status": "incident", "opened": ["airflow_api"]}, window_end=window_end)
    alert = "[STIX pipeline] ALERT Airflow REST API unavailable to the monitor"
    assert result["incident"] is True and result["mails_sent"] == [alert]
    assert len(smtp_sink.wait_for(1)) == 1
    result = op.resume(context, {"status": "incident"}, window_end=window_end)  # a late duplicate event
    assert result["mails_sent"] == [] and len(smtp_sink.messages) == 1


def test_poll_interval_is_the_setting_unless_given(settings, monkeypatch):
    from airflow.sdk.exceptions import TaskDeferred

    from stix_ops.operators.monitor_watch import PipelineWatchOperator

    context = {"dag_run": _Run("scheduled"), "run_id": "scheduled__test"}
    polls = []
    for env, given in (("", None), ("7s", None), ("7s", timedelta(minutes=2))):
        if env:
            monkeypatch.setenv("STIX_MONITOR_POLL_INTERVAL", env)
        op = PipelineWatchOperator(task_id="check_pipeline", poll_interval=given)
        with pytest.raises(TaskDeferred) as deferred:
            op.execute(context)
        polls.append(deferred.value.trigger.poll_interval)
    assert polls == [900.0, 7.0, 120.0]


def test_rearm_only_after_an_incident_change():
    from airflow.sdk.exceptions import AirflowSkipException

    from stix_ops.assets import MONITOR_REARM
    from stix_ops.operators.monitor_watch import MonitorRearmOperator

    class Events(dict):
        def __missing__(self, key):
            self[key] = type("Accessor", (), {"extra": None})()
            return self[key]

    quiet = MonitorRearmOperator(task_id="rearm", watch_result={"incident": False})
    with pytest.raises(AirflowSkipException):
        quiet.execute({})
    op = MonitorRearmOperator(task_id="rearm_after_incident", watch_result={"incident": True, "opened": ["x"]})
    events = Events()
    assert op.execute({"outlet_events": events}) == {
        "opened": ["x"],
        "resolved": [],
    }
    assert events[MONITOR_REARM].extra == {"opened": ["x"], "resolved": []}
