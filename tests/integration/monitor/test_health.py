"""Health evaluation on bodies recorded from a real Airflow 3.3.2 api-server (``/api/v2/monitor/health``)."""

from __future__ import annotations

import subprocess
import sys

from stix_lib.monitor.health import component_statuses, unhealthy_components

# recorded from LocalStack: all up; triggerer stopped; scheduler stopped too
ALL_UP = {
    "metadatabase": {"status": "healthy"},
    "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": "2026-11-24T03:32:56.490778+00:00"},
    "triggerer": {"status": "healthy", "latest_triggerer_heartbeat": "2026-11-24T03:32:57.779918+00:00"},
    "dag_processor": {"status": "healthy", "latest_dag_processor_heartbeat": "2026-11-24T03:32:56.815006+00:00"},
}
TRIGGERER_AND_SCHEDULER_DOWN = {
    "metadatabase": {"status": "healthy"},
    "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": "2026-11-24T03:33:02.187981+00:00"},
    "triggerer": {"status": "unhealthy", "latest_triggerer_heartbeat": "2026-11-24T03:32:57.779918+00:00"},
    "dag_processor": {"status": "healthy", "latest_dag_processor_heartbeat": "2026-11-24T03:32:56.815006+00:00"},
}
NO_TRIGGERER_EVER = {**ALL_UP, "triggerer": {"status": None, "latest_triggerer_heartbeat": None}}


def test_all_healthy():
    assert unhealthy_components(ALL_UP) == {}
    assert set(component_statuses(ALL_UP).values()) == {"healthy"}


def test_stopped_components():
    problems = unhealthy_components(TRIGGERER_AND_SCHEDULER_DOWN)
    assert set(problems) == {"scheduler", "triggerer"}
    assert problems["scheduler"] == "unhealthy, last heartbeat 2026-11-24T03:33:02.187981+00:00"


def test_never_started_triggerer_counts_as_missing():
    assert unhealthy_components(NO_TRIGGERER_EVER) == {"triggerer": "not running (no heartbeat ever recorded)"}
    assert component_statuses({})["scheduler"] == "missing"


def test_monitor_and_status_modules_import_no_airflow():
    code = (
        "import sys, stix_lib.monitor.check, stix_lib.monitor.status, stix_lib.cli.status_cmd;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
