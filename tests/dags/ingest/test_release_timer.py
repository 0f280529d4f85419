"""stix_tm_release_timer: a deferrable wait until the oldest held TM file is due by age, then release."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

import pendulum
import pytest

from tests.support.ingest_helpers import asset_events

pytestmark = pytest.mark.airflow

FIRST = "solo_TM_PktTmRaw_20191127T000000_A.xml"
SECOND = "solo_TM_PktTmRaw_20191127T000000_B.xml"


@pytest.fixture
def exchange(tmp_path: Path, settings, monkeypatch) -> Path:
    folder = tmp_path / "exchange"
    folder.mkdir()
    monkeypatch.setenv("STIX_TM_SOURCE", str(folder))
    monkeypatch.setenv("STIX_TM_SOURCE_LOCAL", "true")
    return folder


def _ingest(folder: Path, tm_bytes: bytes, *names: str):
    from stix_lib.db import connect
    from stix_lib.settings import load_settings
    from stix_lib.stages.ingest import ingest

    for name in names:
        (folder / name).write_bytes(tm_bytes)
    cfg = load_settings()
    engine = connect(cfg.pipeline_db_url)
    assert sorted(p.name for p in ingest(cfg, engine).new_files) == sorted(names)
    return cfg, engine


def test_wait_defers_until_the_oldest_file_is_due(exchange, tm_bytes, monkeypatch):
    """The trigger handed to the triggerer fires at received_at + staging_delay of the oldest file."""
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger
    from airflow.sdk.exceptions import AirflowSkipException, TaskDeferred

    from stix_lib.db import ledger
    from stix_ops.operators.release_timer import AgeReleaseWaitOperator, HeldFilesRearmOperator

    monkeypatch.setenv("STIX_STAGING_DELAY", "2d")
    wait = AgeReleaseWaitOperator(task_id="wait")
    with pytest.raises(AirflowSkipException, match="no incoming TM file"):
        wait.execute({})
    with pytest.raises(AirflowSkipException, match="no file held"):
        HeldFilesRearmOperator(task_id="rearm").execute({})

    cfg, engine = _ingest(exchange, tm_bytes, FIRST)
    _ingest(exchange, tm_bytes, SECOND)  # arrives later: the moment is still the first file's
    received = ledger.get(engine, FIRST).received_at.replace(tzinfo=UTC)
    with pytest.raises(TaskDeferred) as deferred:
        wait.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, DateTimeTrigger) and deferred.value.method_name == "execute_complete"
    assert trigger.serialize()[1]["moment"] == received + timedelta(days=2)

    monkeypatch.setenv("STIX_STAGING_DELAY", "10d")  # longer than one wait: capped, re-armed afterwards
    with pytest.raises(TaskDeferred) as capped:
        wait.execute({})
    moment = capped.value.trigger.serialize()[1]["moment"]
    assert moment < received + timedelta(days=10) and moment <= pendulum.now("UTC") + timedelta(days=6)

    monkeypatch.setenv("STIX_STAGING_DELAY", "0")  # due already: no wait
    assert wait.execute({}) == received.isoformat()


def test_timer_dag_waits_releases_and_rests(dagbag, exchange, tm_bytes, monkeypatch):
    """dag.test runs the deferred wait inline: after the delay the file is staged; nothing held, no re-arm."""
    from airflow.utils.state import DagRunState, TaskInstanceState

    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState

    monkeypatch.setenv("STIX_STAGING_DELAY", "3s")
    cfg, engine = _ingest(exchange, tm_bytes, FIRST)
    staged_before = len(asset_events("stix://tm/staged"))
    held_before = len(asset_events("stix://tm/held"))
    assert ledger.get(engine, FIRST).state is TMState.INCOMING

    run = dagbag.get_dag("stix_tm_release_timer").test(logical_date=pendulum.datetime(2026, 4, 1, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {
        "wait_for_release_time": TaskInstanceState.SUCCESS,
        "release": TaskInstanceState.SUCCESS,
        "rearm": TaskInstanceState.SKIPPED,
    }
    assert ledger.get(engine, FIRST).state is TMState.STAGED
    assert (cfg.soc_processing_dir / FIRST).read_bytes() == tm_bytes
    released = asset_events("stix://tm/staged")[staged_before:]
    assert [e["files"] for e in released] == [[FIRST]] and released[0]["reasons"] == {FIRST: "age"}
    assert asset_events("stix://tm/held")[held_before:] == []
