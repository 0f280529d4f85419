"""Never an L1 product without kernels: TM files wait ("waiting for kernels") and are processed when kernels arrive.

Issue 17, items 3 and 9: a processing run before any kernels existed wrote science L1 files with the
nominal clock (``SPICE_MK`` empty, another ``DATE-OBS`` and file name). The truth used here does
not come from our own output: "no L1 file at all" and "every L1 file names the meta kernels it
was made with" hold whatever the implementation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest
from astropy.io import fits

from tests.support.pipeline_support import stage_tm

pytestmark = pytest.mark.airflow

START = "2024-05-14T10:00:00"


@pytest.fixture
def staged_bsd(settings, reference_data, monkeypatch):
    """One hour of simulated telemetry with science requests, staged in the ledger; no SPICE kernels."""
    from stix_lib.dev.simulate import SimulationConfig, simulate
    from stix_lib.ridlut.table import write_rows_atomic

    monkeypatch.setenv("STIX_CONF_DIR", str(reference_data / "stix-conf"))
    settings = settings.replace(conf_dir=reference_data / "stix-conf")
    result = simulate(
        SimulationConfig(start=START, duration=3600.0, out_dir=settings.data_root / "simulated",
                         idb_dir=reference_data / "idb", scenario="bsd", seed=3)
    )  # fmt: skip
    manifest = json.loads(result.manifest_path.read_text())
    write_rows_atomic(
        settings.rid_lut_file,
        [{"unique_id": str(r["request_id"]), "scaling_factor": ""} for r in manifest["requests"]],
    )
    engine, staged = stage_tm(settings, result.files)
    assert not (settings.spice_dir / "mk").exists()
    return settings, engine, [path.name for path in staged]


def _run(dagbag):
    return dagbag.get_dag("stix_level_processing").test(logical_date=pendulum.now("UTC"))


def _files(archive: Path, level: str) -> list[Path]:
    return sorted((archive / level).rglob("*.fits")) if (archive / level).exists() else []


def test_no_l1_before_kernels_then_l1_when_they_arrive(dagbag, staged_bsd):
    from airflow.utils.state import DagRunState

    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    settings, engine, staged = staged_bsd
    archive = settings.fits_archive_dir

    # 1. no kernels: LB and L0 (on-board time only) are made, no L1; the files wait, the run is green
    assert _run(dagbag).state == DagRunState.SUCCESS
    assert _files(archive, "LB") and any("stix-sci-" in p.name for p in _files(archive, "L0"))
    assert _files(archive, "L1") == []
    rows = {r.name: r for r in ledger.in_state(engine, TMState.WAITING_KERNELS)}
    assert sorted(rows) == sorted(staged)
    assert all(r.error.startswith("waiting for kernels: no SPICE kernels") for r in rows.values())

    # 2. kernels that end before the data: still no L1, still waiting (and the reason says so)
    build_kernel_set(settings.spice_dir, "2024-04-01", "2024-05-01", "2024-04-20")
    assert _run(dagbag).state == DagRunState.SUCCESS
    assert _files(archive, "L1") == []
    rows = {r.name: r for r in ledger.in_state(engine, TMState.WAITING_KERNELS)}
    assert sorted(rows) == sorted(staged)
    assert all("cover OBT" in r.error for r in rows.values()), [r.error for r in rows.values()]

    # 3. kernels covering the data arrive: L1 made (science and daily), every one with its kernels
    build_kernel_set(settings.spice_dir, "2024-05-01", "2024-06-01", "2024-05-20")
    assert _run(dagbag).state == DagRunState.SUCCESS
    l1 = _files(archive, "L1")
    assert any("stix-sci-xray" in p.name for p in l1) and any("stix-ql-lightcurve" in p.name for p in l1)
    for path in l1:
        assert fits.getheader(path)["SPICE_MK"].strip(), path.name
    assert {r.name for r in ledger.in_state(engine, TMState.PROCESSED)} == set(staged)
    assert ledger.in_state(engine, TMState.WAITING_KERNELS) == []
    # exactly one L1 file per science request (no nominal-clock twin beside it)
    requests = [p.name.split("_")[-1] for p in l1 if "stix-sci-" in p.name]
    assert len(requests) == len(set(requests))


def test_only_kernel_events_and_people_take_waiting_files():
    from stix_ops.operators.processing import include_waiting

    assert include_waiting("asset_triggered", ["stix_spice_kernels"])
    assert include_waiting("asset_triggered", ["stix_tm_staged", "stix_spice_kernels"])
    assert include_waiting("manual", [])
    assert include_waiting("DagRunType.MANUAL", [])
    assert not include_waiting("asset_triggered", ["stix_tm_staged"])
    assert not include_waiting("scheduled", [])
