"""The SSH hook (connection → endpoint files), its refusals, atomic moves across filesystems, tree sync."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest


def _conn(ssh_server, **extra) -> dict:
    return {
        "conn_type": "ssh",
        "host": "127.0.0.1",
        "port": ssh_server.port,
        "login": ssh_server.user,
        "extra": extra,
    }


def test_private_key_text_and_pinned_key_work_and_are_cleaned_up(ssh_server, tmp_path, monkeypatch):
    from stix_lib.transfer import rsync
    from stix_ops.hooks.ssh import RsyncSSHHook

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "x.PktTmRaw.xml").write_bytes(b"12345")
    key_text = ssh_server.client_key.read_text()
    conn = _conn(ssh_server, private_key=key_text, host_key=ssh_server.host_key, conn_timeout=7)
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOC", json.dumps(conn))
    with RsyncSSHHook("stix_soc").endpoint() as ssh:
        key, known = ssh.key_file, ssh.known_hosts_file
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
        assert key.read_text() == ssh_server.client_key.read_text()
        assert known.read_text() == ssh_server.known_hosts_line()
        assert ssh.connect_timeout == 7 and ssh.port == ssh_server.port
        assert rsync.list_source(str(tmp_path / "src"), "*.xml", ssh=ssh)[0].size == 5
    assert not key.exists() and not known.exists() and not key.parent.exists()


def test_known_hosts_file_alone_pins_the_host(ssh_server, tmp_path, monkeypatch):
    from stix_lib.transfer import rsync
    from stix_ops.hooks.ssh import RsyncSSHHook

    known = tmp_path / "known_hosts"
    known.write_text("# pinned by ops\n" + ssh_server.known_hosts_line())
    conn = _conn(ssh_server, key_file=str(ssh_server.client_key), known_hosts=str(known))
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOC", json.dumps(conn))
    with RsyncSSHHook("stix_soc").endpoint() as ssh:
        assert ssh.known_hosts_file == known and ssh.key_file == ssh_server.client_key
        assert rsync.list_source(str(tmp_path), "known*", ssh=ssh)[0].name == "known_hosts"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"key_file": "KEY"}, "no pinned host key"),
        ({"key_file": "KEY", "host_key": "HOST", "no_host_key_check": "true"}, "strict host-key checking is mandatory"),
        ({"key_file": "KEY", "host_key": "HOST", "private_key_passphrase": "secret"}, "passphrase-protected"),
        ({"key_file": "KEY", "private_key": "---", "host_key": "HOST"}, "exactly one of extra 'key_file'"),
        ({"host_key": "HOST"}, "exactly one of extra 'key_file'"),
        ({"key_file": "KEY", "host_key": "ssh-ed25519 not*base64"}, "not valid base64"),
        ({"key_file": "KEY", "host_key": "ssh-foo AAAA"}, "unknown host key type"),
        (
            {"key_file": "/nonexistent/key", "host_key": "HOST"},
            "key_file /nonexistent/key does not exist or cannot be read",
        ),
    ],
)
def test_unusable_connections_are_refused_clearly(ssh_server, monkeypatch, extra, message):
    from stix_lib.transfer.sshkeys import SSHConfigError
    from stix_ops.hooks.ssh import RsyncSSHHook

    values = {"KEY": str(ssh_server.client_key), "HOST": ssh_server.host_key}
    extra = {k: values.get(v, v) for k, v in extra.items()}
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOC", json.dumps(_conn(ssh_server, **extra)))
    with pytest.raises(SSHConfigError, match=message) as refused:
        with RsyncSSHHook("stix_soc").endpoint():
            pass
    assert str(refused.value).startswith("connection stix_soc")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_private_key_readable_by_others_is_refused_before_connecting(ssh_server, tmp_path, monkeypatch, mode):
    from stix_lib.transfer.sshkeys import SSHConfigError
    from stix_ops.hooks.ssh import RsyncSSHHook

    key = tmp_path / "id_ed25519"
    key.write_bytes(ssh_server.client_key.read_bytes())
    key.chmod(mode)
    conn = _conn(ssh_server, key_file=str(key), host_key=ssh_server.host_key)
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOC", json.dumps(conn))
    with pytest.raises(SSHConfigError, match=f"key_file {key} is accessible by group/others \\(mode {mode:04o}\\)"):
        with RsyncSSHHook("stix_soc").endpoint():
            pass
    key.chmod(0o600)  # fixed as the message says: the same connection works
    with RsyncSSHHook("stix_soc").endpoint() as ssh:
        assert ssh.key_file == key


def test_connection_host_must_agree_with_nas_host(ssh_server, monkeypatch):
    from stix_lib.transfer.sshkeys import SSHConfigError
    from stix_ops.hooks.ssh import RsyncSSHHook

    conn = _conn(ssh_server, key_file=str(ssh_server.client_key), host_key=ssh_server.host_key)
    monkeypatch.setenv("AIRFLOW_CONN_STIX_NAS", json.dumps(conn))
    with pytest.raises(SSHConfigError, match="differs from the configured host 'nas05'"):
        RsyncSSHHook("stix_nas", host="nas05").endpoint_arguments()
    assert RsyncSSHHook("stix_nas", host="127.0.0.1").endpoint_arguments()["host"] == "127.0.0.1"


def test_atomic_move_across_filesystems(tmp_path):
    from stix_lib.atomic import atomic_move

    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem (/dev/shm) to move across")
    source = other / f"stix-move-{os.getpid()}-{tmp_path.name}.xml"
    source.write_bytes(b"x" * 100_000)
    os.utime(source, (1_600_000_000, 1_600_000_000))
    target = atomic_move(source, tmp_path / "processing" / "f.xml")
    assert not source.exists()
    assert target.read_bytes() == b"x" * 100_000 and target.stat().st_mtime == 1_600_000_000
    assert sorted(os.listdir(target.parent)) == ["f.xml"]  # no temp file left behind


def test_sync_tree_copies_without_deleting_and_skips_temp_names(tmp_path):
    from stix_lib.transfer import rsync

    src, dst = tmp_path / "from_soc", tmp_path / "local"
    (src / "kernels").mkdir(parents=True)
    (src / "kernels" / "a.zip").write_bytes(b"a")
    (src / "kernels" / ".b.zip.tmp").write_bytes(b"half")
    (src / "kernels" / "c.zip.part").write_bytes(b"half")
    dst.mkdir()
    (dst / "kept.json").write_text("{}")
    changed = rsync.sync_tree(str(src), dst)
    assert changed == [line for line in changed if line.startswith(">f")] and len(changed) == 1
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file()) == ["kept.json", "kernels/a.zip"]
    assert rsync.sync_tree(str(src), dst) == []  # nothing new
