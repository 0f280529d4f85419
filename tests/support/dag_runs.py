"""Read what a finished in-process DAG run (``dag.test()``) left in the Airflow database."""

from __future__ import annotations

from typing import Any


def task_states(run) -> dict[str, str]:
    """Task id → state of a finished run."""
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def xcom(run, task_id: str, key: str = "return_value") -> Any:
    """An XCom value of ``run`` (None when absent)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=run.run_id, key=key, task_ids=task_id, dag_ids=run.dag_id)
        row = session.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)


def run_asset_events(run, asset_name: str) -> list[dict]:
    """Extras of the events of asset ``asset_name`` that ``run`` emitted."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == asset_name, AssetEvent.source_run_id == run.run_id)
        )
        return [dict(extra) for extra in session.scalars(query)]
