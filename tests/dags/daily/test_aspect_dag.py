"""``stix_daily_products`` task ``anc_aspect`` under ``dag.test()`` with the IDL bridge configured (stand-in
IDL command): the due HK file becomes the daily ANC file and a history row, a re-run makes nothing,
a failing IDL call fails the task without a product."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pendulum
import pytest
from astropy.io import fits

from tests.support.aspect_support import GSW_VERSION, calls, hk_input, stand_in_idl

pytestmark = pytest.mark.airflow

DAG_ID = "stix_daily_products"
DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / f"{DAG_ID}.py"
ANC = "ANC/2020/05/01/ASP/solo_ANC_stix-asp-ephemeris_20200501_V02U.fits"
_SECONDS = itertools.count()


def _run(conf: dict[str, Any]):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAG_FILE)).get_dag(DAG_ID)
    logical = pendulum.parse("2026-03-02T08:00:00+00:00").add(seconds=next(_SECONDS))
    return dag.test(logical_date=logical, run_conf=conf)


def _ti(run, task_id: str = "anc_aspect"):
    return next(t for t in run.get_task_instances() if t.task_id == task_id)


def _summary(run) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, key="return_value", task_ids="anc_aspect", dag_ids=DAG_ID)
        ).first()
        return XComModel.deserialize_value(row)


@pytest.fixture
def history(settings):
    from stix_lib.daily import DatabaseHistory
    from stix_lib.db import connect

    engine = connect(settings.pipeline_db_url)
    yield DatabaseHistory(engine)
    engine.dispose()


@pytest.fixture
def configured(settings, reference_data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The bridge configured through ``STIX_*`` (as in production), with the real 2020 kernels."""
    script = stand_in_idl(tmp_path / "idl")
    monkeypatch.setenv("STIX_IDL_GSW_PATH", str(tmp_path / "STX-GSW"))
    monkeypatch.setenv("STIX_IDL_EXECUTABLE", str(script))
    monkeypatch.setenv("STIX_IDL_BATCHSIZE", "1")
    monkeypatch.setenv("STIX_SPICE_DIR", str(reference_data / "spice" / "kernels"))
    return script


def test_due_hk_file_becomes_the_anc_file(dagbag, settings, reference_data, configured: Path, history) -> None:
    archive = Path(settings.fits_archive_dir)
    hk = hk_input(archive, reference_data)
    v03 = hk_input(archive, reference_data, name="solo_L1_stix-hk-maxi_20200501_V03.fits")
    first = _run({"days_back": 2131})  # run day 2026-03-02: data days 2020-05-01 .. 2026-03-01
    assert str(_ti(first).state) == "success" and str(first.state) == "success"
    path = archive / ANC
    summary = _summary(first)
    assert summary["window"] == "2020-05-01 .. 2026-03-01" and summary["processed"] == [hk.name, v03.name]
    assert summary["written"] == [str(path)] and summary["gsw_version"] == [GSW_VERSION]
    assert [c["files"] for c in calls(configured)] == [[hk.name], [v03.name]]  # idl_batchsize 1: two calls
    assert calls(configured)[0]["gsw"] == str(Path(settings.data_root).parent / "STX-GSW")
    header = fits.getheader(path)
    assert (header["LEVEL"], header["STX_GSW"], header["PARENT"]) == ("ANC", GSW_VERSION, v03.name)
    assert len(fits.getdata(path, "DATA")) == 1350
    rows = history.rows("ANC")
    assert [(r["fits_in_path"], r["fits_out_path"]) for r in rows] == [(str(hk), str(path)), (str(v03), str(path))]

    second = _run({"days_back": 0})
    assert str(_ti(second).state) == "success"
    assert _summary(second)["processed"] == [] and len(history.rows("ANC")) == 2 and len(calls(configured)) == 2


def test_failing_idl_fails_the_task_without_product(
    dagbag, settings, reference_data, configured: Path, history, monkeypatch, tmp_path, smtp_sink
) -> None:
    hk = hk_input(Path(settings.fits_archive_dir), reference_data)
    monkeypatch.setenv("STIX_IDL_EXECUTABLE", str(stand_in_idl(tmp_path / "broken", "garbage")))
    run = _run({"days_back": 0})
    ti = _ti(run)
    assert str(ti.state) == "failed" and ti.try_number == 1  # AirflowFailException: no retry
    assert str(_ti(run, "ll03_plots").state) == "success"
    assert not list(Path(settings.fits_archive_dir).glob("ANC/**/*.fits")) and history.rows("ANC") == []
    (mail,) = smtp_sink.messages
    body = mail.get_body(preferencelist=("html", "plain")).get_content()
    assert "anc_aspect" in mail["Subject"] and hk.name in body and "unusable result output.json" in body
    (kept,) = (Path(settings.log_dir) / "idl-aspect").iterdir()  # the failed call's work dir, for inspection
    assert (kept / "input.json").exists() and str(kept) in body
