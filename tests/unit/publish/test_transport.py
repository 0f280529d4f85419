"""Transports: atomic delivery (temp name + rename) locally and over SFTP to a real OpenSSH server."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from stix_lib.publish import (
    HostKeyRejected,
    LocalTransport,
    Outcome,
    PublishHistory,
    PublishOptions,
    PublishResult,
    SelectionFilters,
    SftpTransport,
    TransportError,
    publish,
)
from stix_lib.publish.gate import HEADER_CHECKS
from stix_lib.publish.transport import is_part_name, part_name
from tests.support.publish_support import data_counts, write_product

NAME = "solo_L1_stix-ql-lightcurve_20200506_V02.fits"


def test_part_names() -> None:
    assert part_name(NAME) == f".{NAME}.part" and is_part_name(part_name(NAME)) and not is_part_name(NAME)


def test_local_delivery_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 * (1 << 20) + 5))
    target_dir = tmp_path / "esa"
    seen: list[tuple[str, bytes, bool]] = []
    real_replace = os.replace

    def watching_replace(src, dst):
        seen.append((Path(src).name, Path(src).read_bytes(), Path(dst).exists()))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", watching_replace)
    with LocalTransport(target_dir) as transport:
        assert transport.deliver(source, NAME) == str(target_dir / NAME)
    assert seen == [(part_name(NAME), source.read_bytes(), False)]  # complete under the temp name, then renamed
    assert (target_dir / NAME).read_bytes() == source.read_bytes()
    assert [p.name for p in target_dir.iterdir()] == [NAME]


def test_local_redelivery_replaces(tmp_path: Path) -> None:
    transport = LocalTransport(tmp_path / "esa").open()
    first, second = tmp_path / "1", tmp_path / "2"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    transport.deliver(first, NAME)
    inode = (tmp_path / "esa" / NAME).stat().st_ino
    transport.deliver(second, NAME)
    assert (tmp_path / "esa" / NAME).read_bytes() == b"two" and (tmp_path / "esa" / NAME).stat().st_ino != inode


def test_local_failures_leave_nothing(tmp_path: Path) -> None:
    transport = LocalTransport(tmp_path / "esa").open()
    with pytest.raises(TransportError, match="missing"):
        transport.deliver(tmp_path / "missing", NAME)
    assert list((tmp_path / "esa").iterdir()) == []
    for bad in ("", "a/b.fits", ".hidden.fits", ".."):
        with pytest.raises(ValueError):
            transport.deliver(tmp_path / "x", bad)


def test_local_stale_parts(tmp_path: Path) -> None:
    target = tmp_path / "esa"
    target.mkdir()
    (target / part_name(NAME)).write_bytes(b"half")
    (target / ".keep").write_bytes(b"")
    (target / NAME).write_bytes(b"done")
    transport = LocalTransport(target)
    assert transport.remove_stale_parts() == [part_name(NAME)]
    assert sorted(p.name for p in target.iterdir()) == [".keep", NAME] and transport.list_names() == [NAME]
    assert LocalTransport(tmp_path / "nothing").remove_stale_parts() == []


# -- SFTP against OpenSSH --------------------------------------------------------------------------
def test_sftp_delivery(sftp_server, tmp_path: Path) -> None:
    remote = tmp_path / "remote-esa"
    remote.mkdir()
    (remote / part_name("old.fits")).write_bytes(b"stale")
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(1 << 20))
    with SftpTransport(sftp_server.endpoint(), str(remote)) as transport:
        assert transport.remove_stale_parts() == [part_name("old.fits")]
        assert transport.deliver(source, NAME) == f"{remote}/{NAME}"
        source.write_bytes(b"second version")
        transport.deliver(source, NAME)  # re-delivery replaces (posix-rename)
        assert transport.list_names() == [NAME]
        assert transport.describe().endswith(f":{sftp_server.endpoint().port}:{remote}")
    assert (remote / NAME).read_bytes() == b"second version"
    assert sorted(p.name for p in remote.iterdir()) == [NAME]


def test_sftp_rename_failure_leaves_no_partial_file(sftp_server, tmp_path: Path) -> None:
    remote = tmp_path / "remote-esa"
    (remote / NAME).mkdir(parents=True)  # a folder in the way
    source = tmp_path / "source.bin"
    source.write_bytes(b"data")
    with SftpTransport(sftp_server.endpoint(), str(remote)) as transport, pytest.raises(TransportError):
        transport.deliver(source, NAME)
    assert [p.name for p in remote.iterdir()] == [NAME] and (remote / NAME).is_dir()


def test_sftp_host_key_is_pinned(sftp_server, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True, timeout=60)
    wrong = tmp_path / "known_hosts_wrong"
    key = " ".join(Path(f"{other}.pub").read_text().split()[:2])
    wrong.write_text(f"[127.0.0.1]:{sftp_server.endpoint().port} {key}\n")
    with pytest.raises(HostKeyRejected, match="differs from the pinned key"):
        SftpTransport(sftp_server.endpoint(wrong), str(tmp_path)).open()

    unknown = tmp_path / "known_hosts_other_host"
    unknown.write_text(f"[127.0.0.1]:1 {key}\n")
    with pytest.raises(HostKeyRejected, match="no pinned host key"):
        SftpTransport(sftp_server.endpoint(unknown), str(tmp_path)).open()
    with pytest.raises(HostKeyRejected, match="no known_hosts file"):
        SftpTransport(sftp_server.endpoint(tmp_path / "missing"), str(tmp_path)).open()
    assert unknown.read_text() == f"[127.0.0.1]:1 {key}\n"  # nothing was added


def test_sftp_missing_remote_folder(sftp_server, tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="SFTP to"):
        SftpTransport(sftp_server.endpoint(), str(tmp_path / "nowhere")).open()
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(TransportError, match="not a folder"):
        SftpTransport(sftp_server.endpoint(), str(tmp_path / "file")).open()


def test_publish_over_sftp_with_retry(sftp_server, folders, engine) -> None:
    cpd = "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V02_{rid:010d}-50883.fits"
    write_product(folders.fits, cpd.format(rid=1), counts=(1, 1))
    write_product(folders.fits, cpd.format(rid=2), counts=(2, 2))
    write_product(folders.fits, NAME)
    remote = folders.target
    (remote / NAME).mkdir(parents=True)  # this one fails on the first run
    options = PublishOptions(
        fits_dir=folders.fits, conflicts_dir=folders.conflicts, waiting_period=timedelta(0),
        filters=SelectionFilters.from_strings("*", "*", "*"), supplement_report=folders.report,
        checks=HEADER_CHECKS,
    )  # fmt: skip

    first = publish(options, engine, SftpTransport(sftp_server.endpoint(), str(remote)))
    assert first.counts == {"E": 1, "I": 0, "S": 1, "P": 1}
    assert first.target.startswith(f"{sftp_server.server.user}@127.0.0.1:")
    sup = "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V02_0000000002-50883.fits"
    assert sorted(p.name for p in remote.iterdir()) == sorted([cpd.format(rid=1), sup, NAME])
    assert data_counts(remote / sup) == [2, 2]
    assert PublishHistory(engine).get(NAME).result is PublishResult.ERROR

    (remote / NAME).rmdir()
    second = publish(options, engine, SftpTransport(sftp_server.endpoint(), str(remote)))
    assert [(o.name, o.outcome, o.attempt) for o in second.outcomes] == [(NAME, Outcome.PUBLISHED, 2)]
    assert (remote / NAME).is_file() and data_counts(remote / NAME) == data_counts(folders.fits / NAME)
