"""Deferred commits: files written now, flushed and renamed into place a few files later.

Writing a FITS file atomically ends with an ``fsync`` that waits for the disk. A run that writes
many files hands each file's data to the disk at once (:meth:`StartedWrite.start_flush`) and
finishes it (``fsync``, rename) only when :data:`MAX_PENDING` newer files are waiting, so the disk
works while the next files are computed, in the same thread (no hand-over between threads).

Until a file is finished its folder stays locked (the lock of :mod:`stix_lib.fits.lock`), so
writers in other processes see the old file or the new one, never wait for a half-done merge,
and never find the temporary file stale. A folder's lock is taken once however many of its
files are pending, and no lock is waited for while others are held: a folder busy elsewhere
first makes every pending file finish (two processes never wait for each other).
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stix_lib.atomic import StartedWrite
from stix_lib.fits import lock as fits_lock

log = logging.getLogger(__name__)

#: Files written but not yet flushed and renamed (each keeps an open file and its folder locked).
MAX_PENDING = 4


@dataclass
class DeferredCommits:
    """Pending files of one run, oldest first, and the folder locks they hold.

    Parameters
    ----------
    lock_name
        Lock file of the folders (``.lb.lock``, ``.products.lock``).

    Attributes
    ----------
    failures
        ``(path, exception)`` of every file that could not be finished (it is not in place).
    """

    lock_name: str
    failures: list[tuple[Path, BaseException]] = field(default_factory=list)
    _pending: deque[tuple[StartedWrite, Callable[[], None] | None]] = field(default_factory=deque)
    _locks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    @contextlib.contextmanager
    def locked(self, folder: Path) -> Iterator[None]:
        """Hold ``folder``'s lock for the ``with`` block (taken once for all its pending files)."""
        self._hold(folder)
        try:
            yield
        finally:
            self._release(folder)

    def add(self, started: StartedWrite, then: Callable[[], None] | None = None) -> None:
        """Keep a file written under its temporary name; ``then()`` runs once it is in place.

        Call it inside :meth:`locked` of the file's folder. Beyond :data:`MAX_PENDING` files the
        oldest one is finished.
        """
        started.start_flush()
        self._hold(started.target.parent)
        self._pending.append((started, then))
        if len(self._pending) > MAX_PENDING:
            self.finish(self._pending[0][0].target)

    def finish(self, path: Path | None = None) -> None:
        """Finish the pending files up to the last one for ``path`` (all of them for ``None``)."""
        targets = [started.target for started, _ in self._pending]
        if path is None:
            count = len(targets)
        else:
            count = len(targets) - targets[::-1].index(path) if path in targets else 0
        try:
            for _ in range(count):
                self._finish_oldest()
        except BaseException:  # interrupted: no temporary file stays behind
            self.abandon()
            raise

    def abandon(self) -> None:
        """Drop every pending file (temporary file removed, lock released); the targets stay as they were."""
        while self._pending:
            started, _ = self._pending.popleft()
            started.abandon()
            self._release(started.target.parent)

    def _finish_oldest(self) -> None:
        started, then = self._pending.popleft()
        try:
            started.finish()
        except Exception as exc:  # the caller reports the failures
            log.error("writing %s failed: %s", started.target, exc)
            self.failures.append((started.target, exc))
        else:
            if then is not None:
                then()
        finally:
            self._release(started.target.parent)

    def _hold(self, folder: Path) -> None:
        held = self._locks.get(folder)
        if held is None:
            try:
                handle = fits_lock.lock_folder(folder, self.lock_name, wait=False)
            except BlockingIOError:  # busy elsewhere: let go of ours before waiting
                self.finish()
                handle = fits_lock.lock_folder(folder, self.lock_name)
            held = (handle, 0)
        self._locks[folder] = (held[0], held[1] + 1)

    def _release(self, folder: Path) -> None:
        handle, users = self._locks.pop(folder)
        if users > 1:
            self._locks[folder] = (handle, users - 1)
        else:
            fits_lock.unlock(handle)
