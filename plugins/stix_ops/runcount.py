"""Count the DAG runs a clock creates: Airflow's own timetables, evaluated over a period.

Used by the schedule tests and ``benchmarks/bench_quiet_day.py`` to compare designs: the
serialized form of each DAG (what the scheduler reads) yields its timed runs between two
moments. Asset-triggered runs are not counted here — on a quiet day there are none, which the
benchmark checks under a real scheduler and triggerer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


def timed_runs(dag: Any, start: datetime, end: datetime) -> int:
    """Runs the DAG's timetable creates with ``start <= run_after < end`` (0 for asset-only DAGs)."""
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    return sum(
        1
        for info in serialized.iter_dagrun_infos_between(start, end)
        if start <= info.run_after < end
    )


def timed_runs_per_dag(dags: Iterable[Any], start: datetime, end: datetime) -> dict[str, int]:
    """:func:`timed_runs` by dag_id."""
    return {dag.dag_id: timed_runs(dag, start, end) for dag in dags}
