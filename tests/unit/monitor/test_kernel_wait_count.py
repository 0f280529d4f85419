"""TM files waiting for SPICE kernels are counted on their own line (monitor report, mails, status), not as backlog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")


class QuietApi:
    """The REST API of a healthy, idle Airflow (no queued/running tasks, no overdue runs)."""

    def health(self) -> dict:
        return {name: {"status": "healthy"} for name in COMPONENTS}

    def active_task_count(self, exclude_dag_ids=()) -> int:
        return 0

    def dag_runs(self, *args, **kwargs) -> list:
        return []


@pytest.fixture
def engine(settings, tmp_path):
    """Pipeline DB with one staged file and two waiting for kernels (received 5 h and 2 h before T0)."""
    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState, tm_files

    engine = connect(settings.pipeline_db_url)
    received = {"solo_TM_staged.xml": 1, "solo_TM_old.xml": 5, "solo_TM_new.xml": 2}
    for name, hours in received.items():
        path = tmp_path / name
        path.write_text(f"<telemetry name='{name}'/>")
        ledger.record_incoming(engine, path)
        state = TMState.STAGED if "staged" in name else TMState.WAITING_KERNELS
        error = "waiting for kernels: no SPICE kernels loaded" if state is TMState.WAITING_KERNELS else None
        ledger.set_state(engine, name, state, error=error)
        with engine.begin() as conn:
            at = T0 - timedelta(hours=hours)
            conn.execute(update(tm_files).where(tm_files.c.name == name).values(received_at=at))
    return engine


def test_waiting_for_kernels_counts_and_names_the_oldest(engine):
    from stix_lib.monitor.kernel_wait import KernelWait, waiting_for_kernels

    wait = waiting_for_kernels(engine)
    assert (wait.count, wait.oldest, wait.oldest_received) == (2, "solo_TM_old.xml", T0 - timedelta(hours=5))
    assert wait.text(T0) == "2, oldest solo_TM_old.xml received 2026-03-01T07:00:00+00:00 (5.0 h ago)"
    assert KernelWait().text(T0) == "none"


def test_monitor_pass_reports_them_apart_from_the_backlog(settings, engine):
    from stix_lib.monitor.check import run_check

    sent: list[tuple[str, str]] = []
    report = run_check(settings, engine, QuietApi(), lambda s, b: sent.append((s, b)), now=T0)
    assert report.staged == 1 and report.backlog == 1  # the two waiting files are not backlog
    assert report.kernel_wait.count == 2
    assert report.as_dict()["waiting_kernels"] == {
        "count": 2, "oldest": "solo_TM_old.xml", "oldest_received": "2026-03-01T07:00:00+00:00"
    }  # fmt: skip
    assert report.status()["Waiting for kernels"].startswith("2, oldest solo_TM_old.xml")
    assert sent == []


def test_alert_mail_and_status_show_them(settings, engine):
    from stix_lib.monitor.api import AirflowApi
    from stix_lib.monitor.check import run_check
    from stix_lib.monitor.status import collect_status, format_status
    from stix_ops.dev.localstack import free_port

    sent: list[tuple[str, str]] = []
    with AirflowApi(f"http://127.0.0.1:{free_port()}", "admin", "x", timeout=5) as down:
        run_check(settings, engine, down, lambda s, b: sent.append((s, b)), now=T0)
        status = collect_status(settings, engine, down)
    (_subject, body), *_ = sent
    assert "Waiting for kernels" in body and "2, oldest solo_TM_old.xml" in body

    assert status["kernel_wait"]["count"] == 2
    lines = format_status(status).splitlines()
    (line,) = [line for line in lines if line.startswith("waiting for kernels:")]
    assert line.startswith("waiting for kernels: 2, oldest solo_TM_old.xml received 2026-03-01T07:00:00+00:00")
