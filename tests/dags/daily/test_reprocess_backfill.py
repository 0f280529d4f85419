"""``stix_reprocess`` backfilled with ``stix-pipeline reprocess`` (REST API) on a real stack (api-server, scheduler,
dag-processor, triggerer): exactly the backfilled days are reprocessed into the new version's folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest

from tests.support.daily_support import KERNELS, day_range, l1_days, ledger_tm, simulated_tm

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
DAG_ID = "stix_reprocess"
SIMULATED = day_range(date(2024, 3, 2), date(2024, 3, 6))
BACKFILL = (date(2024, 3, 3), date(2024, 3, 5))


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def backfilled(reference_data: Path):
    """Five simulated days in the ledger; a three-day backfill with version 3 (``stix-pipeline reprocess``) run to
    completion while the scheduler runs."""
    from stix_lib.db import connect
    from stix_lib.db.schema import TMState
    from stix_lib.dev.synthetic_kernels import build_kernel_set
    from stix_lib.settings import load_settings
    from stix_ops.dev.localstack import LocalStack, StackConfig

    root = Path(tempfile.mkdtemp(prefix="stix-reprocess-stack-"))
    dags = root / "dags"
    dags.mkdir()
    os.symlink(REPO / "dags" / f"{DAG_ID}.py", dags / f"{DAG_ID}.py")
    build_kernel_set(root / "spice", *KERNELS)
    env = {
        "STIX_DATA_ROOT": str(root / "data"),
        "STIX_REFERENCE_DATA": str(reference_data),
        "STIX_IDB_DIR": str(reference_data / "idb"),
        "STIX_CONF_DIR": str(reference_data / "stix-conf"),
        "STIX_SPICE_DIR": str(root / "spice"),
    }
    settings = load_settings(environ=env)
    settings.ensure_folders()
    engine = connect(settings.pipeline_db_url)
    for index, day in enumerate(SIMULATED):  # released files, some already processed by the live pipeline
        path = simulated_tm(Path(settings.soc_processing_dir), reference_data / "idb", day, seed=index)
        ledger_tm(engine, path, TMState.PROCESSED if index % 2 else TMState.STAGED)
    engine.dispose()

    config = StackConfig(home=root / "airflow-home", parallelism=4)
    config.extra_env = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    stack = LocalStack(config)
    try:
        stack.prepare()
        stack.start(components=("api-server", "scheduler", "dag-processor"))  # no deferrable tasks: no triggerer
        stack.wait_healthy()
        stack.wait_for_dags([DAG_ID])
        # the README's route: ``stix-pipeline reprocess`` creates the backfill through the REST API
        created = subprocess.run(
            [
                sys.executable, "-m", "stix_lib.cli.main", "reprocess",
                "--from", BACKFILL[0].isoformat(), "--to", BACKFILL[1].isoformat(),
                "--version", "3", "--max-active-runs", "3", "--run-per", "day",
            ],
            env={
                **stack.env(),
                "STIX_AIRFLOW_API_URL": config.api_url,
                "STIX_AIRFLOW_API_USER": "admin",
                "STIX_AIRFLOW_API_PASSWORD": config.admin_password,
            },
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        assert f"{BACKFILL[0]} .. {BACKFILL[1]} (3 day(s)), version 3" in created.stdout

        def finished():
            runs = [r for r in stack.runs(DAG_ID) if r["run_type"] == "backfill"]
            return runs if len(runs) == 3 and all(r["state"] in ("success", "failed") for r in runs) else None

        runs = _wait(finished, 120, "the three backfill runs")
        health = stack.wait_healthy(timeout=60)  # raises if a component (the scheduler above all) has died
        backfills = stack.api("GET", "backfills", params={"dag_id": DAG_ID})["backfills"]
        yield {"runs": runs, "health": health, "backfills": backfills, "settings": settings, "stack": stack}
    finally:
        stack.stop(grace=5)
        shutil.rmtree(root, ignore_errors=True)


def test_backfill_runs_succeed(backfilled) -> None:
    runs = backfilled["runs"]
    assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in day_range(*BACKFILL)]
    assert {r["state"] for r in runs} == {"success"}
    assert [b["dag_run_conf"] for b in backfilled["backfills"]] == [{"version": 3}]
    assert backfilled["health"]["scheduler"]["status"] == "healthy"  # the scheduler kept running


def test_exactly_the_backfilled_days_are_reprocessed(backfilled) -> None:
    settings = backfilled["settings"]
    out = Path(settings.data_root) / "reprocess" / "V03"
    assert l1_days(out) == set(day_range(*BACKFILL))
    names = sorted(p.name for p in out.rglob("*.fits"))
    assert names and all("_V03" in name for name in names)
    lightcurves = sorted(p.name for p in out.glob("L1/*/*/*/QL/*ql-lightcurve*"))
    assert lightcurves == [f"solo_L1_stix-ql-lightcurve_{d:%Y%m%d}_V03U.fits" for d in day_range(*BACKFILL)]
    # the live archive and every other version's folder stay untouched
    assert not list(Path(settings.fits_archive_dir).rglob("*.fits"))
    assert [p.name for p in (Path(settings.data_root) / "reprocess").iterdir()] == ["V03"]


def test_plan_of_each_run(backfilled) -> None:
    stack = backfilled["stack"]
    for run in backfilled["runs"]:
        plan = stack.api(
            "GET", f"dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/plan/xcomEntries/return_value"
        )["value"]
        day = date.fromisoformat(run["logical_date"][:10])
        assert plan["day"] == day.isoformat() and plan["clock"].startswith("spice ")
        assert [Path(p).name.split(".")[5] for p in plan["tm_files"]] == [f"{day.timetuple().tm_yday:03d}"]
        assert plan["options"]["version"] == 3
