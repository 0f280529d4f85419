"""SQLAlchemy engines for the pipeline database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def connect(url: str, *, migrate_schema: bool = True) -> Engine:
    """Create an engine for ``url`` and bring its schema up to date.

    SQLite files get WAL journaling and a 30 s busy timeout so that concurrent task processes
    can share the file; their parent directory is created. Python's sqlite3 module would
    autocommit DDL and start transactions lazily, so the engine takes over: every transaction
    is ``BEGIN IMMEDIATE`` (takes the write lock up front). That makes migrations atomic and
    serializes writers (other processes wait up to the busy timeout) at SQLite's scale.

    Parameters
    ----------
    url
        SQLAlchemy URL, e.g. ``sqlite:////data/stix/pipeline.sqlite`` or
        ``postgresql+psycopg2://user:pw@host/db``.
    migrate_schema
        Apply pending migrations (default). Pass False for read-only tools.

    Returns
    -------
    sqlalchemy.Engine
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if migrate_schema:
        from stix_lib.db.migrations import migrate

        migrate(engine)
    return engine
