"""FITS → NAS mirror: additions, changes and deletions; temp files never copied nor deleted; local and SSH."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
import pytest


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def _archive(root: Path) -> None:
    (root / "L1" / "2020" / "05").mkdir(parents=True)
    (root / "L0").mkdir(parents=True)
    (root / "L1" / "2020" / "05" / "a.fits").write_bytes(b"A" * 3000)
    (root / "L1" / "2020" / "05" / "b.fits").write_bytes(b"B")
    (root / "L0" / "c.fits").write_bytes(b"C")
    (root / "L0" / "linked.fits").symlink_to(root / "L0" / "c.fits")
    # products being written right now (the writers' temp names)
    (root / "L1" / "2020" / "05" / ".a.fits.x1y2").write_bytes(b"half")
    (root / "L1" / "2020" / "05" / "d.fits.tmp").write_bytes(b"half")
    (root / "L0" / "e.fits.part").write_bytes(b"half")


EXPECTED = {
    "L1/2020/05/a.fits": b"A" * 3000,
    "L1/2020/05/b.fits": b"B",
    "L0/c.fits": b"C",
    "L0/linked.fits": b"C",  # symlinks are copied as files (-L, as the runbook)
}


@pytest.mark.airflow
def test_nas_sync_dag_mirrors_additions_and_deletions_and_skips_temp_files(dagbag, settings):
    from airflow.utils.state import DagRunState

    archive, mirror = settings.fits_archive_dir, settings.nas_mirror_dir
    _archive(archive)
    dag = dagbag.get_dag("stix_fits_nas_sync")
    assert dag.test(logical_date=pendulum.datetime(2026, 6, 1, tz="UTC")).state == DagRunState.SUCCESS
    assert _files(mirror) == EXPECTED
    assert not (mirror / "L0" / "linked.fits").is_symlink()

    (archive / "L1" / "2020" / "05" / "b.fits").unlink()
    (archive / "L1" / "2020" / "05" / "a.fits").write_bytes(b"A2" * 2000)
    (archive / "L2").mkdir()
    (archive / "L2" / "g.fits").write_bytes(b"G")
    foreign = b"someone else's transfer at the NAS"
    (mirror / "L0" / ".incoming.part").write_bytes(foreign)
    assert dag.test(logical_date=pendulum.datetime(2026, 6, 1, 6, tz="UTC")).state == DagRunState.SUCCESS
    expected = {**EXPECTED, "L1/2020/05/a.fits": b"A2" * 2000, "L2/g.fits": b"G", "L0/.incoming.part": foreign}
    del expected["L1/2020/05/b.fits"]
    assert _files(mirror) == expected


@pytest.mark.airflow
def test_nas_sync_over_ssh(dagbag, settings, ssh_server, tmp_path, monkeypatch):
    from airflow.utils.state import DagRunState

    remote = tmp_path / "nas05" / "stix" / "stixcore_fits"
    remote.parent.mkdir(parents=True)
    monkeypatch.setenv("STIX_NAS_HOST", "127.0.0.1")
    monkeypatch.setenv("STIX_NAS_MIRROR_DIR", str(remote))
    conn = {  # the host comes from the nas_host setting
        "conn_type": "ssh",
        "port": ssh_server.port,
        "login": ssh_server.user,
        "extra": {"private_key": ssh_server.client_key.read_text(), "host_key": ssh_server.host_key},
    }
    monkeypatch.setenv("AIRFLOW_CONN_STIX_NAS", json.dumps(conn))
    _archive(settings.fits_archive_dir)
    run = dagbag.get_dag("stix_fits_nas_sync").test(logical_date=pendulum.datetime(2026, 6, 2, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    assert _files(remote) == EXPECTED


def test_refuses_to_wipe_the_mirror(settings):
    from stix_lib.stages.nas_sync import NasSyncError, mirror_fits

    _archive(settings.fits_archive_dir)
    mirror_fits(settings)
    for path in sorted(settings.fits_archive_dir.rglob("*"), reverse=True):
        path.unlink() if not path.is_dir() or path.is_symlink() else path.rmdir()
    with pytest.raises(NasSyncError, match="empty but the mirror .* is not"):
        mirror_fits(settings)
    settings.fits_archive_dir.rmdir()
    with pytest.raises(NasSyncError, match="does not exist"):
        mirror_fits(settings)
    assert _files(settings.nas_mirror_dir) == EXPECTED
