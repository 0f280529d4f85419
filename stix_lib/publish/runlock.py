"""One publishing run at a time per pipeline database.

Two overlapping runs (the daily DAG and a manual ``stix-pipeline publish``) could deliver the same
file twice or number two supplements alike. :func:`publish_lock` holds, for the whole run,

* PostgreSQL: a session-level advisory lock on a dedicated connection;
* SQLite: an exclusive ``flock`` on ``<database file>.publish.lock`` (in-memory databases cannot be
  shared, so they need none).

A second run fails at once with :class:`PublishLockedError` instead of waiting.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

#: Advisory-lock key of publishing runs (PostgreSQL).
LOCK_KEY = 7_241_010


class PublishLockedError(RuntimeError):
    """Another publishing run holds the lock."""


@contextmanager
def _postgres_lock(engine: Engine) -> Iterator[None]:
    with engine.connect() as conn:
        acquired = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar_one()
        conn.commit()
        if not acquired:
            raise PublishLockedError("another publishing run is active (PostgreSQL advisory lock held)")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            conn.commit()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PublishLockedError(f"another publishing run is active (lock file {path})") from exc
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def publish_lock(engine: Engine) -> Iterator[None]:
    """Hold the publishing lock of ``engine``'s database for the ``with`` block.

    Raises
    ------
    PublishLockedError
        If another run holds it.
    """
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        with _postgres_lock(engine):
            yield
    elif backend == "sqlite" and engine.url.database and engine.url.database != ":memory:":
        with _file_lock(Path(f"{engine.url.database}.publish.lock")):
            yield
    else:
        if backend != "sqlite":
            log.warning("no publishing lock for %s databases: make sure runs do not overlap", backend)
        yield
