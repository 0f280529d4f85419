"""``stix-pipeline publish``: options, dry run, RID LUT update from a local API, mail, SFTP, exit codes."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from astropy.io import fits

from stix_lib.cli.main import main
from stix_lib.db import connect
from stix_lib.publish import PublishHistory, PublishResult, publish_lock
from stix_lib.ridlut import RidLut
from stix_lib.ridlut.table import COLUMNS
from tests.support.publish_support import tree_state, write_product

CPD = "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V02_{rid:010d}-50883.fits"
DAILY = "solo_L1_stix-ql-lightcurve_20200506_V02.fits"


@pytest.fixture
def cli(folders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``stix-pipeline publish`` with the test folders; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("STIX_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.delenv("STIX_CONFIG", raising=False)
    db = tmp_path / "db" / "pipeline.sqlite"

    def run(*args: str, capsys=None) -> int:
        base = [
            "publish", "-f", str(folders.fits), "-t", str(folders.target), "-s", str(folders.conflicts),
            "-d", str(db), "-w", "0s", "-p", "*", "--supplement_report", str(folders.report),
            "-o", str(tmp_path / "logs"), "-r", str(tmp_path / "rid_lut.csv"),
        ]  # fmt: skip
        return main([*base, *args])

    run.db = db
    run.logs = tmp_path / "logs"
    run.lut = tmp_path / "rid_lut.csv"
    return run


def _lut(path: Path, rids: range, start: str = "2020-05-05T23:59:00") -> None:
    rows = [f"{rid},{rid},{start},20,xray-cpd,flare {rid},imaging,,IOR{rid},cli" for rid in rids]
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")


def test_publish_with_every_publish_py_option(cli, folders, tmp_path: Path, capsys) -> None:
    for rid, counts in {1: (1,), 2: (2,), 3: (1,)}.items():
        write_product(folders.fits / "BSD", CPD.format(rid=rid), counts=counts)
    write_product(folders.fits / "QL", DAILY)
    write_product(folders.fits / "L0", "solo_L0_stix-hk-maxi_0642038400_V02.fits", spice_mk=None)
    blacklist = tmp_path / "blacklist.txt"
    blacklist.write_text(f"{DAILY}\n")
    _lut(cli.lut, range(1, 4))
    eml = tmp_path / "report.eml"

    code = cli(
        "-l", "l1", "-v", "V02", "-n", "10", "--sort_files", "--blacklist_files", str(blacklist),
        "--report_eml", str(eml), "--mail_to", "ops@example.org", "--mail_from", "stix@example.org",
        "--run_id", "manual-1", "--json",
    )  # fmt: skip

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"E": 0, "I": 2, "S": 1, "P": 1}  # L0 not selected (-l l1)
    sup = "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V02_0000000002-50883.fits"
    assert sorted(p.name for p in folders.target.iterdir()) == sorted([CPD.format(rid=1), sup])
    assert "BSD request id: '2' reason: 'flare 2, imaging, cli'" in str(fits.getheader(folders.target / sup)["COMMENT"])
    history = PublishHistory(connect(f"sqlite:///{cli.db}"))
    assert history.get(DAILY).result is PublishResult.BLACKLISTED and history.get(DAILY).run_id == "manual-1"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "[STIX pipeline] STIX SOAR publishing report E 0 I 2 S 1 P 1"
    assert message["To"] == "ops@example.org"
    log = (cli.logs / f"pub_{datetime.now(UTC):%Y%m%d}.log").read_text()
    assert "PUBLISHED" in log and CPD.format(rid=1) in log
    assert folders.report.read_text().splitlines()[1].startswith(sup)


def test_dry_run_lists_and_changes_nothing(cli, folders, capsys) -> None:
    write_product(folders.fits / "L0", "solo_L0_stix-hk-maxi_0642038400_V02U.fits", spice_mk=None)
    write_product(folders.fits / "BSD", CPD.format(rid=1), counts=(1,))
    write_product(folders.fits / "BSD", CPD.format(rid=2), counts=(2,))
    before = tree_state(folders.fits)

    assert cli("--dry-run", "--update_rid_lut") == 0
    out = capsys.readouterr().out
    assert "PUBLISHED    would be solo_L0_stix-hk-maxi_0642038400_V02.fits" in out
    assert "SUPPLEMENT   would be " + CPD.format(rid=2) + " -> solo_L1_stix-sci-xray-cpd-sup1_" in out
    assert "dry run: RID LUT not updated" in out and out.rstrip().endswith("DRY RUN: E 0 I 0 S 1 P 2")
    assert tree_state(folders.fits) == before
    assert not folders.target.exists() and not cli.db.exists() and not cli.logs.exists() and not cli.lut.exists()


def test_update_rid_lut_from_the_api(cli, folders, rid_api_server, capsys) -> None:
    recent = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT00:00:00")
    _lut(cli.lut, range(1, 2), start=recent)  # up to date but for the last days: one API window
    write_product(folders.fits, CPD.format(rid=42))

    assert cli("--update_rid_lut", "--rid_lut_update_url", rid_api_server.url) == 0
    assert len(rid_api_server.requests) == 1 and rid_api_server.requests[0].startswith("/api/bsd/info/")
    assert RidLut.read(cli.lut).reason(42) == "big flare, imaging, api"
    comment = str(fits.getheader(folders.target / CPD.format(rid=42))["COMMENT"])
    assert "BSD request id: '42' reason: 'big flare, imaging, api'" in comment


def test_update_rid_lut_only_and_api_errors(cli, rid_api_server, capsys) -> None:
    rid_api_server.status[0] = 500
    recent = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT00:00:00")
    _lut(cli.lut, range(1, 2), start=recent)
    assert cli("--update_rid_lut_only", "--rid_lut_update_url", rid_api_server.url) == 1
    assert "RID API ERROR" in capsys.readouterr().err
    rid_api_server.status[0] = 200
    assert cli("--update_rid_lut_only", "--rid_lut_update_url", rid_api_server.url) == 0
    assert 42 in RidLut.read(cli.lut)


def test_smtp_report(cli, folders, smtp_sink) -> None:
    write_product(folders.fits, DAILY)
    code = cli("--smtp", f"{smtp_sink.host}:{smtp_sink.port}", "--mail_to", "ops@example.org")
    assert code == 0
    (envelope,) = smtp_sink.envelopes
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "[STIX pipeline] STIX SOAR publishing report E 0 I 0 S 0 P 1"
    assert DAILY in message.get_body(("plain",)).get_content()


def test_errors_give_exit_1_and_are_retried(cli, folders) -> None:
    write_product(folders.fits, DAILY)
    (folders.target / DAILY).mkdir(parents=True)
    assert cli() == 1
    (folders.target / DAILY).rmdir()
    assert cli() == 0 and (folders.target / DAILY).is_file()


def test_setup_problems_give_exit_2(cli, folders, tmp_path: Path, capsys) -> None:
    assert cli("--blacklist_files", str(tmp_path / "missing.txt")) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert cli("-T", "soar.example.org") == 2
    assert "--ssh_key" in capsys.readouterr().err
    assert cli("-w", "soon") == 2
    engine = connect(f"sqlite:///{cli.db}")
    with publish_lock(engine):
        assert cli() == 2
    assert "another publishing run" in capsys.readouterr().err
    assert main(["publish", "-f", str(tmp_path / "nowhere"), "-d", str(cli.db)]) == 2


def test_release_and_import(cli, folders, tmp_path: Path, capsys) -> None:
    import sqlite3

    write_product(folders.fits, DAILY)
    blacklist = tmp_path / "bl.txt"
    blacklist.write_text(DAILY + "\n")
    assert cli("--blacklist_files", str(blacklist)) == 0
    assert cli("--release", DAILY) == 0 and "released" in capsys.readouterr().out
    assert cli() == 0 and (folders.target / DAILY).is_file()
    assert cli("--release", DAILY) == 2  # delivered products cannot be released

    old = tmp_path / "published.sqlite"
    conn = sqlite3.connect(old)
    conn.execute(
        "CREATE TABLE published (id INTEGER PRIMARY KEY, name TEXT, path TEXT, version INTEGER, p_date FLOAT,"
        " m_date FLOAT, esaname TEXT, modified_esaname TEXT, result INTEGER)"
    )
    conn.execute("INSERT INTO published VALUES (1, ?, '/x', 2, 1.0, 1.0, 'e', NULL, 10)", (CPD.format(rid=9),))
    conn.commit()
    conn.close()
    assert cli("--import_stixcore_history", str(old)) == 0
    assert "imported 1 row(s)" in capsys.readouterr().out


def test_publish_to_a_remote_host_over_sftp(cli, folders, sftp_server, capsys) -> None:
    write_product(folders.fits, DAILY)
    folders.target.mkdir()
    endpoint = sftp_server.endpoint()
    code = cli(
        "-T", "127.0.0.1", "--ssh_port", str(endpoint.port), "--ssh_user", endpoint.user,
        "--ssh_key", str(endpoint.key_file), "--known_hosts", str(endpoint.known_hosts_file),
    )  # fmt: skip
    assert code == 0 and (folders.target / DAILY).is_file()
    assert "P 1" in capsys.readouterr().out
