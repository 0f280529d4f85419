"""The demo scenario on the production stack without Docker (``python -m stix_ops.dev.prodstack e2e``).

PostgreSQL (Airflow metadata + pipeline DB), Redis, CeleryExecutor with two real Celery workers,
FAB auth manager; the SOC exchange, SOAR and the NAS are folders behind a loopback OpenSSH server:
simulated telemetry -> ingest (rsync/SSH) -> staging -> processing -> daily -> publishing (SFTP)
-> NAS mirror (rsync/SSH).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

L1_LIGHTCURVE = "solo_L1_stix-ql-lightcurve_20240514_V02.fits"


def test_demo_scenario_on_production_stack(prod_run):
    from stix_ops.dev import demo

    root, summary = prod_run
    assert summary["errors"] == []
    for dag_id in demo.DEMO_DAGS:
        manual = [r for r in summary["dag_runs"] if r["dag_id"] == dag_id and r["run_id"].startswith("manual")]
        assert [r["state"] for r in manual] == ["success"], dag_id
    # the ledger and the publish history were read from the PostgreSQL pipeline DB
    assert summary["pipeline_db"] == "postgresql"
    assert not (root / "data" / "pipeline.sqlite").exists()  # nothing fell back to the SQLite default
    assert summary["tm_files"] == {"processed": demo.DEMO_FILES}
    products = summary["products"]
    assert products["LB"] > 0 and products["L0"] > 0 and products["L1"] > 0, products
    l1 = {Path(p).name for p in summary["product_paths"]["L1"]}
    assert L1_LIGHTCURVE in l1, sorted(l1)
    data = root / "data"
    # telemetry came over SSH from the exchange, unchanged
    processing = data / "SOLSOC" / "from_edds" / "tm" / "processing"
    exchange = sorted((root / "soc-exchange").glob("*PktTmRaw*.xml"))
    assert len(exchange) == demo.DEMO_FILES
    assert all((processing / f.name).read_bytes() == f.read_bytes() for f in exchange)
    # SOAR deliveries went over SFTP to the server's folder, nothing to the local default target
    assert summary["published"] > 0
    soar = sorted(p.name for p in (root / "soar-server" / "esa").iterdir())
    assert len(soar) == summary["published"] and L1_LIGHTCURVE in soar
    local_default = data / "out" / "esa"
    assert not local_default.exists() or not any(local_default.iterdir())
    # the NAS mirror (rsync over SSH) holds the archive
    mirror = root / "nas-server" / "stixcore_fits"
    mirrored = {p.relative_to(mirror) for p in mirror.rglob("*.fits")}
    archived = {p.relative_to(data / "fits") for p in (data / "fits").rglob("*.fits")}
    assert archived and mirrored == archived
    # the FAB auth manager guards the API (the UI's data): nothing without a login
    denied = summary["access_without_login"]
    assert denied == {"api": 401, "token with a wrong password": 401}, denied
    # tasks ran on both Celery workers (task instance hostname = $STIX_WORKER_NAME of the worker)
    workers = summary["workers"]
    assert workers.get("stix-worker1", 0) > 0 and workers.get("stix-worker2", 0) > 0, workers
    assert set(workers) <= {"stix-worker1", "stix-worker2"}, workers


def test_sqlite_demo_and_production_stack_give_identical_products(demo_run, prod_run):
    """Same scenario, two deployments: the archives and the SOAR deliveries are the same products.

    Only what differs between any two runs is ignored (DATE, CHECKSUM, DATASUM, VERS_SW, wall-clock
    times in HISTORY lines): see :mod:`stix_lib.validate.archive_diff`.
    """
    from stix_lib.validate.archive_diff import archive_differences

    (demo_root, demo_summary), (prod_root, prod_summary) = demo_run, prod_run
    assert demo_summary["products"] == prod_summary["products"]
    assert archive_differences(demo_root / "data" / "fits", prod_root / "data" / "fits", pattern="*") == []
    assert archive_differences(demo_root / "data" / "out" / "esa", prod_root / "soar-server" / "esa") == []
