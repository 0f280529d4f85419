import os
from pathlib import Path

import pytest

from stix_lib.transfer import rsync


@pytest.fixture
def source(tmp_path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "b.PktTmRaw.xml").write_bytes(b"b" * 1500)
    (src / "a.PktTmRaw.xml").write_bytes(b"a" * 10)
    (src / ".a.PktTmRaw.xml.Xy12").write_bytes(b"partial")  # someone else's temp file
    (src / "notes.txt").write_text("x")
    (src / "sub").mkdir()
    (src / "sub" / "c.PktTmRaw.xml").write_text("nested")
    return src


def test_list_source_matches_pattern_only(source):
    listing = rsync.list_source(str(source), "*PktTmRaw*.xml")
    assert [(f.name, f.size) for f in listing] == [("a.PktTmRaw.xml", 10), ("b.PktTmRaw.xml", 1500)]


def test_pull_is_atomic_and_exact(source, tmp_path):
    dest = tmp_path / "incoming"
    got = rsync.pull(str(source), ["b.PktTmRaw.xml"], dest)
    assert got == [dest / "b.PktTmRaw.xml"]
    assert (dest / "b.PktTmRaw.xml").read_bytes() == b"b" * 1500
    assert sorted(os.listdir(dest)) == ["b.PktTmRaw.xml"]  # no temp file left visible
    assert os.path.getmtime(dest / "b.PktTmRaw.xml") == os.path.getmtime(source / "b.PktTmRaw.xml")


def test_pull_missing_source_names_reason(source, tmp_path):
    with pytest.raises(rsync.TransferError, match="rsync exited"):
        rsync.pull(str(source), ["gone.PktTmRaw.xml"], tmp_path / "d")


def test_mirror_adds_deletes_and_skips_temp(tmp_path):
    src, dst = tmp_path / "fits", tmp_path / "nas"
    (src / "L1").mkdir(parents=True)
    (src / "L1" / "keep.fits").write_bytes(b"k")
    (src / "L1" / "old.fits").write_bytes(b"o")
    rsync.mirror(src, str(dst))
    (src / "L1" / "old.fits").unlink()
    (src / "L1" / "new.fits").write_bytes(b"n")
    (src / "L1" / ".new2.fits.tmp").write_bytes(b"half")
    rsync.mirror(src, str(dst))
    assert sorted(p.name for p in (dst / "L1").iterdir()) == ["keep.fits", "new.fits"]


def test_ssh_command_is_strict():
    ep = rsync.SSHEndpoint(host="127.0.0.1", port=2222, user="soc", key_file=Path("/k"), known_hosts_file=Path("/kh"))
    cmd = ep.ssh_command()
    for option in ("StrictHostKeyChecking=yes", "PasswordAuthentication=no", "UserKnownHostsFile=/kh", "-p 2222"):
        assert option in cmd
    assert ep.spec("/tm") == "soc@127.0.0.1:/tm"
