"""Deferred commits: files written now, put in place a few files later.

Writing a FITS file atomically ends with an ``fsync`` that waits for the disk (about 0.7 ms a
file on the development VM, most of it the disk's cache flush). A run that writes many files
writes each one to its temporary name and hands only the ``fsync`` to one helper thread; the
rename follows in the caller's thread when :data:`MAX_PENDING` newer files are waiting, so the
disk works while the next files are computed. The helper touches Python only to start and end
an ``fsync`` (about 4 thread switches a file; a thread doing the whole commit needed about 17).

Until a file is in place its folder stays locked (the lock of :mod:`stix_lib.fits.lock`), so
writers in other processes see the old file or the new one, never wait for a half-done merge,
and never find the temporary file stale. A folder's lock is taken once however many of its
files are pending, and no lock is waited for while others are held: a folder busy elsewhere
first puts every pending file in place (two processes never wait for each other).
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from stix_lib.atomic import StartedWrite
from stix_lib.fits import lock as fits_lock

log = logging.getLogger(__name__)

#: Files written but not yet in place (each keeps an open file and its folder locked).
MAX_PENDING = 4


@dataclass
class _Pending:
    started: StartedWrite
    flushed: Future
    then: Callable[[], None] | None


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
        ``(path, exception)`` of every file that could not be put in place.
    """

    lock_name: str
    failures: list[tuple[Path, BaseException]] = field(default_factory=list)
    _pending: deque[_Pending] = field(default_factory=deque)
    _locks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    _flusher: ThreadPoolExecutor | None = None

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

        Call it inside :meth:`locked` of the file's folder. Its ``fsync`` starts at once in the
        helper thread; beyond :data:`MAX_PENDING` files the oldest one is put in place.
        """
        self._hold(started.target.parent)
        if self._flusher is None:
            self._flusher = ThreadPoolExecutor(1, thread_name_prefix="fsync")
        self._pending.append(_Pending(started, self._flusher.submit(started.flush), then))
        if len(self._pending) > MAX_PENDING:
            self.finish(self._pending[0].started.target)

    def finish(self, path: Path | None = None) -> None:
        """Put the pending files in place up to the last one for ``path`` (all of them for ``None``).

        An interruption (e.g. ``KeyboardInterrupt``) drops the remaining ones (:meth:`abandon`).
        """
        targets = [pending.started.target for pending in self._pending]
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
        if not self._pending and self._flusher is not None:
            self._flusher.shutdown()
            self._flusher = None

    def abandon(self) -> None:
        """Drop every pending file (temporary file removed, lock released); the targets stay as they were."""
        while self._pending:
            pending = self._pending.popleft()
            if not pending.flushed.cancel():
                pending.flushed.exception()  # the descriptor is closed only after its fsync
            pending.started.abandon()
            self._release(pending.started.target.parent)
        if self._flusher is not None:
            self._flusher.shutdown()
            self._flusher = None

    def _finish_oldest(self) -> None:
        pending = self._pending.popleft()
        started = pending.started
        try:
            try:
                error = pending.flushed.exception()
            except BaseException:  # interrupted while waiting for the fsync
                pending.flushed.cancel()
                started.abandon()
                raise
            if error is not None:
                started.abandon()
                raise error
            started.finish(flushed=True)
        except Exception as exc:  # the caller reports the failures
            log.error("writing %s failed: %s", started.target, exc)
            self.failures.append((started.target, exc))
        else:
            if pending.then is not None:
                pending.then()
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
