"""``stix_ops.dag_policy.stix_dag``: what every STIX DAG gets without its file saying so."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest

pytestmark = pytest.mark.airflow


def _dag(**overrides):
    from stix_ops.dag_policy import stix_dag

    kwargs = {
        "description": "a test DAG",
        "doc_md": "What it does.",
        "schedule": None,
        "dagrun_timeout": timedelta(hours=1),
        "task_timeout": timedelta(minutes=10),
        "tags": ["test"],
    }
    kwargs.update(overrides)
    return stix_dag("stix_policy_probe", **kwargs)


def test_policy_applied_to_dag_and_tasks():
    from airflow.providers.standard.operators.empty import EmptyOperator

    from stix_ops.notifiers import FailureEmailNotifier

    with _dag() as dag:
        task = EmptyOperator(task_id="step")
    assert dag.dag_id == "stix_policy_probe" and dag.description == "a test DAG" and dag.doc_md == "What it does."
    assert dag.start_date == pendulum.datetime(2025, 1, 1, tz="UTC")
    assert dag.catchup is False and dag.max_active_runs == 1
    assert set(dag.tags) == {"stix", "test"}
    assert dag.dagrun_timeout == timedelta(hours=1) and dag.deadline is None
    assert task.owner == "stix-ops"
    assert task.retries == 2 and task.retry_exponential_backoff
    assert task.execution_timeout == timedelta(minutes=10)
    assert task.email_on_failure is False and task.email_on_retry is False
    callbacks = task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
    assert [type(cb) for cb in callbacks] == [FailureEmailNotifier]


def test_task_defaults_params_and_runs_can_be_set():
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import Param

    params = {"days": Param(3, type="integer")}
    with _dag(retries=1, retry_delay=timedelta(minutes=1), max_active_runs=4, params=params) as dag:
        task = EmptyOperator(task_id="step", execution_timeout=timedelta(minutes=2))
    assert dag.max_active_runs == 4 and dag.params["days"] == 3
    assert task.retries == 1 and task.retry_delay == timedelta(minutes=1)
    assert task.execution_timeout == timedelta(minutes=2)  # a task's own timeout wins


def test_deadline_after_mails_from_the_queued_time():
    dag = _dag(deadline_after=timedelta(minutes=10))
    deadlines = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert len(deadlines) == 1
    assert deadlines[0].interval == timedelta(minutes=10)
    assert deadlines[0].callback.path == "stix_ops.notifiers.deadline_missed_mail"
    assert type(deadlines[0].reference).__name__ == "DagRunQueuedAtDeadline"


def test_doc_md_is_required():
    with pytest.raises(ValueError, match="stix_policy_probe: doc_md is required"):
        _dag(doc_md="")
