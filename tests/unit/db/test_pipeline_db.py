import hashlib
import os
import subprocess
import sys

import pytest
from sqlalchemy import inspect

from stix_lib.db import connect, current_version, ledger, migrate
from stix_lib.db.migrations import MIGRATIONS
from stix_lib.db.schema import TMState


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'pipeline.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(db_url):
    return connect(db_url)


def test_migrations_create_schema_once(engine):
    assert current_version(engine) == MIGRATIONS[-1].version
    assert {"tm_files", "products", "product_lineage", "schema_version"} <= set(inspect(engine).get_table_names())
    assert migrate(engine) == []


def test_ledger_life_cycle(engine, tmp_path):
    tm = tmp_path / "x.PktTmRaw.xml"
    tm.write_bytes(b"<xml/>")
    assert ledger.record_incoming(engine, tm, source="/soc") is True
    assert ledger.record_incoming(engine, tm, source="/soc") is False  # re-delivery changes nothing
    row = ledger.get(engine, tm.name)
    assert row.state is TMState.INCOMING and row.size == 6
    assert row.sha256 == hashlib.sha256(b"<xml/>").hexdigest()
    ledger.set_state(engine, tm.name, TMState.STAGED, path=tmp_path / "processing" / tm.name)
    assert ledger.get(engine, tm.name).path.endswith("processing/x.PktTmRaw.xml")
    ledger.set_state(engine, tm.name, TMState.FAILED, error="boom")
    assert ledger.get(engine, tm.name).error == "boom"
    assert ledger.count_by_state(engine) == {"failed": 1}
    with pytest.raises(KeyError, match="nope"):
        ledger.set_state(engine, "nope", TMState.STAGED)


def test_sha256_matches_hashlib(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert ledger.file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_lineage(engine, tmp_path):
    tm = tmp_path / "t.PktTmRaw.xml"
    tm.write_bytes(b"1")
    ledger.record_incoming(engine, tm)
    lb, l0 = tmp_path / "LB" / "a.fits", tmp_path / "L0" / "b.fits"
    levels = {str(lb): "LB", str(l0): "L0"}
    assert ledger.record_products(engine, tm.name, [lb, l0], levels, run_id="r1") == 2
    assert ledger.record_products(engine, tm.name, [lb], levels, run_id="r1") == 0
    assert ledger.record_products(engine, tm.name, [lb], levels, run_id="r2") == 1
    assert ledger.products_per_level(engine) == {"LB": 1, "L0": 1}


def test_concurrent_processes_migrate_safely(db_url):
    url = db_url
    code = "import sys; from stix_lib.db import connect; connect(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, url]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert current_version(connect(url, migrate_schema=False)) == MIGRATIONS[-1].version


def test_cli_db(capsys, tmp_path):
    import json

    from stix_lib.cli.main import main

    assert main(["db", "--url", f"sqlite:///{tmp_path / 'c.sqlite'}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema_version"] == report["latest_version"] == MIGRATIONS[-1].version
    assert report["tm_files"] == {}
