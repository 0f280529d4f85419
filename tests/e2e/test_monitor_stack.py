"""Monitor, status and deadline alert against one real Airflow stack (api-server, scheduler, dag-processor, triggerer).

The stack's DAG folder holds the real ``stix_pipeline_monitor`` DAG file and a test-only
``stix_level_processing`` stand-in: one mapped task per TM file that pokes for a flag file (so a
processing run stays *running* until the test releases it) and a 2-second ``DeadlineAlert``.
Mails go to a real aiosmtpd server; the pipeline DB is a SQLite file shared with the components.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

# steps of one story on one stack: the processing run is released in the monitor step, the scheduler is
# stopped in the last one
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.scenario]

REPO = Path(__file__).resolve().parents[2]
CURRENT_TM = "solo_TM_current.PktTmRaw.SOL.0.2026.060.xml"
ALERT_TO = "stix-ops@example.org"

PROCESSING_DAG = '''"""Test-only stand-in for the level-processing DAG (per-TM-file mapped task, deadline alert)."""

from datetime import timedelta
from pathlib import Path

from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference

from stix_ops.defaults import START_DATE, default_args, tags
from stix_ops.notifiers import deadline_missed_mail

FLAGS = Path({flags!r})


def released(tm_file: str) -> bool:
    return (FLAGS / tm_file).exists()


with DAG(
    "stix_level_processing",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    dagrun_timeout=timedelta(minutes=10),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=2),
        callback=AsyncCallback(deadline_missed_mail),
    ),
    default_args=default_args(retries=0, execution_timeout=timedelta(minutes=5)),
    tags=tags("test"),
    doc_md=__doc__,
):
    PythonSensor.partial(
        task_id="process",
        python_callable=released,
        mode="poke",
        poke_interval=1,
        timeout=300,
        map_index_template="{{{{ task.op_kwargs['tm_file'] }}}}",
    ).expand(op_kwargs=[{{"tm_file": {tm!r}}}])
'''


def wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


class Env:
    """The running stack plus what the tests need to reach it."""

    def __init__(self, stack, sink, root: Path, env: dict[str, str]) -> None:
        self.stack, self.sink, self.root, self.env = stack, sink, root, env
        self.flags = root / "flags"

    def subjects(self, word: str) -> list[str]:
        return sorted(m["Subject"] for m in self.sink.messages if f"] {word} " in m["Subject"])

    def run_dag(self, dag_id: str, timeout: float = 90) -> dict:
        run_id = self.stack.trigger(dag_id)

        def finished():
            run = self.stack.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        return wait(finished, timeout, f"{dag_id} run {run_id}")

    def health(self) -> dict:
        return httpx.get(f"{self.stack.config.api_url}/api/v2/monitor/health", timeout=10).json()

    def stop(self, component: str) -> None:
        proc = self.stack.processes[component]
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: the component is down either way
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def stack_env(reference_data):
    from stix_ops.dev.localservices import SmtpSink
    from stix_ops.dev.localstack import LocalStack, StackConfig

    root = Path(tempfile.mkdtemp(prefix="stix-monitor-stack-"))
    dags = root / "dags"
    dags.mkdir()
    (root / "flags").mkdir()
    os.symlink(REPO / "dags" / "stix_pipeline_monitor.py", dags / "stix_pipeline_monitor.py")
    (dags / "stix_level_processing.py").write_text(PROCESSING_DAG.format(flags=str(root / "flags"), tm=CURRENT_TM))
    sink = SmtpSink().start()
    config = StackConfig(home=root / "airflow-home")
    env = {
        "STIX_DATA_ROOT": str(root / "data"),
        "STIX_REFERENCE_DATA": str(reference_data),
        "STIX_ALERT_TO": ALERT_TO,
        "STIX_ALERT_FROM": "stix-pipeline@example.org",
        "STIX_AIRFLOW_API_URL": config.api_url,
        "STIX_AIRFLOW_API_USER": "admin",
        "STIX_AIRFLOW_API_PASSWORD": config.admin_password,
        "STIX_PROCESSING_DEADLINE": "1s",
        "AIRFLOW_CONN_SMTP_DEFAULT": sink.connection_json(),
    }
    config.extra_env = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    stack = LocalStack(config)
    try:
        stack.prepare()
        stack.start()
        stack.wait_healthy(components=("scheduler", "dag_processor", "triggerer"))
        stack.wait_for_dags(["stix_pipeline_monitor", "stix_level_processing"])
        yield Env(stack, sink, root, env)
    finally:
        stack.stop(grace=5)
        sink.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def stix_env(stack_env, monkeypatch):
    """This process sees the stack's settings and SMTP connection (for in-process checks and the CLI)."""
    monkeypatch.delenv("STIX_CONFIG", raising=False)
    for key, value in stack_env.env.items():
        monkeypatch.setenv(key, value)
    return stack_env


@pytest.fixture(scope="module")
def processing_run(stack_env):
    """A stix_level_processing run whose one task is running (poking) on CURRENT_TM."""
    s = stack_env.stack
    s.unpause("stix_level_processing")
    run_id = s.trigger("stix_level_processing")

    def running():
        tis = s.api("GET", f"dags/stix_level_processing/dagRuns/{run_id}/taskInstances")["task_instances"]
        return tis if tis and tis[0]["state"] == "running" and tis[0].get("rendered_map_index") else None

    wait(running, 90, "the processing task to run")
    return run_id


def _ledger(stack_env) -> None:
    """Ledger rows of the stack's pipeline DB: 3 staged, 1 processed, 1 failed, 1 incoming; a kernel zip; a config."""
    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState
    from stix_lib.stages.conf_sync import record_version
    from stix_lib.stages.spice_sync import record_zip

    engine = connect(f"sqlite:///{(stack_env.root / 'data' / 'pipeline.sqlite').absolute()}")
    files = stack_env.root / "tm"
    files.mkdir(exist_ok=True)
    plan = {
        CURRENT_TM: TMState.STAGED,
        "solo_TM_b.PktTmRaw.xml": TMState.STAGED,
        "solo_TM_c.PktTmRaw.xml": TMState.STAGED,
        "solo_TM_done.PktTmRaw.xml": TMState.PROCESSED,
        "solo_TM_bad.PktTmRaw.xml": TMState.FAILED,
        "solo_TM_new.PktTmRaw.xml": TMState.INCOMING,
    }
    for name, state in plan.items():
        path = files / name
        path.write_text(f"<telemetry name='{name}'/>")
        ledger.record_incoming(engine, path)
        if state is not TMState.INCOMING:
            error = "L0: cannot decode packet 17 (bad SSID)" if state is TMState.FAILED else None
            ledger.set_state(engine, name, state, error=error)
    zip_path = files / "solo_ANC_soc-sc-fk-ck_20260301_V01.zip"
    zip_path.write_bytes(b"PK\x05\x06" + bytes(18))
    record_zip(engine, zip_path, ["ck/a.bc"])
    record_version(engine, "v2026.02.1", "0123456789abcdef0123456789abcdef01234567")


def test_status_shows_pipeline_db_and_airflow(stix_env, processing_run, capsys):
    from stix_lib.cli.main import main

    _ledger(stix_env)
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["open_files"] == 3
    assert status["ledger"] == {
        "incoming": 1, "staged": 3, "processed": 1, "failed": 1, "waiting for kernels": 0, "quarantined": 0
    }
    assert status["last_processed"]["name"] == "solo_TM_done.PktTmRaw.xml"
    assert status["last_error"]["name"] == "solo_TM_bad.PktTmRaw.xml"
    assert status["last_error"]["error"] == "L0: cannot decode packet 17 (bad SSID)"
    assert status["spice"]["latest_zip"] == "solo_ANC_soc-sc-fk-ck_20260301_V01.zip" and status["spice"]["zips"] == 1
    assert status["stix_conf"]["version"] == "v2026.02.1"
    airflow = status["airflow"]
    assert airflow["reachable"] is True
    assert set(airflow["health"].values()) == {"healthy"}
    assert [(r["dag_id"], r["run_id"]) for r in airflow["runs"]["running"]] == [
        ("stix_level_processing", processing_run)
    ]
    assert airflow["runs"]["queued"] == [] and airflow["active_tasks"] == 1
    assert [(c["tm_file"], c["task"]) for c in airflow["current"]] == [(CURRENT_TM, "stix_level_processing.process")]
    assert airflow["last_failed_task"] is None

    assert main(["status"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == "open files: 3"
    assert any(line.startswith(f"current: {CURRENT_TM} (stix_level_processing.process") for line in text)
    assert "runs: running 1, queued 0; queued/running tasks 1" in text

    assert main(["status", "-n"]) == 0
    assert capsys.readouterr().out == "open files: 3\n"

    # the API unreachable: the DB part is still printed, exit code 3
    from stix_ops.dev.localstack import free_port

    assert main(["status", "--api-url", f"http://127.0.0.1:{free_port()}"]) == 3
    text = capsys.readouterr().out.splitlines()
    assert text[0] == "open files: 3" and "current: unknown (Airflow API unreachable)" in text
    assert "last error: solo_TM_bad.PktTmRaw.xml (failed)" in "\n".join(text)
    assert text[-1].startswith("Airflow API unreachable (http://127.0.0.1:")


def test_monitor_dag_one_alert_per_incident_and_one_recovery(stix_env, processing_run):
    s = stix_env.stack
    # the processing run's own 2-second DeadlineAlert, mailed by the triggerer
    wait(lambda: stix_env.subjects("DEADLINE"), 60, "the deadline-missed mail")
    assert stix_env.subjects("DEADLINE") == [
        f"[STIX pipeline] DEADLINE MISSED stix_level_processing run {processing_run}"
    ]

    stix_env.stop("triggerer")
    s.unpause("stix_pipeline_monitor")
    assert stix_env.run_dag("stix_pipeline_monitor")["state"] == "success"
    expected_alerts = [
        "[STIX pipeline] ALERT Airflow triggerer unhealthy",
        f"[STIX pipeline] ALERT stix_level_processing run {processing_run} running past its deadline",
    ]
    assert stix_env.subjects("ALERT") == expected_alerts
    assert stix_env.run_dag("stix_pipeline_monitor")["state"] == "success"
    assert stix_env.subjects("ALERT") == expected_alerts  # still open: no second mail
    assert stix_env.subjects("RECOVERED") == []

    (stix_env.flags / CURRENT_TM).touch()  # processing finishes
    wait(lambda: s.api("GET", f"dags/stix_level_processing/dagRuns/{processing_run}")["state"] == "success", 60,
         "the processing run to finish")  # fmt: skip
    s.start(components=["triggerer"])
    wait(lambda: stix_env.health()["triggerer"]["status"] == "healthy", 60, "the triggerer to be healthy again")
    assert stix_env.run_dag("stix_pipeline_monitor")["state"] == "success"
    assert stix_env.subjects("RECOVERED") == [s.replace("ALERT", "RECOVERED") for s in expected_alerts]
    assert stix_env.subjects("ALERT") == expected_alerts
    assert stix_env.subjects("FAILED") == []  # no task failed on the way
    assert all(m["To"] == ALERT_TO for m in stix_env.sink.messages)


def test_stuck_backlog_one_alert_then_one_recovery(stix_env, tmp_path):
    """Backlog held at 4 for a day (injected samples), then two files processed."""
    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState
    from stix_lib.monitor.api import AirflowApi
    from stix_lib.monitor.check import run_check
    from stix_lib.monitor.samples import record_sample
    from stix_lib.settings import load_settings
    from stix_ops.notifiers import send_mail

    settings = load_settings(processing_deadline="6h")
    engine = connect(f"sqlite:///{tmp_path / 'pipeline.sqlite'}")
    for n in range(4):
        path = tmp_path / f"solo_TM_stuck{n}.PktTmRaw.xml"
        path.write_text("<x/>")
        ledger.record_incoming(engine, path)
        ledger.set_state(engine, path.name, TMState.STAGED)
    now = datetime.now(UTC)
    for hours in range(24, 0, -3):  # 8 samples, 3-hourly, backlog 4; the check adds the 9th
        record_sample(engine, now - timedelta(hours=hours), staged=4, active_tasks=0)

    def check(at: datetime):
        with AirflowApi.from_settings(settings) as api:
            return run_check(settings, engine, api, send_mail, now=at, run_id="test")

    def stuck_mails(word: str) -> list[str]:
        return [x for x in stix_env.subjects(word) if "pipeline stuck?" in x]

    report = check(now)
    assert report.backlog == 4 and report.window.verdict == "stuck" and "backlog_stuck" in report.opened
    assert stuck_mails("ALERT") == ["[STIX pipeline] ALERT pipeline stuck? backlog 4 not decreasing for 24.0 h"]
    report = check(now + timedelta(minutes=15))
    assert report.window.verdict == "stuck" and report.opened == []
    assert len(stuck_mails("ALERT")) == 1 and stuck_mails("RECOVERED") == []

    for n in range(2):
        ledger.set_state(engine, f"solo_TM_stuck{n}.PktTmRaw.xml", TMState.PROCESSED)
    report = check(now + timedelta(minutes=30))
    assert report.backlog == 2 and report.window.verdict == "progress" and report.resolved == ["backlog_stuck"]
    assert len(stuck_mails("ALERT")) == 1
    assert stuck_mails("RECOVERED") == ["[STIX pipeline] RECOVERED pipeline stuck? backlog 4 not decreasing for 24.0 h"]


def test_unusable_api_is_one_incident(stix_env, tmp_path):
    """Refused connection, then a wrong password: one alert; the working API again: one recovery."""
    from stix_lib.db import connect
    from stix_lib.monitor.api import AirflowApi
    from stix_lib.monitor.check import run_check
    from stix_lib.monitor.samples import latest_sample
    from stix_lib.settings import load_settings
    from stix_ops.dev.localstack import free_port
    from stix_ops.notifiers import send_mail

    settings = load_settings()
    engine = connect(f"sqlite:///{tmp_path / 'pipeline.sqlite'}")
    subject = "Airflow REST API unavailable to the monitor"
    with AirflowApi(f"http://127.0.0.1:{free_port()}", "admin", "x", timeout=5) as refused:
        report = run_check(settings, engine, refused, send_mail)
    assert report.opened == ["airflow_api"] and "unreachable" in report.api_error
    assert latest_sample(engine) is None  # no half sample without the API part
    with AirflowApi(settings.airflow_api_url, "admin", "wrong-password") as wrong:
        report = run_check(settings, engine, wrong, send_mail)
    assert report.opened == [] and "refused the login" in report.api_error
    with AirflowApi.from_settings(settings) as api:
        report = run_check(settings, engine, api, send_mail)
    assert report.resolved == ["airflow_api"] and latest_sample(engine) is not None
    assert [x for x in stix_env.subjects("ALERT") if subject in x] == [f"[STIX pipeline] ALERT {subject}"]
    assert [x for x in stix_env.subjects("RECOVERED") if subject in x] == [f"[STIX pipeline] RECOVERED {subject}"]


def test_stopped_scheduler_is_an_incident(stix_env, tmp_path):
    """Runs last in this module: the scheduler stays down."""
    from stix_lib.db import connect
    from stix_lib.monitor.api import AirflowApi
    from stix_lib.monitor.check import run_check
    from stix_lib.settings import load_settings
    from stix_ops.notifiers import send_mail

    stix_env.stop("scheduler")
    assert stix_env.health()["scheduler"]["status"] == "unhealthy"
    settings = load_settings()
    engine = connect(f"sqlite:///{tmp_path / 'pipeline.sqlite'}")
    with AirflowApi.from_settings(settings) as api:
        report = run_check(settings, engine, api, send_mail, run_id="test")
        assert "unhealthy:scheduler" in report.opened and report.health["scheduler"] == "unhealthy"
        assert "[STIX pipeline] ALERT Airflow scheduler unhealthy" in report.mails_sent
        again = run_check(settings, engine, api, send_mail, run_id="test")
    assert again.opened == [] and again.mails_sent == []
    assert stix_env.subjects("ALERT").count("[STIX pipeline] ALERT Airflow scheduler unhealthy") == 1
