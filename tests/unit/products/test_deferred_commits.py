"""Deferred commits: a file is in place (and its folder unlocked) once the helper thread has
flushed and renamed it, whatever the caller does meanwhile; nobody waits for a busy caller."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from stix_lib.atomic import TEMP_SUFFIX, start_atomic_write
from stix_lib.fits import lock as fits_lock
from stix_lib.fits.deferred import MAX_PENDING
from stix_lib.products.writer import LOCK_FILE, ProductWriter


def _locked_elsewhere(folder: Path) -> bool:
    """True when another open file holds ``folder``'s product lock (an flock of a new descriptor fails)."""
    try:
        handle = fits_lock.lock_folder(folder, LOCK_FILE, wait=False)
    except BlockingIOError:
        return True
    fits_lock.unlock(handle)
    return False


def _helper_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("commit")]


@pytest.fixture
def held_fsync(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """``os.fsync`` waits until the returned event is set (a slow disk under the caller's control)."""
    go = threading.Event()
    real = os.fsync

    def slow(handle: int) -> None:
        assert go.wait(20), "fsync held for 20 s"
        real(handle)

    monkeypatch.setattr(os, "fsync", slow)
    return go


def test_file_and_lock_wait_for_the_disk_not_for_the_caller(
    moc_l0: dict, writer: ProductWriter, held_fsync: threading.Event
) -> None:
    product = moc_l0[(21, 6, 43)]
    folder = writer.archive / "same"
    paths = [folder / f"file{n}.fits" for n in range(MAX_PENDING + 2)]
    with writer.deferred_commits() as failed:
        writer.merge_write(paths[0], product)
        assert not paths[0].exists() and _locked_elsewhere(folder)  # the disk has not answered yet
        held_fsync.set()
        deadline = time.monotonic() + 20
        while _locked_elsewhere(folder) and time.monotonic() < deadline:  # the caller does nothing
            time.sleep(0.01)
        assert paths[0].exists() and not _locked_elsewhere(folder)
        for path in paths[1:]:  # one folder, several files: each merge waits for the previous file
            assert writer.merge_write(path, product)[0].written
        writer.wait_for(paths[-1])
        assert all(p.exists() for p in paths)
    assert failed == []
    first = paths[0].read_bytes()
    extensions = first.index(b"XTENSION")  # the primary header names the file (and so its checksum)
    assert all(p.read_bytes()[extensions:] == first[extensions:] for p in paths)
    assert not list(folder.glob(f".*{TEMP_SUFFIX}"))
    assert not _locked_elsewhere(folder)
    assert not _helper_threads()  # the helper thread ended with the context


def test_a_writer_blocked_elsewhere_does_not_keep_its_folders(moc_l0: dict, writer: ProductWriter) -> None:
    """A writer waiting for a folder another process holds has let go of the folders it wrote.

    The other holder keeps folder B until it could lock folder A, where the writer has just
    written a file; a writer that kept A while waiting for B would make both wait for ever (here:
    until the other gives up after 20 s and the test fails).
    """
    product = moc_l0[(21, 6, 43)]
    folder_a, folder_b = writer.archive / "a", writer.archive / "b"
    held_b = fits_lock.lock_folder(folder_b, LOCK_FILE)
    outcome: list[str] = []

    def other_writer() -> None:
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                try:
                    handle = fits_lock.lock_folder(folder_a, LOCK_FILE, wait=False)
                except (BlockingIOError, FileNotFoundError):
                    time.sleep(0.01)
                    continue
                fits_lock.unlock(handle)
                outcome.append("got A")
                return
            outcome.append("gave up")
        finally:
            fits_lock.unlock(held_b)

    with writer.deferred_commits() as failed:
        writer.merge_write(folder_a / "first.fits", product)
        other = threading.Thread(target=other_writer)
        other.start()
        writer.merge_write(folder_b / "second.fits", product)
        other.join()
    assert outcome == ["got A"] and failed == []
    assert (folder_b / "second.fits").stat().st_size == (folder_a / "first.fits").stat().st_size


def test_failing_callback_costs_only_itself(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An exception of a file's ``then`` (e.g. the LB hand-over) is logged; that file and the others stay."""
    from stix_lib.fits.deferred import DeferredCommits

    def broken() -> None:
        raise RuntimeError("cannot remember")

    commits = DeferredCommits(LOCK_FILE)
    targets = [tmp_path / f"f{n}.bin" for n in range(3)]
    for n, target in enumerate(targets):
        with commits.locked(tmp_path):
            commits.add(start_atomic_write(target, [b"x"]), then=broken if n == 0 else None)
    commits.finish()
    assert all(t.read_bytes() == b"x" for t in targets) and commits.failures == []
    assert "cannot remember" in caplog.text


def test_started_write_leaves_target_alone_until_finished(tmp_path: Path) -> None:
    target = tmp_path / "out" / "file.bin"
    started = start_atomic_write(target, [b"abc", b"def"])  # the folder is created
    assert not target.exists() and Path(started.temp).read_bytes() == b"abcdef"
    assert started.finish() == target
    assert target.read_bytes() == b"abcdef" and not Path(started.temp).exists()
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_started_write_failing_to_finish_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    started = start_atomic_write(target, [b"new"])

    def broken(handle: int) -> None:
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="I/O error"):
        started.finish()
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]
