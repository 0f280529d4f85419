"""``stix_reprocess`` under ``dag.test()``: shape and Params, dry run of a day given by hand, live-archive guard."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.support.daily_support import ledger_tm, simulated_tm

pytestmark = pytest.mark.airflow

DAG_ID = "stix_reprocess"
DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / f"{DAG_ID}.py"
_SECONDS = itertools.count()


def _run(dagbag, conf: dict[str, Any]):
    from airflow.dag_processing.dagbag import DagBag

    assert DAG_ID in dagbag.dag_ids
    dag = DagBag(dag_folder=str(DAG_FILE)).get_dag(DAG_ID)
    return dag.test(logical_date=pendulum.datetime(2026, 3, 2, tz="UTC").add(seconds=next(_SECONDS)), run_conf=conf)


def _tis(run) -> dict[str, Any]:
    return {ti.task_id: ti for ti in run.get_task_instances()}


def _plan(run) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = XComModel.get_many(run_id=run.run_id, key="return_value", task_ids="plan", dag_ids=DAG_ID)
        return XComModel.deserialize_value(session.scalars(rows).first())


def test_dag_shape_and_params(dagbag) -> None:
    dag = dagbag.get_dag(DAG_ID)
    assert (dag.timetable.expression, dag.catchup, dag.max_active_runs) == ("0 0 * * *", False, 1)
    assert [t.task_id for t in dag.topological_sort()] == ["plan", "reprocess"]
    assert dict(dag.params) == {
        "version": None, "fits_dir": None, "end_level": "L2", "day": None, "idb_dir": None, "spice_dir": None,
        "spice_file": None, "soop_dir": None, "stop_on_error": False, "dry_run": False,
    }  # fmt: skip
    assert dag.params.get_param("end_level").schema["enum"] == ["LB", "L0", "L1", "L2"]
    assert all(dag.params.get_param(name).description for name in dag.params)


def test_dry_run_of_a_day_given_by_hand(dagbag, settings, reference_data: Path) -> None:
    from stix_lib.db import connect
    from stix_lib.db.schema import TMState

    engine = connect(settings.pipeline_db_url)
    for day in (date(2024, 3, 3), date(2024, 3, 4)):
        ledger_tm(engine, simulated_tm(Path(settings.soc_processing_dir), reference_data / "idb", day), TMState.STAGED)
    engine.dispose()
    run = _run(dagbag, {"day": "2024-03-03", "dry_run": True})
    assert {k: str(ti.state) for k, ti in _tis(run).items()} == {"plan": "success", "reprocess": "skipped"}
    plan = _plan(run)
    assert plan["day"] == "2024-03-03" and plan["clock"] == "nominal"  # no kernels under the data root
    assert [Path(p).name.split(".")[5] for p in plan["tm_files"]] == ["063"]  # day of year of 2024-03-03
    assert plan["options"]["version"] == settings.processing_version + 1
    assert not (Path(settings.data_root) / "reprocess").exists()  # nothing processed


def test_live_archive_with_live_version_is_refused(dagbag, settings, smtp_sink) -> None:
    run = _run(dagbag, {"fits_dir": str(settings.fits_archive_dir), "version": settings.processing_version})
    tis = _tis(run)
    assert (str(tis["plan"].state), str(tis["reprocess"].state)) == ("failed", "upstream_failed")
    assert tis["plan"].try_number == 1  # a refused option is not retried
    (mail,) = smtp_sink.messages
    body = mail.get_body(preferencelist=("html", "plain")).get_content()
    assert "plan" in mail["Subject"] and "refusing to reprocess into the live archive" in body
