"""The ingest DAG under dag.test(): files land once, in the ledger, with an asset event."""

from __future__ import annotations

import shutil

import pendulum
import pytest

pytestmark = pytest.mark.airflow


@pytest.fixture(params=["settings-sqlite", "connection-postgres"])
def pipeline_db(request, settings, monkeypatch) -> str:
    """Where the DAG's ledger goes: the default SQLite setting, or the stix_pipeline_db connection."""
    if request.param == "settings-sqlite":
        monkeypatch.delenv("AIRFLOW_CONN_STIX_PIPELINE_DB", raising=False)
        return settings.pipeline_db_url
    url = request.getfixturevalue("postgres_url")
    uri = url.replace("postgresql+psycopg2://", "postgres://")
    monkeypatch.setenv("AIRFLOW_CONN_STIX_PIPELINE_DB", uri)
    return url


def test_ingest_pulls_new_files_once(dagbag, settings, pipeline_db, reference_data, tmp_path, monkeypatch):
    from airflow.utils.state import DagRunState

    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState

    source = tmp_path / "soc-exchange"
    source.mkdir()
    real = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    names = ["a_BatchRequest.PktTmRaw.SOL.0.2019.331.10.00.00.000.AAAA@x.1.xml", "b.PktTmRaw.xml"]
    for name in names:
        shutil.copy(real, source / name)
    (source / "not-telemetry.txt").write_text("ignored")
    monkeypatch.setenv("STIX_TM_SOURCE", str(source))
    monkeypatch.setenv("STIX_TM_SOURCE_LOCAL", "true")

    dag = dagbag.get_dag("stix_tm_ingest")
    run = dag.test(logical_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
    assert run.state == DagRunState.SUCCESS

    incoming = settings.soc_incoming_dir
    assert sorted(p.name for p in incoming.iterdir() if not p.name.startswith(".")) == sorted(names)
    assert (incoming / names[0]).read_bytes() == real.read_bytes()
    engine = connect(pipeline_db)
    rows = ledger.in_state(engine, TMState.INCOMING)
    assert sorted(r.name for r in rows) == sorted(names)
    assert {r.size for r in rows} == {real.stat().st_size}

    # A second run (file already staged away from incoming/) pulls nothing again.
    (incoming / names[0]).unlink()
    run = dag.test(logical_date=pendulum.datetime(2026, 1, 1, 0, 15, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    assert not (incoming / names[0]).exists()
    assert len(ledger.in_state(engine, TMState.INCOMING)) == 2
