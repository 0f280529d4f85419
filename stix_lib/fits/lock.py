"""Folder locks serialising the read-merge-write of FITS files (LB and products) in one folder.

A lock is an exclusive ``flock`` on a lock file inside the folder (``.lb.lock`` for LB,
``.products.lock`` for products), so writers in other processes wait too. :func:`lock_folder`
returns the open handle for callers that release it elsewhere (e.g. in a commit thread);
:func:`folder_lock` is the context-manager form.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def lock_folder(folder: Path, lock_name: str) -> IO[str]:
    """Create ``folder`` if needed, open and exclusively lock ``folder/lock_name``.

    Release with :func:`unlock` (possibly from another thread).
    """
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / lock_name, "a")  # noqa: SIM115 - released by unlock, maybe in another thread
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
    except BaseException:
        handle.close()
        raise
    return handle


def unlock(handle: IO[str]) -> None:
    """Release and close a lock taken by :func:`lock_folder`."""
    try:
        fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


@contextlib.contextmanager
def folder_lock(folder: Path, lock_name: str) -> Iterator[None]:
    """Hold the exclusive lock ``folder/lock_name`` for the ``with`` block."""
    handle = lock_folder(folder, lock_name)
    try:
        yield
    finally:
        unlock(handle)
