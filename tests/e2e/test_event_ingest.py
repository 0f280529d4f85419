"""Event-driven ingest under a real api-server, scheduler, dag-processor and triggerer (SQLite).

The triggerer's watcher of the SOC exchange (asset ``stix_soc_tm``) starts ``stix_tm_ingest`` when
a TM file is dropped there; a quiet exchange starts nothing; a file delivered while the triggerer
is down is ingested after its restart (the watcher's listing is kept in the asset state store),
and every file lands in the ledger exactly once.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.support.stack_wait import wait_on_stack

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAG_ID = "stix_tm_ingest"


def _deliver(exchange: Path, tm: Path, name: str) -> float:
    """Place a TM file the way the SOC does it (temp name, then rename); return the time it appeared."""
    temp = exchange / f".{name}.part"
    shutil.copyfile(tm, temp)
    os.replace(temp, exchange / name)
    return time.time()


def _event_runs(stack) -> list[dict]:
    return [r for r in stack.runs(DAG_ID) if r["run_type"] == "asset_triggered"]



def _finished(stack, count: int) -> list[dict]:
    runs = _event_runs(stack)
    return runs if len(runs) >= count and all(r["state"] in ("success", "failed") for r in runs) else []


def test_dropping_a_tm_file_runs_ingest_and_a_restarted_triggerer_misses_nothing(tmp_path, reference_data):
    from stix_lib.db import connect, ledger
    from stix_lib.settings import load_settings
    from stix_ops.dev.localstack import LocalStack, StackConfig

    exchange = tmp_path / "soc-exchange"
    exchange.mkdir()
    env = {
        "STIX_DATA_ROOT": str(tmp_path / "data"),
        "STIX_REFERENCE_DATA": str(reference_data),
        "STIX_IDB_DIR": str(reference_data / "idb"),
        "STIX_TM_SOURCE": str(exchange),
        "STIX_TM_SOURCE_LOCAL": "true",
        "STIX_WATCH_INTERVAL": "1",
    }
    settings = load_settings(environ=env)
    settings.ensure_folders()
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    stack = LocalStack(StackConfig(home=tmp_path / "airflow-home", extra_env=env, parallelism=2))
    with stack:
        stack.prepare()
        stack.start()
        stack.wait_healthy(components=("scheduler", "dag_processor", "triggerer"))
        stack.wait_for_dags([DAG_ID])
        stack.unpause(DAG_ID)

        def watcher_registered() -> bool:
            assets = stack.api("GET", "assets", params={"name_pattern": "stix_soc_tm", "limit": 10})["assets"]
            return any(w["name"] == "stix_soc_tm_watcher" for a in assets for w in a["watchers"])

        wait_on_stack(watcher_registered, 120, "the exchange watcher to be registered", stack, DAG_ID)
        time.sleep(15)  # quiet exchange: the watcher lists it 15 times and starts nothing
        assert _event_runs(stack) == []

        first = "solo_TM_PktTmRaw_20191127T000000_A.xml"
        dropped = _deliver(exchange, tm, first)
        runs = wait_on_stack(lambda: _finished(stack, 1), 180, "the event-triggered ingest run", stack, DAG_ID)
        assert [r["state"] for r in runs] == ["success"]
        queued = runs[0]["queued_at"]
        print(f"drop -> run queued: {_epoch(queued) - dropped:.1f} s")
        engine = connect(settings.pipeline_db_url)
        assert ledger.get(engine, first) is not None and (settings.soc_incoming_dir / first).is_file()

        # triggerer down while a file arrives: after its restart the stored listing shows the new file
        triggerer = stack.processes.pop("triggerer")
        os.killpg(triggerer.pid, signal.SIGTERM)
        triggerer.wait(timeout=60)
        second = "solo_TM_PktTmRaw_20191127T000000_B.xml"
        _deliver(exchange, tm, second)
        time.sleep(5)
        assert len(_event_runs(stack)) == 1  # nobody watching
        stack.start(components=["triggerer"])
        runs = wait_on_stack(
            lambda: _finished(stack, 2), 240, "the ingest run after the triggerer restart", stack, DAG_ID
        )
        assert [r["state"] for r in runs] == ["success", "success"]
        time.sleep(8)  # the restarted watcher does not announce the first file again
        assert len(_event_runs(stack)) == 2

    assert sorted(r.name for r in ledger.in_state(engine, *_all_states())) == [first, second]
    assert sorted(p.name for p in settings.soc_incoming_dir.iterdir()) == [first, second]


def _all_states():
    from stix_lib.db.schema import TMState

    return tuple(TMState)


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
