"""The demo scenario on the production stack without Docker (``python -m stix_ops.prodstack e2e``).

PostgreSQL (Airflow metadata + pipeline DB), Redis, CeleryExecutor with two real Celery workers,
FAB auth manager: simulated telemetry -> ingest -> staging -> processing -> publishing -> NAS mirror.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

L1_LIGHTCURVE = "solo_L1_stix-ql-lightcurve_20240514_V02.fits"


def test_demo_scenario_on_production_stack(tmp_path, reference_data):
    from stix_ops import demo, prodstack

    root = tmp_path / "prod"
    summary = prodstack.run_scenario(root, reference_data)

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
    assert summary["published"] > 0
    data = root / "data"
    soar = sorted(p.name for p in (data / "out" / "esa").iterdir())
    assert len(soar) == summary["published"] and L1_LIGHTCURVE in soar
    mirrored = {p.relative_to(data / "nas" / "stixcore_fits") for p in (data / "nas" / "stixcore_fits").rglob("*.fits")}
    archived = {p.relative_to(data / "fits") for p in (data / "fits").rglob("*.fits")}
    assert archived and mirrored == archived
    # tasks ran on both Celery workers (task instance hostname = $STIX_WORKER_NAME of the worker)
    workers = summary["workers"]
    assert workers.get("stix-worker1", 0) > 0 and workers.get("stix-worker2", 0) > 0, workers
    assert set(workers) <= {"stix-worker1", "stix-worker2"}, workers
