"""Deferred commits: files written now, flushed and renamed into place by a helper thread.

Writing a FITS file atomically ends with an ``fsync`` that waits for the disk (about 0.7 ms a
file on the development VM, most of it the disk's cache flush). A run that writes many files
writes each one to its temporary name in its own thread and hands the rest of the commit
(``fsync``, rename, releasing the folder lock) to one helper thread, so the disk works while the
next files are computed. The helper touches Python only around those few system calls (about
10 thread switches a file against 17 when it also wrote the data; one helper that did only the
``fsync`` needed 4 but left the rename, and so the folder lock, waiting for the caller).

The folder lock (:mod:`stix_lib.fits.lock`) taken for the read-merge-write goes with the file to
the helper, which releases it once the file is in place: writers in other processes (and the
next merge in the same folder here) wait for the new file, never read the old one, and never
find its temporary file stale. The helper waits for nothing but the disk, so nobody waits for
a writer that is busy computing.
"""

from __future__ import annotations

import concurrent.futures
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

#: Files handed to the helper and not yet known to be in place (each keeps an open file).
MAX_PENDING = 4


def _commit(started: StartedWrite, lock: int, then: Callable[[], None] | None) -> None:
    """In the helper: put the file in place, run ``then``, release the folder lock."""
    try:
        started.finish()
        if then is not None:
            try:
                then()
            except Exception:  # e.g. a hand-over that cannot remember: costs a re-read only
                log.exception("after writing %s", started.target)
    finally:
        fits_lock.unlock(lock)


@dataclass
class DeferredCommits:
    """The commits of one run, oldest first.

    Parameters
    ----------
    lock_name
        Lock file of the folders (``.lb.lock``, ``.products.lock``).

    Attributes
    ----------
    failures
        ``(path, exception)`` of every file that could not be put in place, in order.
    failed_last
        The paths whose latest commit failed (a later successful commit removes a path).
    """

    lock_name: str
    failures: list[tuple[Path, Exception]] = field(default_factory=list)
    failed_last: set[Path] = field(default_factory=set)
    _pending: deque[tuple[Path, Future]] = field(default_factory=deque)
    _held: dict[Path, int] = field(default_factory=dict)
    _helper: ThreadPoolExecutor | None = None

    @contextlib.contextmanager
    def locked(self, folder: Path) -> Iterator[None]:
        """Hold ``folder``'s lock for the ``with`` block (a file :meth:`add`-ed in it keeps it until in place)."""
        self._held[folder] = fits_lock.lock_folder(folder, self.lock_name)
        try:
            yield
        finally:
            handle = self._held.pop(folder, None)
            if handle is not None:  # no file handed over
                fits_lock.unlock(handle)

    def add(self, started: StartedWrite, then: Callable[[], None] | None = None) -> None:
        """Hand a file written under its temporary name to the helper; ``then()`` runs once it is in place.

        Call it inside :meth:`locked` of the file's folder: the lock goes with the file. Beyond
        :data:`MAX_PENDING` files the oldest one is waited for.
        """
        lock = self._held.pop(started.target.parent)
        if self._helper is None:
            self._helper = ThreadPoolExecutor(1, thread_name_prefix="commit")
        try:
            future = self._helper.submit(_commit, started, lock, then)
        except BaseException:
            started.abandon()
            fits_lock.unlock(lock)
            raise
        self._pending.append((started.target, future))
        if len(self._pending) > MAX_PENDING:
            self._wait_oldest()

    def finish(self, path: Path | None = None) -> None:
        """Wait for the pending files up to the last one for ``path``.

        With ``None``: for all of them, and the helper thread ends.
        """
        targets = [target for target, _ in self._pending]
        if path is None:
            count = len(targets)
        else:
            count = len(targets) - targets[::-1].index(path) if path in targets else 0
        try:
            for _ in range(count):
                self._wait_oldest()
        except BaseException:  # interrupted: the files handed over are still put in place (or removed)
            concurrent.futures.wait([future for _, future in self._pending])
            self._pending.clear()
            raise
        if path is None and self._helper is not None:
            self._helper.shutdown()
            self._helper = None

    def _wait_oldest(self) -> None:
        target, future = self._pending.popleft()
        error = future.exception()
        if error is None:
            self.failed_last.discard(target)
            return
        if not isinstance(error, Exception):
            raise error
        log.error("writing %s failed: %s", target, error)
        self.failures.append((target, error))
        self.failed_last.add(target)
