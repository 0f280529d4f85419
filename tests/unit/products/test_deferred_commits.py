"""Deferred commits: files appear only once finished, folder locks are shared within a run and
never held while waiting for another writer's lock."""

from __future__ import annotations

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


def test_pending_file_appears_only_when_finished(moc_l0: dict, writer: ProductWriter) -> None:
    product = moc_l0[(21, 6, 43)]
    folder = writer.archive / "same"
    paths = [folder / f"file{n}.fits" for n in range(MAX_PENDING + 1)]
    with writer.deferred_commits() as failed:
        for path in paths[:-1]:  # several files of one folder: its lock is taken once, no self-deadlock
            assert writer.merge_write(path, product)[0].written
        assert not any(p.exists() for p in paths[:-1])
        assert len(list(folder.glob(f".*{TEMP_SUFFIX}"))) == MAX_PENDING
        assert _locked_elsewhere(folder)
        writer.merge_write(paths[-1], product)  # one more than may wait: the oldest is finished
        assert paths[0].exists() and not paths[1].exists()
        writer.wait_for(paths[2])  # finishes everything up to it
        assert paths[1].exists() and paths[2].exists() and not paths[3].exists()
    assert failed == []
    first = paths[0].read_bytes()
    extensions = first.index(b"XTENSION")  # the primary header names the file (and so its checksum)
    assert all(p.read_bytes()[extensions:] == first[extensions:] for p in paths)
    assert not list(folder.glob(f".*{TEMP_SUFFIX}"))
    assert not _locked_elsewhere(folder)
    assert not [t for t in threading.enumerate() if t.name.startswith("fsync")]  # the helper thread ended


def test_busy_folder_first_releases_the_held_ones(moc_l0: dict, writer: ProductWriter) -> None:
    """A writer waiting for a folder another process holds has let go of its own folders first.

    The other holder keeps folder B until it could lock folder A, where the writer has a pending
    file; a writer that kept A while waiting for B would make both wait for ever (here: until the
    other gives up after 20 s and the test fails).
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
        assert _locked_elsewhere(folder_a)
        other = threading.Thread(target=other_writer)
        other.start()
        writer.merge_write(folder_b / "second.fits", product)
        other.join()
        assert (folder_a / "first.fits").exists()
    assert outcome == ["got A"] and failed == []
    assert (folder_b / "second.fits").stat().st_size == (folder_a / "first.fits").stat().st_size


def test_started_write_leaves_target_alone_until_finished(tmp_path: Path) -> None:
    target = tmp_path / "out" / "file.bin"
    started = start_atomic_write(target, [b"abc", b"def"])  # the folder is created
    assert not target.exists() and Path(started.temp).read_bytes() == b"abcdef"
    started.flush()
    assert started.finish(flushed=True) == target
    assert target.read_bytes() == b"abcdef" and not Path(started.temp).exists()
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_started_write_failing_to_finish_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    started = start_atomic_write(target, [b"new"])

    def broken(handle: int) -> None:
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="I/O error"):
        started.finish()
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]
