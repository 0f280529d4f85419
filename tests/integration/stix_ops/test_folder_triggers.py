"""Folder watchers (stix_ops.triggers) against real folders and a real loopback OpenSSH server."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stix_ops.triggers.folder import ExchangeFolderTrigger, FolderWatchTrigger, LocalFolderTrigger, SSHFolderTrigger
from stix_ops.triggers.listing import changed_files, list_local

TM = "*PktTmRaw*.xml"
NAME = "solo_TM_PktTmRaw_20240514T000000.xml"


class MemoryStore:
    """Stands in for the asset state store the triggerer injects (async get/set of JSON values)."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values = dict(values or {})

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(json.dumps(self.values.get(key, default)))

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))


class Watch:
    """Drives a trigger's ``run()`` generator from synchronous test code.

    ``next_event`` waits for the next event without cancelling the generator when none comes, so
    the same watcher can be asked again after the test changed the folder.
    """

    def __init__(self, trigger: FolderWatchTrigger | ExchangeFolderTrigger) -> None:
        self.loop = asyncio.new_event_loop()
        self.events: AsyncIterator[Any] = trigger.run()
        self.pending: asyncio.Future | None = None

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event's payload, or None when the trigger stayed quiet for ``timeout`` s."""
        if self.pending is None:
            self.pending = self.loop.create_task(self.events.__anext__())
        done, _ = self.loop.run_until_complete(asyncio.wait({self.pending}, timeout=timeout))
        if not done:
            return None
        event, self.pending = self.pending.result(), None
        return event.payload

    def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            self.loop.run_until_complete(asyncio.gather(self.pending, return_exceptions=True))
        self.loop.run_until_complete(self.events.aclose())
        self.loop.close()


def _write(path: Path, data: bytes, mtime: float | None = None) -> None:
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_changed_files_is_new_or_different_size_or_mtime():
    before = {"a": [1, 10.0], "b": [2, 20.0], "gone": [3, 30.0]}
    after = {"a": [1, 10.0], "b": [5, 20.0], "c": [1, 1.0]}
    assert changed_files(before, after) == ["b", "c"]
    assert changed_files(None, after) == ["a", "b", "c"]  # nothing known: everything is announced
    assert changed_files(after, after) == []
    assert changed_files({"a": [1, 10.0]}, {"a": [1, 11.0]}) == ["a"]  # touched, same size


def test_local_listing_keeps_matching_visible_regular_files(tmp_path):
    _write(tmp_path / NAME, b"12345", mtime=1_700_000_000)
    _write(tmp_path / "notes.txt", b"x")
    _write(tmp_path / f".{NAME}.part", b"x")  # rsync/scp temp names are never announced
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / NAME, b"x")
    (tmp_path / "link_PktTmRaw_.xml").symlink_to(tmp_path / NAME)
    assert list_local(tmp_path, TM) == {NAME: [5, 1_700_000_000.0]}
    assert set(list_local(tmp_path, TM, max_depth=1)) == {NAME, f"sub/{NAME}"}
    assert list_local(tmp_path / "missing", TM) == {}


def test_local_watcher_fires_on_new_and_changed_files_only(tmp_path):
    watch = Watch(LocalFolderTrigger(directory=str(tmp_path), pattern=TM, poke_interval=0.05))
    try:
        assert watch.next_event(0.5) is None
    finally:
        watch.close()
    # a fresh watcher without stored state announces what is there, then only changes
    _write(tmp_path / NAME, b"<xml>half", mtime=1_700_000_000)
    watch = Watch(LocalFolderTrigger(directory=str(tmp_path), pattern=TM, poke_interval=0.05))
    try:
        first = watch.next_event(2)
        assert first == {"source": str(tmp_path), "changed": 1, "files": [NAME], "listed": 1}
        _write(tmp_path / NAME, b"<xml>half and the rest</xml>", mtime=1_700_000_060)  # still growing
        assert watch.next_event(2)["files"] == [NAME]
        _write(tmp_path / "other.txt", b"not telemetry")
        second = "solo_TM_PktTmRaw_20240514T060000.xml"
        _write(tmp_path / second, b"<xml/>")
        assert watch.next_event(2)["files"] == [second]
        assert watch.next_event(0.5) is None  # nothing changed: quiet
    finally:
        watch.close()


def test_missing_folder_is_quiet_until_it_appears(tmp_path):
    folder = tmp_path / "exchange"
    watch = Watch(LocalFolderTrigger(directory=str(folder), pattern=TM, poke_interval=0.05))
    try:
        assert watch.next_event(0.3) is None
        folder.mkdir()
        _write(folder / NAME, b"<xml/>")
        assert watch.next_event(2)["files"] == [NAME]
    finally:
        watch.close()


def test_stored_listing_announces_only_what_changed_while_down(tmp_path):
    """Triggerer restart: the new watcher compares with the listing the old one stored."""
    store = MemoryStore()
    known = "solo_TM_PktTmRaw_20240514T000000.xml"
    _write(tmp_path / known, b"<xml/>", mtime=1_700_000_000)

    def watcher() -> LocalFolderTrigger:
        trigger = LocalFolderTrigger(directory=str(tmp_path), pattern=TM, poke_interval=0.05)
        trigger.asset_state_store = store  # type: ignore[assignment]
        return trigger

    watch = Watch(watcher())
    try:
        assert watch.next_event(2)["files"] == [known]  # first start: nothing stored yet
    finally:
        watch.close()
    assert store.values["folder_listing"] == {known: [6, 1_700_000_000.0]}

    missed = "solo_TM_PktTmRaw_20240514T060000.xml"  # delivered while the triggerer was down
    _write(tmp_path / missed, b"<xml/>")
    watch = Watch(watcher())
    try:
        assert watch.next_event(2)["files"] == [missed]
        assert watch.next_event(0.4) is None
    finally:
        watch.close()
    watch = Watch(watcher())  # restart with nothing new: quiet
    try:
        assert watch.next_event(0.4) is None
    finally:
        watch.close()


def test_event_carries_at_most_fifty_names_but_the_full_count(tmp_path):
    for index in range(60):
        _write(tmp_path / f"solo_TM_PktTmRaw_{index:03d}.xml", b"<xml/>")
    watch = Watch(LocalFolderTrigger(directory=str(tmp_path), pattern=TM, poke_interval=0.05))
    try:
        payload = watch.next_event(2)
    finally:
        watch.close()
    assert payload["changed"] == payload["listed"] == 60 and len(payload["files"]) == 50


def test_serialize_round_trip():
    local = LocalFolderTrigger(directory="/x", pattern=TM, max_depth=1, poke_interval=3)
    path, kwargs = local.serialize()
    assert path == "stix_ops.triggers.folder.LocalFolderTrigger"
    assert LocalFolderTrigger(**kwargs).serialize() == (path, kwargs)
    remote = SSHFolderTrigger(directory="/tm", pattern=TM, ssh_conn_id="stix_soc", poke_interval=3)
    path, kwargs = remote.serialize()
    assert SSHFolderTrigger(**kwargs).serialize() == (path, kwargs)
    exchange = ExchangeFolderTrigger(source="from_soc")
    assert exchange.serialize() == (
        "stix_ops.triggers.folder.ExchangeFolderTrigger",
        {"source": "from_soc", "poke_interval": None},
    )
    with pytest.raises(ValueError, match="unknown exchange source 'nas'"):
        ExchangeFolderTrigger(source="nas")


def test_exchange_trigger_resolves_the_settings(settings):
    tm_local = ExchangeFolderTrigger(source="tm").resolve(settings.replace(tm_source_local=True))
    assert isinstance(tm_local, LocalFolderTrigger)
    assert (tm_local.directory, tm_local.pattern, tm_local.max_depth) == (settings.tm_source, TM, 0)
    assert tm_local.poke_interval == settings.watch_interval.total_seconds()
    remote = ExchangeFolderTrigger(source="from_soc", poke_interval=7).resolve(
        settings.replace(from_soc_source_local=False, soc_ssh_conn_id="soc_test")
    )
    assert isinstance(remote, SSHFolderTrigger)
    assert (remote.directory, remote.pattern, remote.ssh_conn_id, remote.poke_interval) == (
        settings.from_soc_source,
        "*",
        "soc_test",
        7.0,
    )


def test_exchange_trigger_watches_the_local_tm_source(settings, tmp_path, monkeypatch):
    exchange = tmp_path / "soc-exchange"
    exchange.mkdir()
    monkeypatch.setenv("STIX_TM_SOURCE", str(exchange))
    monkeypatch.setenv("STIX_TM_SOURCE_LOCAL", "true")
    monkeypatch.setenv("STIX_WATCH_INTERVAL", "0.05")
    watch = Watch(ExchangeFolderTrigger(source="tm"))
    try:
        assert watch.next_event(0.5) is None
    finally:
        watch.close()
    _write(exchange / NAME, b"<xml/>")
    watch = Watch(ExchangeFolderTrigger(source="tm"))
    try:
        assert watch.next_event(2)["files"] == [NAME]
    finally:
        watch.close()


# -- over SSH (real OpenSSH server on loopback, SFTP subsystem) -------------------------------------
def _ssh_watch(folder: Path, **kwargs: Any) -> Watch:
    return Watch(
        SSHFolderTrigger(directory=str(folder), pattern=TM, ssh_conn_id="stix_soc", poke_interval=0.1, **kwargs)
    )


def test_ssh_watcher_fires_on_new_and_growing_files(soc_connection, tmp_path):
    folder = tmp_path / "from_edds" / "tm"
    folder.mkdir(parents=True)
    watch = _ssh_watch(folder)
    try:
        assert watch.next_event(1.5) is None  # connected, listed, nothing there
        _write(folder / NAME, b"<xml>half", mtime=1_700_000_000)
        _write(folder / f".{NAME}.tmp", b"x")
        first = watch.next_event(5)
        assert first["files"] == [NAME] and first["source"].endswith(f":{folder}")
        assert first["source"].startswith(f"{soc_connection['login']}@127.0.0.1:")
        _write(folder / NAME, b"<xml>half and the rest</xml>", mtime=1_700_000_060)
        assert watch.next_event(5)["files"] == [NAME]
    finally:
        watch.close()


def test_ssh_watcher_refuses_a_wrong_host_key_and_recovers_when_fixed(
    soc_connection, tmp_path, monkeypatch, caplog
):
    """Strict host-key checking: with the wrong pinned key nothing is listed; the error is logged."""
    import subprocess

    folder = tmp_path / "tm"
    folder.mkdir()
    _write(folder / NAME, b"<xml/>")
    impostor = tmp_path / "impostor_key"  # a host key that is not the server's
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True)
    wrong_key = " ".join(Path(f"{impostor}.pub").read_text().split()[:2])
    wrong = {**soc_connection, "extra": {**soc_connection["extra"], "host_key": wrong_key}}
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOC", json.dumps(wrong))
    watch = _ssh_watch(folder)
    try:
        with caplog.at_level("ERROR", logger="stix_ops.triggers.folder"):
            assert watch.next_event(1.5) is None
        assert any("listing" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records), caplog.text
        assert "does not match the pinned host key" in caplog.text
        monkeypatch.setenv("AIRFLOW_CONN_STIX_SOC", json.dumps(soc_connection))  # operator fixes the connection
        assert watch.next_event(10)["files"] == [NAME]
    finally:
        watch.close()


def test_ssh_watcher_refuses_host_key_check_off(soc_connection, tmp_path, monkeypatch, caplog):
    off = {**soc_connection, "extra": {**soc_connection["extra"], "no_host_key_check": True}}
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOC", json.dumps(off))
    _write(tmp_path / NAME, b"<xml/>")
    watch = _ssh_watch(tmp_path)
    try:
        with caplog.at_level("ERROR", logger="stix_ops.triggers.folder"):
            assert watch.next_event(0.8) is None
    finally:
        watch.close()
    assert "strict host-key checking is mandatory" in caplog.text

