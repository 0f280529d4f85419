"""Metadata-database settings for the embedded SQLite stacks (``make demo``, ``make up``, tests).

SQLite has one writer at a time. Airflow's components (scheduler, dag-processor, api-server,
triggerer, task processes) each hold their own connections, and Python's default busy timeout of
5 s made a write that met another component's transaction fail with "database is locked" — the
cause of failed backfill creation and of a scheduler that died mid-loop. The stacks therefore
point ``[database] sql_alchemy_connect_args`` here and switch the database file to write-ahead
logging (:func:`use_write_ahead_log`), so readers never block the writer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: ``sqlite3.connect`` arguments (import path given to Airflow): wait up to a minute for the lock.
CONNECT_ARGS: dict[str, object] = {"timeout": 60}

#: Value of ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS`` that selects :data:`CONNECT_ARGS`.
CONNECT_ARGS_PATH = f"{__name__}.CONNECT_ARGS"


def use_write_ahead_log(database: Path) -> str:
    """Switch the SQLite file ``database`` to WAL journal mode (persistent); return the mode now in force."""
    with sqlite3.connect(database, timeout=60) as connection:
        return str(connection.execute("PRAGMA journal_mode=WAL").fetchone()[0])
