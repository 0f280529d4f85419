"""stix_level_processing under dag.test(): simulated telemetry becomes L1 products, ledgered and reported."""

from __future__ import annotations

import json

import pendulum
import pytest

from tests.support.pipeline_support import stage_tm

pytestmark = pytest.mark.airflow


@pytest.fixture
def world(settings, reference_data, monkeypatch):
    """Settings with kernels, STIX-CONF, and 2 h of simulated telemetry in two staged files."""
    from stix_lib.dev.simulate import SimulationConfig, simulate
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    monkeypatch.setenv("STIX_CONF_DIR", str(reference_data / "stix-conf"))
    settings = settings.replace(conf_dir=reference_data / "stix-conf")
    build_kernel_set(settings.spice_dir, "2024-05-01", "2024-06-01", "2024-05-20")
    work = settings.data_root / "simulated"
    result = simulate(
        SimulationConfig(start="2024-05-14T10:00:00", duration=7200.0, out_dir=work,
                         idb_dir=reference_data / "idb", scenario="flare", seed=7, files=2)
    )  # fmt: skip
    engine, staged = stage_tm(settings, result.files)
    return settings, engine, staged


def _run(dagbag, **conf):
    dag = dagbag.get_dag("stix_level_processing")
    return dag.test(logical_date=pendulum.now("UTC"), run_conf=conf or None)


def test_staged_files_become_l1_products(dagbag, world):
    from airflow.utils.state import DagRunState
    from sqlalchemy import select

    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState, processing_reports

    settings, engine, staged = world
    assert _run(dagbag).state == DagRunState.SUCCESS

    archive = settings.fits_archive_dir
    l1 = sorted(p.name for p in (archive / "L1").rglob("*.fits"))
    assert "solo_L1_stix-ql-lightcurve_20240514_V02U.fits" in l1
    assert "solo_L1_stix-hk-maxi_20240514_V02U.fits" in l1
    assert sorted(p.name for p in (archive / "LB").rglob("*.fits"))
    assert {r.name for r in ledger.in_state(engine, TMState.PROCESSED)} == {p.name for p in staged}
    with engine.connect() as conn:
        rows = conn.execute(select(processing_reports)).all()
    assert sorted(r.tm_file for r in rows) == sorted(p.name for p in staged)
    for row in rows:
        report = json.loads(row.report)
        assert row.status == "ok" and report["produced"]["L1"], report
    levels = ledger.products_per_level(engine)
    assert levels["LB"] > 0 and levels["L0"] > 0 and levels["L1"] > 0

    # nothing left to do: a second run processes nothing and changes no file
    before = {p: p.stat().st_mtime_ns for p in archive.rglob("*.fits")}
    assert _run(dagbag).state == DagRunState.SUCCESS
    assert {p: p.stat().st_mtime_ns for p in archive.rglob("*.fits")} == before


def test_unusable_file_is_quarantined_and_the_rest_goes_on(dagbag, world, smtp_sink):
    from airflow.utils.state import DagRunState

    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState

    settings, engine, staged = world
    bad = settings.soc_processing_dir / "broken_BatchRequest.PktTmRaw.SOL.0.2024.135.10.00.00.000.XXXX@x.1.xml"
    bad.write_text("<ns2:ResponsePart><Response><PktRawResponse><PktRawResponseElement packetID='1'>")
    ledger.record_incoming(engine, bad)
    ledger.set_state(engine, bad.name, TMState.STAGED, path=bad)

    run = _run(dagbag)
    assert run.state == DagRunState.FAILED  # the check task alerts; everything else was done
    states = {ti.task_id: ti.state for ti in run.get_task_instances() if ti.map_index in (-1, 0)}
    assert states["record"] == "success" and states["check"] == "failed"
    quarantined = settings.quarantine_dir / bad.name
    assert quarantined.is_file() and not bad.exists()
    assert bad.name in (settings.quarantine_dir / (bad.name + ".reason")).read_text()
    assert ledger.get(engine, bad.name).state is TMState.QUARANTINED
    assert {r.name for r in ledger.in_state(engine, TMState.PROCESSED)} == {p.name for p in staged}
    # one data-problem mail naming the file, the reason and the next step (no second failure mail)
    (mail,) = smtp_sink.wait_for(1)
    assert "DATA PROBLEM" in mail["Subject"] and bad.name in mail["Subject"]
    body = mail.get_body(("html", "plain")).get_content()
    assert "Next step" in body and "quarantine" in body
    assert len(smtp_sink.messages) == 1


def test_manual_reprocessing_from_lb_into_another_archive(dagbag, world, tmp_path):
    from airflow.utils.state import DagRunState

    settings, _engine, _staged = world
    assert _run(dagbag, end_level="LB").state == DagRunState.SUCCESS
    lb_files = sorted(str(p) for p in (settings.fits_archive_dir / "LB").rglob("*.fits"))
    assert lb_files and not (settings.fits_archive_dir / "L1").exists()
    other = tmp_path / "reprocessed"
    run = _run(dagbag, start_level="LB", end_level="L1", input_files=lb_files, fits_dir=str(other))
    assert run.state == DagRunState.SUCCESS
    assert sorted(p.name for p in (other / "L1").rglob("*lightcurve*.fits")) == [
        "solo_L1_stix-ql-lightcurve_20240514_V02U.fits"
    ]
