"""Staging: release by age, by flown SPICE coverage (held back, then released by a new kernel zip), atomically."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pendulum
import pytest

from tests.support.ingest_helpers import asset_events, build_kernel_tree, flown_mk_name, flown_mk_zip

pytestmark = pytest.mark.airflow

NAME = "solo_BatchRequest.PktTmRaw.SOL.0.2019.331.10.00.00.000.STAGE@1.xml"


@pytest.fixture
def local_exchange(tmp_path: Path, settings, monkeypatch) -> Path:
    """A local SOC exchange (telemetry + from_soc) so ingest and spice sync need no SSH here."""
    tm = tmp_path / "exchange" / "tm"
    from_soc = tmp_path / "exchange" / "from_soc"
    tm.mkdir(parents=True)
    from_soc.mkdir(parents=True)
    monkeypatch.setenv("STIX_TM_SOURCE", str(tm))
    monkeypatch.setenv("STIX_TM_SOURCE_LOCAL", "true")
    monkeypatch.setenv("STIX_FROM_SOC_SOURCE", str(from_soc))
    monkeypatch.setenv("STIX_FROM_SOC_SOURCE_LOCAL", "true")
    return tmp_path / "exchange"


def _ingest(names: list[str], tm_bytes: bytes, exchange: Path):
    from stix_lib.db import connect
    from stix_lib.settings import load_settings
    from stix_lib.stages.ingest import ingest

    for name in names:
        (exchange / "tm" / name).write_bytes(tm_bytes)
    cfg = load_settings()
    engine = connect(cfg.pipeline_db_url)
    result = ingest(cfg, engine)
    assert sorted(p.name for p in result.new_files) == sorted(names)
    return cfg, engine


def test_age_rule_uses_received_at(settings, local_exchange, tm_bytes, monkeypatch):
    from stix_lib.db import ledger
    from stix_lib.stages.staging import AGE, plan_release

    monkeypatch.setenv("STIX_STAGING_DELAY", "2d")
    cfg, engine = _ingest([NAME], tm_bytes, local_exchange)
    received = ledger.get(engine, NAME).received_at.replace(tzinfo=UTC)
    # the SOC file's mtime is irrelevant: an ancient file is still held for 2 days after it arrived
    just_before = received + timedelta(days=2) - timedelta(seconds=1)
    releases, held, _ = plan_release(cfg, engine, now=just_before, coverage=False)
    assert (releases, held) == ([], [NAME])
    releases, held, _ = plan_release(cfg, engine, now=received + timedelta(days=2), coverage=False)
    assert [(r.name, r.reason) for r in releases] == [(NAME, AGE)] and held == []


def test_staging_dag_releases_by_age(dagbag, settings, local_exchange, tm_bytes, monkeypatch):
    from airflow.utils.state import DagRunState

    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState

    monkeypatch.setenv("STIX_STAGING_DELAY", "0")  # the demo's setting
    cfg, engine = _ingest([NAME, "b.PktTmRaw.xml"], tm_bytes, local_exchange)
    before = len(asset_events("stix://tm/staged"))

    run = dagbag.get_dag("stix_tm_staging").test(logical_date=pendulum.datetime(2026, 3, 1, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    assert list(cfg.soc_incoming_dir.iterdir()) == []
    assert sorted(p.name for p in cfg.soc_processing_dir.iterdir()) == sorted([NAME, "b.PktTmRaw.xml"])
    assert (cfg.soc_processing_dir / NAME).read_bytes() == tm_bytes
    rows = ledger.in_state(engine, TMState.STAGED)
    assert {r.name: r.path for r in rows} == {n: str(cfg.soc_processing_dir / n) for n in (NAME, "b.PktTmRaw.xml")}
    events = asset_events("stix://tm/staged")[before:]
    assert len(events) == 1
    assert events[0]["files"] == sorted([NAME, "b.PktTmRaw.xml"])
    assert set(events[0]["reasons"].values()) == {"age"}


def test_spice_coverage_holds_back_until_a_new_kernel_zip(
    dagbag, settings, local_exchange, tm_bytes, reference_data, monkeypatch
):
    """The file's data are of 2019-11-27: a flown MK of 2019-11-01 holds it back, one of 2019-12-01 releases it."""
    from airflow.utils.state import DagRunState, TaskInstanceState

    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState
    from stix_lib.stages.spice_sync import unzipped

    monkeypatch.setenv("STIX_STAGING_DELAY", "2d")
    build_kernel_tree(settings.spice_dir, reference_data, flown_day="20191101")
    cfg, engine = _ingest([NAME], tm_bytes, local_exchange)

    staging = dagbag.get_dag("stix_tm_staging")
    sensor = staging.get_task("wait_for_releasable")
    monkeypatch.setattr(sensor, "timeout", 2)  # give up quickly instead of after 25 minutes
    monkeypatch.setattr(sensor, "poke_interval", 1)
    run = staging.test(logical_date=pendulum.datetime(2026, 3, 2, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"wait_for_releasable": TaskInstanceState.SKIPPED, "release": TaskInstanceState.SKIPPED}
    assert ledger.get(engine, NAME).state is TMState.INCOMING
    assert (cfg.soc_incoming_dir / NAME).exists() and not (cfg.soc_processing_dir / NAME).exists()

    # a kernel delivery with a newer flown MK arrives at the SOC and is synced + unzipped
    zip_name = "solo_ANC_soc-flown-mk_V999_20191201_001.zip"
    flown_mk_zip(local_exchange / "from_soc" / "kernels" / zip_name, reference_data, "20191201")
    spice_events = len(asset_events("stix://spice/kernels"))
    run = dagbag.get_dag("stix_spice_sync").test(logical_date=pendulum.datetime(2026, 3, 2, 0, 15, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    assert (settings.spice_dir / "mk" / flown_mk_name("20191201")).is_file()
    delivered = local_exchange / "from_soc" / "kernels" / zip_name
    assert unzipped(connect(cfg.pipeline_db_url)) == {zip_name: delivered.stat().st_size}
    event = asset_events("stix://spice/kernels")[spice_events:]
    assert [e["flown_mk"] for e in event] == [flown_mk_name("20191201")]
    assert event[0]["zips"] == [zip_name]

    # the next staging run releases it early, because of the kernels
    before = len(asset_events("stix://tm/staged"))
    run = staging.test(logical_date=pendulum.datetime(2026, 3, 2, 0, 30, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    row = ledger.get(engine, NAME)
    assert row.state is TMState.STAGED and row.path == str(cfg.soc_processing_dir / NAME)
    assert (cfg.soc_processing_dir / NAME).read_bytes() == tm_bytes
    staged = asset_events("stix://tm/staged")[before:]
    assert [e["reasons"] for e in staged] == [{NAME: "spice"}]
    assert staged[0]["coverage"]["flown_mk"] == flown_mk_name("20191201")


def test_coverage_reads_a_missing_obt_range_from_the_file(
    settings, local_exchange, tm_bytes, reference_data, monkeypatch
):
    from sqlalchemy import select

    from stix_lib.db.schema import tm_files
    from stix_lib.stages.staging import SPICE, plan_release

    monkeypatch.setenv("STIX_STAGING_DELAY", "2d")
    build_kernel_tree(settings.spice_dir, reference_data, flown_day="20191201")
    cfg, engine = _ingest([NAME], tm_bytes, local_exchange)
    with engine.begin() as conn:  # a row from before OBT ranges were recorded
        conn.execute(tm_files.update().values(obt_start=None, obt_end=None))
    releases, held, coverage = plan_release(cfg, engine)
    assert [(r.name, r.reason) for r in releases] == [(NAME, SPICE)] and held == []
    assert "0628184120:37943 - 0628189995:42007" in releases[0].detail
    assert coverage.meta_kernel == flown_mk_name("20191201")
    with engine.connect() as conn:
        assert conn.execute(select(tm_files.c.obt_end)).scalar_one() == (628189995 << 16) + 42007


def test_release_is_idempotent_and_never_overwrites(settings, local_exchange, tm_bytes, monkeypatch):
    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState
    from stix_lib.stages.staging import stage

    monkeypatch.setenv("STIX_STAGING_DELAY", "0")
    names = [f"{stem}.PktTmRaw.xml" for stem in ("again", "clash", "crashed", "vanished", "ok")]
    cfg, engine = _ingest(names, tm_bytes, local_exchange)
    incoming, processing = cfg.soc_incoming_dir, cfg.soc_processing_dir
    shutil.copy(incoming / "again.PktTmRaw.xml", processing / "again.PktTmRaw.xml")  # same file already there
    (processing / "clash.PktTmRaw.xml").write_bytes(b"someone else's file")
    shutil.move(incoming / "crashed.PktTmRaw.xml", processing / "crashed.PktTmRaw.xml")  # moved, ledger not updated
    (incoming / "vanished.PktTmRaw.xml").unlink()

    result = stage(cfg, engine, now=datetime.now(UTC), coverage=False)

    assert sorted(result.released) == ["again.PktTmRaw.xml", "crashed.PktTmRaw.xml", "ok.PktTmRaw.xml"]
    assert sorted(result.quarantined) == ["clash.PktTmRaw.xml", "vanished.PktTmRaw.xml"]
    assert "already in" in result.quarantined["clash.PktTmRaw.xml"]
    assert "missing from" in result.quarantined["vanished.PktTmRaw.xml"]
    assert (processing / "clash.PktTmRaw.xml").read_bytes() == b"someone else's file"  # untouched
    assert (cfg.quarantine_dir / "clash.PktTmRaw.xml").read_bytes() == tm_bytes
    assert "already in" in (cfg.quarantine_dir / "clash.PktTmRaw.xml.reason").read_text()
    assert list(incoming.iterdir()) == []
    for name in result.released:
        assert (processing / name).read_bytes() == tm_bytes
        assert ledger.get(engine, name).state is TMState.STAGED
    assert {r.name for r in ledger.in_state(engine, TMState.QUARANTINED)} == set(result.quarantined)
    # running again changes nothing
    again = stage(cfg, engine, coverage=False)
    assert (again.released, again.quarantined, again.held) == ({}, {}, [])


def test_built_kernel_deliveries_hold_back_then_release(settings, local_exchange, tm_bytes, tmp_path, monkeypatch):
    """Synthetic kernel sets (``stix_lib.dev.synthetic_kernels``) as SOC zips: flown to 11-26 holds, 11-28 releases."""
    from airflow.sdk.exceptions import AirflowSkipException

    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState
    from stix_lib.dev.synthetic_kernels import build_kernel_set
    from stix_lib.settings import load_settings
    from stix_lib.stages.spice_sync import sync_from_soc, unzip_pending
    from stix_lib.stages.staging import stage
    from stix_ops.sensors.staging import TMReleaseSensor

    monkeypatch.setenv("STIX_STAGING_DELAY", "2d")
    sensor = TMReleaseSensor(task_id="wait", timeout=60)
    with pytest.raises(AirflowSkipException, match="nothing to wait for"):  # no incoming file at all
        sensor.poke({})
    cfg, engine = _ingest([NAME], tm_bytes, local_exchange)  # data of 2019-11-27 (synthetic SCLK: ~15:35-17:13 UTC)
    deliveries = local_exchange / "from_soc" / "spice"

    first = build_kernel_set(tmp_path / "set1", "2019-11-20", "2019-12-31", "2019-11-26", make_zips=True,
                             zip_dir=deliveries)  # fmt: skip
    sync_from_soc(cfg)
    assert sorted(unzip_pending(cfg, engine).unzipped) == sorted(z.name for z in first.zips)
    assert sensor.poke({}).is_done is False
    assert stage(cfg, engine).released == {}
    assert ledger.get(engine, NAME).state is TMState.INCOMING

    second = build_kernel_set(tmp_path / "set2", "2019-11-20", "2019-12-31", "2019-11-28T12:00", make_zips=True,
                              zip_dir=deliveries)  # fmt: skip
    sync_from_soc(cfg)
    assert sorted(unzip_pending(cfg, engine).unzipped) == sorted(z.name for z in second.zips)
    poke = sensor.poke({})
    assert (poke.is_done, poke.xcom_value) == (True, [NAME])
    result = stage(load_settings(), engine)
    assert result.released == {NAME: "spice"}
    assert result.coverage["flown_mk"] == second.names.flown_mk.split("/")[-1]
    assert ledger.get(engine, NAME).state is TMState.STAGED
