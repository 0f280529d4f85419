"""``stix_reprocess_monthly`` under ``dag.test()``: a month block equals the per-day runs, with one pipeline.

The per-day route (``stix_lib.stages.reprocess.reprocess`` of each day's plan, what ``stix_reprocess``
runs) is the reference: the block must give the same products (apart from DATE/checksums), only for
the campaign's days, build the processing chain once for the whole block, and name a bad day
without losing the others.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.support.daily_support import KERNELS, day_range, l1_days, ledger_tm, simulated_tm

pytestmark = pytest.mark.airflow

DAG_ID = "stix_reprocess_monthly"
DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / f"{DAG_ID}.py"
#: Simulated days in the ledger; the campaign asks for the middle two (and a file crossing their midnight).
SIMULATED = day_range(date(2024, 3, 2), date(2024, 3, 5))
CAMPAIGN = (date(2024, 3, 3), date(2024, 3, 4))
_SECONDS = itertools.count()


def _run(conf: dict[str, Any]):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAG_FILE)).get_dag(DAG_ID)
    return dag.test(logical_date=pendulum.datetime(2026, 4, 1, tz="UTC").add(seconds=next(_SECONDS)), run_conf=conf)


def _tis(run) -> dict[str, Any]:
    return {ti.task_id: ti for ti in run.get_task_instances()}


def _xcom(run, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = XComModel.get_many(run_id=run.run_id, key=key, task_ids=task_id, dag_ids=DAG_ID)
        return XComModel.deserialize_value(session.scalars(rows).first())


@pytest.fixture
def ledger(settings, reference_data: Path, tmp_path: Path, monkeypatch) -> dict[str, Any]:
    """Four simulated days (one file each, 12:00-12:10) and a file crossing 2024-03-03/04 midnight in the ledger;
    kernels covering March 2024 in ``tmp_path/spice``."""
    from stix_lib.db import connect
    from stix_lib.db.schema import TMState
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    monkeypatch.setenv("STIX_CONF_DIR", str(reference_data / "stix-conf"))
    build_kernel_set(tmp_path / "spice", *KERNELS)
    processing, idb = Path(settings.soc_processing_dir), reference_data / "idb"
    engine = connect(settings.pipeline_db_url)
    files = {}
    for index, day in enumerate(SIMULATED):
        files[day] = simulated_tm(processing, idb, day, seed=index)
        ledger_tm(engine, files[day], TMState.PROCESSED if index % 2 else TMState.STAGED)
    crossing = simulated_tm(processing, idb, CAMPAIGN[0], start="23:55", minutes=10, seed=9)
    ledger_tm(engine, crossing, TMState.STAGED)
    engine.dispose()
    conf = {
        "version": 4, "spice_dir": str(tmp_path / "spice"), "end_level": "L1",
        "first_day": CAMPAIGN[0].isoformat(), "last_day": CAMPAIGN[1].isoformat(),
    }  # fmt: skip
    task_settings = settings.replace(conf_dir=reference_data / "stix-conf")  # what the tasks' hook loads
    return {"files": files, "crossing": crossing, "conf": conf, "spice": tmp_path / "spice", "settings": task_settings}


def test_dag_shape_and_params(dagbag) -> None:
    dag = dagbag.get_dag(DAG_ID)
    assert (dag.timetable.expression, str(dag.timetable.timezone), dag.catchup) == ("0 0 1 * *", "UTC", False)
    assert [t.task_id for t in dag.topological_sort()] == ["plan", "reprocess"]
    assert dict(dag.params) == {
        "version": None, "fits_dir": None, "end_level": "L2", "month": None, "first_day": None, "last_day": None,
        "idb_dir": None, "spice_dir": None, "spice_file": None, "soop_dir": None, "stop_on_error": False,
        "dry_run": False,
    }  # fmt: skip
    assert all(dag.params.get_param(name).description for name in dag.params)


def test_backfill_makes_one_run_per_month(dagbag) -> None:
    """What `stix-pipeline reprocess --from 2024-03-05 --to 2024-05-10` backfills: 3 runs, not 67."""
    from airflow.serialization.serialized_objects import DagSerialization

    dag = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.get_dag(DAG_ID)))
    infos = list(
        dag.iter_dagrun_infos_between(pendulum.datetime(2024, 3, 1, tz="UTC"), pendulum.datetime(2024, 5, 10, tz="UTC"))
    )
    assert [i.logical_date.date() for i in infos] == [date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)]


def test_month_block_equals_the_per_day_runs_with_one_pipeline(dagbag, ledger, monkeypatch) -> None:
    from stix_lib.stages import reprocess as stage
    from stix_lib.validate.archive_diff import archive_differences

    built = []
    real_build = stage.build_pipeline
    monkeypatch.setattr(stage, "build_pipeline", lambda *a, **k: built.append(1) or real_build(*a, **k))
    run = _run({**ledger["conf"], "month": "2024-03"})
    assert {k: str(ti.state) for k, ti in _tis(run).items()} == {"plan": "success", "reprocess": "success"}
    assert len(built) == 1  # one processing chain (IDB, SPICE, writer) for the whole block
    block = _xcom(run, "plan")
    assert [p["day"] for p in block["days"]] == [d.isoformat() for d in day_range(*CAMPAIGN)]
    names = {p["day"]: [Path(f).name for f in p["tm_files"]] for p in block["days"]}
    crossing = ledger["crossing"].name
    assert names == {
        "2024-03-03": [ledger["files"][CAMPAIGN[0]].name, crossing],
        "2024-03-04": [crossing, ledger["files"][CAMPAIGN[1]].name],
    }
    result = _xcom(run, "reprocess")
    assert result["ok"] and result["failed"] == [] and list(result["days"]) == ["2024-03-03", "2024-03-04"]
    # the file crossing midnight is processed once, with its first day
    assert [(s["tm_files"], s["shared"]) for s in result["days"].values()] == [(2, []), (1, [crossing])]
    assert result["tm_files"] == 3
    block_out = Path(block["options"]["fits_dir"])
    assert l1_days(block_out) == set(CAMPAIGN)  # only the campaign's days, not 03-02 or 03-05

    # the reference: each day reprocessed on its own, as stix_reprocess does
    from stix_lib.db import connect

    settings = ledger["settings"]
    options = stage.resolve_options(
        settings, version=4, end_level="L1", fits_dir=Path(settings.data_root) / "per-day", spice_dir=ledger["spice"]
    )
    engine = connect(settings.pipeline_db_url)
    plans = [stage.plan_day(settings, engine, day, options) for day in day_range(*CAMPAIGN)]
    engine.dispose()
    assert [p["tm_files"] for p in plans] == [p["tm_files"] for p in block["days"]]
    assert all(stage.reprocess(settings, plan)["ok"] for plan in plans)
    assert len(built) == 3  # the reference built one chain per day
    assert archive_differences(Path(options.fits_dir), block_out) == []


def test_a_bad_day_is_named_and_the_other_days_are_written(dagbag, settings, ledger, smtp_sink) -> None:
    ledger["files"][CAMPAIGN[1]].unlink()  # in the ledger, gone from disk
    run = _run({**ledger["conf"], "month": "2024-03"})
    tis = _tis(run)
    assert (str(tis["plan"].state), str(tis["reprocess"].state)) == ("success", "failed")
    assert tis["reprocess"].try_number == 1  # not retried: the input must be fixed first
    summary = _xcom(run, "reprocess", key="summary")
    assert summary["failed"] == ["2024-03-04"] and summary["days"]["2024-03-03"]["ok"]
    assert summary["days"]["2024-03-04"]["missing"] == [ledger["files"][CAMPAIGN[1]].name]
    out = Path(_xcom(run, "plan")["options"]["fits_dir"])
    assert date(2024, 3, 3) in l1_days(out)  # the good day's products are there
    (mail,) = smtp_sink.messages
    body = mail.get_body(preferencelist=("html", "plain")).get_content()
    assert "1 of 2 day(s) failed: 2024-03-04" in body and "missing TM files" in body


def test_dry_run_plans_the_block_and_processes_nothing(dagbag, settings, ledger) -> None:
    run = _run({**ledger["conf"], "month": "2024-03", "dry_run": True})
    assert {k: str(ti.state) for k, ti in _tis(run).items()} == {"plan": "success", "reprocess": "skipped"}
    block = _xcom(run, "plan")
    assert [p["day"] for p in block["days"]] == ["2024-03-03", "2024-03-04"] and block["tm_files"] == 4
    assert all(p["clock"].startswith("spice ") for p in block["days"])
    assert not (Path(settings.data_root) / "reprocess").exists()
