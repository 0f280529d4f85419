"""Helpers of the ``stix_soar_publish`` DAG tests: run the DAG, read task states, XComs and asset events."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pendulum

from tests.support import dag_runs
from tests.support.dag_runs import run_asset_events, task_states

__all__ = ["DAG_ID", "published_events", "queued_runs", "run_dag", "task_states", "xcom"]

DAG_ID = "stix_soar_publish"
DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / f"{DAG_ID}.py"
_DATES = itertools.count()


def run_dag(dagbag, conf: dict[str, Any] | None = None):
    """One ``dag.test()`` run of the publishing DAG (a fresh logical date each time).

    The DAG file is parsed again for every run, as a worker does for every task: ``dag.test()``
    runs the tasks in this process, and resolving a run's conf stores the values in the DAG's
    ``Param`` objects, so a DAG object reused across runs would carry one run's conf into the next.
    ``dagbag`` (the session's parse of ``dags/``) makes sure the metadata database is set up.
    """
    from airflow.dag_processing.dagbag import DagBag

    assert DAG_ID in dagbag.dag_ids
    dag = DagBag(dag_folder=str(DAG_FILE)).get_dag(DAG_ID)
    logical_date = pendulum.datetime(2026, 3, 1, 5, tz="UTC").add(minutes=next(_DATES))
    return dag.test(logical_date=logical_date, run_conf=conf)


def xcom(run, task_id: str = "publish", key: str = "return_value") -> Any:
    """An XCom value of ``run`` (None when absent); the ``publish`` task's result by default."""
    return dag_runs.xcom(run, task_id, key)


def published_events(run) -> list[dict]:
    """Extras of the ``stix_soar_published`` events that ``run`` emitted."""
    return run_asset_events(run, "stix_soar_published")


def queued_runs(dag_id: str) -> int:
    """Asset-triggered runs of ``dag_id`` waiting in Airflow's queue (``asset_dag_run_queue`` rows)."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.count()).where(AssetDagRunQueue.target_dag_id == dag_id))
