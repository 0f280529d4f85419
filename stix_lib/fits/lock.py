"""Folder locks serialising the read-merge-write of FITS files (LB and products) in one folder.

A lock is an exclusive ``flock`` on a lock file inside the folder (``.lb.lock`` for LB,
``.products.lock`` for products), so writers in other processes wait too. :func:`folder_lock`
holds it for a ``with`` block; :func:`lock_folder` and :func:`unlock` are its
two halves (``wait=False`` tells whether another writer holds the lock now).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

#: Flags of the lock file: created if missing, never truncated, not inherited by programs run later.
_LOCK_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC


def lock_folder(folder: Path, lock_name: str, *, wait: bool = True) -> int:
    """Create ``folder`` if needed, open and exclusively lock ``folder/lock_name``; return the descriptor.

    Release with :func:`unlock`. With ``wait=False`` a lock held elsewhere raises
    :class:`BlockingIOError` instead of waiting.
    """
    try:
        handle = os.open(folder / lock_name, _LOCK_FLAGS, 0o666)
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(folder / lock_name, _LOCK_FLAGS, 0o666)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(handle)
        raise
    return handle


def unlock(handle: int) -> None:
    """Release and close a lock taken by :func:`lock_folder`."""
    try:
        fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


@contextlib.contextmanager
def folder_lock(folder: Path, lock_name: str) -> Iterator[None]:
    """Hold the exclusive lock ``folder/lock_name`` for the ``with`` block."""
    handle = lock_folder(folder, lock_name)
    try:
        yield
    finally:
        unlock(handle)
