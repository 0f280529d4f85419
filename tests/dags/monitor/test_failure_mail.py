"""A failing task sends exactly one mail (after its last try) that a real SMTP server receives."""

from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import quote

import pendulum
import pytest

pytestmark = pytest.mark.airflow

DAG_ID = "stix_test_failure_mail"
MAPPED_FILES = ["solo_TM_ok.PktTmRaw.xml", "solo_TM_broken.PktTmRaw.xml"]


def _register(dag) -> None:
    """Serialize an inline DAG into the metadata DB so dag.test() can run it (airflow-3-notes §3.2)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=os.devnull, collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def _build_dag():
    """Five tasks with one retry each: flaky (fails once), by param, by XCom, a mapped one, and one failing for
    good (``AirflowFailException``: never retried) whose error names its TM file."""
    from airflow.sdk import DAG, get_current_context, task

    from stix_ops.defaults import START_DATE, default_args
    from stix_ops.notifiers import TM_FILE_XCOM_KEY

    args = default_args(retries=1, retry_delay=timedelta(0), retry_exponential_backoff=False)
    with DAG(
        DAG_ID, schedule=None, start_date=START_DATE, catchup=False, default_args=args, params={"tm_file": ""}
    ) as dag:

        @task
        def flaky() -> str:
            if get_current_context()["ti"].try_number == 1:
                raise RuntimeError("transient: SOC exchange busy")
            return "ok on try 2"

        @task(params={"tm_file": "solo_TM_param.PktTmRaw.xml"})
        def by_param() -> None:
            raise ValueError("corrupt packet header")

        @task
        def by_xcom() -> None:
            get_current_context()["ti"].xcom_push(TM_FILE_XCOM_KEY, "solo_TM_xcom.PktTmRaw.xml")
            raise OSError("disk full while writing L1")

        @task(doc_md="Checks one delivery; on failure replace the file.")
        def for_good() -> None:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException("1 TM file(s) not processed: solo_TM_cut.PktTmRaw.xml quarantined: truncated")

        @task(map_index_template="{{ tm_file }}")
        def per_file(tm_file: str) -> None:
            get_current_context()["tm_file"] = tm_file
            if "broken" in tm_file:
                raise RuntimeError(f"cannot decode {tm_file}")

        flaky()
        by_param()
        by_xcom()
        for_good()
        per_file.expand(tm_file=MAPPED_FILES)
    return dag


def test_one_mail_per_finally_failed_task(airflow_db, smtp_sink):
    from airflow.utils.state import DagRunState, TaskInstanceState

    dag = _build_dag()
    _register(dag)
    run = dag.test(logical_date=pendulum.datetime(2026, 3, 1, tz="UTC"))
    assert run.state == DagRunState.FAILED
    states = {(ti.task_id, ti.map_index): (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert states[("flaky", -1)] == (TaskInstanceState.SUCCESS, 2)
    assert states[("per_file", 0)][0] == TaskInstanceState.SUCCESS
    for key in [("by_param", -1), ("by_xcom", -1), ("per_file", 1)]:
        assert states[key] == (TaskInstanceState.FAILED, 2)
    assert states[("for_good", -1)] == (TaskInstanceState.FAILED, 1)

    messages = smtp_sink.wait_for(4)
    subjects = sorted(m["Subject"] for m in messages)
    # exactly one mail per finally failed task; none for try 1 of any task, none for the retried flaky task
    assert subjects == [
        f"[STIX pipeline] FAILED {DAG_ID}.by_param (solo_TM_param.PktTmRaw.xml)",
        f"[STIX pipeline] FAILED {DAG_ID}.by_xcom (solo_TM_xcom.PktTmRaw.xml)",
        f"[STIX pipeline] FAILED {DAG_ID}.for_good (solo_TM_cut.PktTmRaw.xml)",
        f"[STIX pipeline] FAILED {DAG_ID}.per_file (solo_TM_broken.PktTmRaw.xml)",
    ]
    by_subject = {m["Subject"]: m for m in messages}
    for_good = by_subject.pop(f"[STIX pipeline] FAILED {DAG_ID}.for_good (solo_TM_cut.PktTmRaw.xml)")
    html_part = for_good.get_body(("html",)).get_content()
    # never retried: no "1 of 2"; the file named by the error fills the TM file row
    assert "<th align='left'>Try</th><td>1, final: not retried (AirflowFailException)</td>" in html_part
    assert "<th align='left'>TM file</th><td>solo_TM_cut.PktTmRaw.xml</td>" in html_part
    assert "About for_good: Checks one delivery; on failure replace the file." in html_part
    expected_errors = {
        "by_param": "ValueError: corrupt packet header",
        "by_xcom": "OSError: disk full while writing L1",
        "per_file": "RuntimeError: cannot decode solo_TM_broken.PktTmRaw.xml",
    }
    for subject, message in by_subject.items():
        task_id = subject.split(".")[1].split(" ")[0]
        body = message.get_body(("html",)).get_content()
        assert expected_errors[task_id] in body
        assert "<th align='left'>Try</th><td>2 of 2, final</td>" in body
        text = message.get_body(("plain",)).get_content()  # a plain-text part with the same facts
        assert "<" not in text.split("Log:")[0] and f"Error: {expected_errors[task_id]}" in text
        assert "Try: 2 of 2, final" in text and "Next step: open the log" in text
        log_url = f"/dags/{DAG_ID}/runs/{quote(run.run_id, safe='')}/tasks/{task_id}"
        assert log_url in body and "try_number=2" in body
        assert message["From"] == "stix-pipeline@example.org"
        assert message["To"] == "stix-ops@example.org"
    mapped = by_subject[f"[STIX pipeline] FAILED {DAG_ID}.per_file (solo_TM_broken.PktTmRaw.xml)"]
    assert "<th align='left'>Map index</th><td>1</td>" in mapped.get_body().get_content()
    assert all("flaky" not in s for s in subjects)
    assert len(smtp_sink.envelopes) == 4


def test_deadline_callback_mails(smtp_sink):
    """The DeadlineAlert callback (normally run by the triggerer) mails through smtp_default."""
    import asyncio

    from stix_ops.notifiers import deadline_missed_mail

    context = {
        "dag_run": {"dag_id": "stix_pipeline_monitor", "dag_run_id": "scheduled__2026-03-01T00:00:00+00:00",
                    "state": "running", "queued_at": "2026-03-01T00:00:01Z", "start_date": None},
        "deadline": {"id": "x", "deadline_time": "2026-03-01T00:10:01Z"},
    }  # fmt: skip
    subject = asyncio.run(deadline_missed_mail(context=context))
    (message,) = smtp_sink.wait_for(1)
    assert message["Subject"] == subject
    assert subject == "[STIX pipeline] DEADLINE MISSED stix_pipeline_monitor run scheduled__2026-03-01T00:00:00+00:00"
    body = message.get_body(("html",)).get_content()
    assert "2026-03-01T00:10:01Z" in body and "running" in body
    text = message.get_body(("plain",)).get_content()
    assert "Deadline: 2026-03-01T00:10:01Z" in text and "Next step:" in text


def test_processing_failure_mail_states_each_file_and_reason(settings, smtp_sink, monkeypatch):
    """The level-processing check names every failed TM file with its reason (not a database table); a
    quarantined one gets its own data-problem mail."""
    from types import SimpleNamespace

    from stix_lib.db import connect
    from stix_ops.notifiers import describe_failure
    from stix_ops.operators import processing

    monkeypatch.setattr(processing, "_setup", lambda _context: (settings, connect(settings.pipeline_db_url), {}))
    summary = {
        "files": {"solo_TM_a.PktTmRaw.xml": "unusable", "solo_TM_b.PktTmRaw.xml": "failed",
                  "solo_TM_c.PktTmRaw.xml": "failed", "ok.xml": "ok"},
        "unusable": {"solo_TM_a.PktTmRaw.xml": "not XML: truncated at byte 512"},
        "failed": {"solo_TM_b.PktTmRaw.xml": "LB file x.fits: no IDB for OBT 1234",
                   "solo_TM_c.PktTmRaw.xml": "L0: SSID 99 unknown"},
    }  # fmt: skip
    with pytest.raises(Exception) as caught:
        processing.ProcessingCheckOperator(task_id="check", summary=summary).execute({"params": {}})
    message = str(caught.value)
    assert "solo_TM_b.PktTmRaw.xml failed: LB file x.fits: no IDB for OBT 1234" in message
    assert "solo_TM_c.PktTmRaw.xml failed: L0: SSID 99 unknown" in message
    assert "processing_reports" not in message
    (problem,) = smtp_sink.wait_for(1)
    assert "solo_TM_a.PktTmRaw.xml" in problem["Subject"]
    assert "not XML: truncated at byte 512" in problem.get_body(("plain",)).get_content()
    ti = SimpleNamespace(dag_id="stix_level_processing", task_id="check", map_index=-1, try_number=1, max_tries=2,
                         log_url="http://x/log", rendered_map_index=None, xcom_pull=lambda **_: None)  # fmt: skip
    subject, body = describe_failure({"ti": ti, "exception": caught.value, "run_id": "r1", "params": {}})
    assert subject == "[STIX pipeline] FAILED stix_level_processing.check (2 TM files)"
    assert "<td>solo_TM_b.PktTmRaw.xml, solo_TM_c.PktTmRaw.xml</td>" in body
    assert "<td>1, final: not retried (AirflowFailException)</td>" in body  # not "1 of 3"
