"""``stix_daily_products`` under ``dag.test()``: LL03 plots from a real L1 light curve with the processing
history in the pipeline DB (re-run makes nothing, a rewritten input is plotted again), the data-day window,
the LL03 asset event, and the ANC aspect product skipped without IDL."""

from __future__ import annotations

import itertools
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest
from astropy.io import fits

from stix_lib.daily import IDL_NOT_CONFIGURED, lightcurve_inputs, ll03_paths, plot_days
from tests.support.dag_runs import run_asset_events, task_states, xcom

pytestmark = pytest.mark.airflow

DAG_ID = "stix_daily_products"
DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / f"{DAG_ID}.py"
LC = "solo_L1_stix-ql-lightcurve_20200506_V01.fits"
DAY = date(2020, 5, 6)
_MINUTES = itertools.count()


def _run(dagbag, conf: dict[str, Any] | None = None, day: str = "2026-03-02"):
    """One ``dag.test()`` run (the DAG file parsed afresh, a fresh logical date at 08:00 of ``day``)."""
    from airflow.dag_processing.dagbag import DagBag

    assert DAG_ID in dagbag.dag_ids
    dag = DagBag(dag_folder=str(DAG_FILE)).get_dag(DAG_ID)
    logical = pendulum.parse(f"{day}T08:00:00+00:00").add(seconds=next(_MINUTES))
    return dag.test(logical_date=logical, run_conf=conf)


@pytest.fixture
def lightcurve(settings, reference_data: Path) -> Path:
    """The real reference L1 light curve in the archive's L1 folder of its day (V01 ``*_err`` names)."""
    folder = Path(settings.fits_archive_dir) / "L1" / "2020" / "05" / "06" / "QL"
    folder.mkdir(parents=True)
    path = folder / LC
    shutil.copyfile(reference_data / "reference" / "l1" / LC, path)
    path.chmod(0o644)
    return path


@pytest.fixture
def history(settings):
    from stix_lib.daily import DatabaseHistory
    from stix_lib.db import connect

    engine = connect(settings.pipeline_db_url)
    yield DatabaseHistory(engine)
    engine.dispose()


def test_dag_shape_and_params(dagbag) -> None:
    dag = dagbag.get_dag(DAG_ID)
    cron = dag.timetable.timetable  # daily at 08:00 or when L1 processing wrote products
    assert (cron.expression, str(cron.timezone)) == ("0 8 * * *", "UTC")
    assert [a.name for a in dag.timetable.asset_condition.objects] == ["stix_fits_l1"]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert sorted(dag.task_ids) == ["anc_aspect", "ll03_plots"] and not dag.get_task("ll03_plots").upstream_task_ids
    assert dict(dag.params) == {"days_back": 40, "fits_dir": None}
    assert [o.name for o in dag.get_task("ll03_plots").outlets] == ["stix_ll03_plotting"]


def test_ll03_once_per_input_version_and_again_after_a_rewrite(dagbag, settings, lightcurve, history, capfd) -> None:
    svg, png = ll03_paths(settings.fits_archive_dir, DAY, settings.processing_version)
    whole_archive = {"days_back": 0}

    first = _run(dagbag, whole_archive)
    assert str(first.state) == "success"
    assert task_states(first) == {"ll03_plots": "success", "anc_aspect": "skipped"}
    assert xcom(first, "ll03_plots")["written"] == [str(svg), str(png)]
    assert svg.read_text().count(f"<dc:source>{LC} DATE=2022-03-22T11:14:37.818</dc:source>") == 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (row,) = history.rows()
    assert (row["name"], row["level"], row["type"], row["version"]) == ("lightcurve", "LL03", "ql", 2)
    assert (row["fits_in_path"], row["fits_out_path"]) == (str(lightcurve), str(svg))
    assert run_asset_events(first, "stix_ll03") == [{"files": [svg.name], "more_files": 0}]
    skip_lines = [line for line in capfd.readouterr().out.splitlines() if IDL_NOT_CONFIGURED in line]
    assert len(skip_lines) == 1 and "Skipping task" in skip_lines[0]  # one clear line in the task log, no ANC file
    assert not list(Path(settings.fits_archive_dir).glob("ANC/**/*.fits"))

    plotted = (svg.read_bytes(), svg.stat().st_mtime_ns)
    second = _run(dagbag, whole_archive)
    assert task_states(second) == {"ll03_plots": "success", "anc_aspect": "skipped"}
    summary = xcom(second, "ll03_plots")
    assert summary["written"] == [] and summary["skipped"] == [f"{LC}: already processed into {svg.name}"]
    assert len(history.rows()) == 1 and (svg.read_bytes(), svg.stat().st_mtime_ns) == plotted
    assert run_asset_events(second, "stix_ll03") == []

    rewritten = datetime.now(UTC)  # the input is written again (new DATE)
    with fits.open(lightcurve, mode="update") as hdul:
        hdul[0].header["DATE"] = rewritten.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    while datetime.now(UTC) <= rewritten + timedelta(seconds=1.1):  # the 1-s cadence gate
        time.sleep(0.1)
    third = _run(dagbag, whole_archive)
    assert xcom(third, "ll03_plots")["written"] == [str(svg), str(png)]
    assert len(history.rows()) == 2 and history.rows()[-1]["p_date"] > rewritten
    assert f"DATE={rewritten:%Y-%m-%dT%H:%M:%S}" in svg.read_text()
    assert run_asset_events(third, "stix_ll03") == [{"files": [svg.name], "more_files": 0}]


def test_run_looks_at_the_window_of_data_days(dagbag, settings, lightcurve, history) -> None:
    outside = _run(dagbag)  # run day 2026-03-02, data days 2026-01-21 .. 2026-03-01: not 2020-05-06
    assert xcom(outside, "ll03_plots") | {"skipped": []} == {
        "run_day": "2026-03-02", "window": "2026-01-21 .. 2026-03-01", "inputs": 0, "written": [], "skipped": [],
        "errors": [],
    }  # fmt: skip
    assert history.rows() == [] and not (Path(settings.fits_archive_dir) / "LL03").exists()
    inside = _run(dagbag, {"days_back": 2126})  # 2026-03-02 - 2126 days = 2020-05-06
    summary = xcom(inside, "ll03_plots")
    assert summary["window"] == "2020-05-06 .. 2026-03-01" and len(summary["written"]) == 2


def test_plot_days_and_latest_version_inputs(tmp_path: Path, lightcurve: Path) -> None:
    assert plot_days(date(2026, 3, 2), 3) == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]
    assert plot_days(date(2026, 3, 2), 0) is None
    with pytest.raises(ValueError):
        plot_days(date(2026, 3, 2), -1)
    archive = lightcurve.parents[5]
    newer = lightcurve.with_name("solo_L1_stix-ql-lightcurve_20200506_V02U.fits")
    shutil.copyfile(lightcurve, newer)
    other = archive / "L1/2020/05/07/QL/solo_L1_stix-ql-lightcurve_20200507_V01.fits"
    other.parent.mkdir(parents=True)
    shutil.copyfile(lightcurve, other)
    assert lightcurve_inputs(archive, [DAY]) == [newer]
    assert lightcurve_inputs(archive, None) == [newer, other]
    assert lightcurve_inputs(archive, [date(2020, 5, 8)]) == []


def test_anc_with_idl_configured_names_the_due_inputs(
    dagbag, settings, reference_data, tmp_path, monkeypatch, smtp_sink
) -> None:
    """No IDL runner exists here: due HK inputs fail the task (one mail) instead of producing a substitute."""
    hk = "solo_L1_stix-hk-maxi_20200501_V01.fits"
    folder = Path(settings.fits_archive_dir) / "L1/2020/05/01/HK"
    folder.mkdir(parents=True)
    v02 = folder / hk.replace("_V01", "_V02")
    shutil.copyfile(reference_data / "reference" / "l1" / hk, v02)
    v02.chmod(0o644)
    with fits.open(v02, mode="update") as hdul:
        hdul[0].header["VERSION"] = "02"
    mk = tmp_path / "spice" / "mk"
    mk.mkdir(parents=True)
    (mk / "solo_ANC_soc-flown-mk_V107_20200510_001.tm").write_text("\\begintext\n")
    monkeypatch.setenv("STIX_IDL_GSW_PATH", str(tmp_path / "STX-GSW"))
    monkeypatch.setenv("STIX_SPICE_DIR", str(tmp_path / "spice"))
    run = _run(dagbag, {"days_back": 0})
    assert task_states(run)["anc_aspect"] == "failed" and str(run.state) == "failed"
    from airflow.models.taskinstance import TaskInstance

    ti: TaskInstance = next(t for t in run.get_task_instances() if t.task_id == "anc_aspect")
    assert ti.try_number == 1  # AirflowFailException: not retried
    assert not list(Path(settings.fits_archive_dir).glob("ANC/**/*"))
    (mail,) = smtp_sink.messages
    assert "anc_aspect" in mail["Subject"] and v02.name in mail.get_body(preferencelist=("html", "plain")).get_content()
