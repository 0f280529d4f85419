"""SQLAlchemy engines for the pipeline database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

#: Databases whose schema this process brought up to date (see :func:`_migration_key`). Filled by
#: :func:`connect`, so a sensor poking every few minutes migrates once per process, not once per poke.
_migrated: set[tuple[str, int, int]] = set()


def _migration_key(url: URL) -> tuple[str, int, int] | None:
    """What identifies a migrated database in this process; ``None``: migrate on every connect.

    An in-memory SQLite database is new with every engine. A SQLite file counts with its device and
    inode, so a file deleted and created again under the same name is migrated again.
    """
    rendered = url.render_as_string(hide_password=False)
    if url.get_backend_name() != "sqlite":
        return (rendered, 0, 0)
    if not url.database or url.database == ":memory:":
        return None
    try:
        stat = Path(url.database).stat()
    except OSError:
        return None
    return (rendered, stat.st_dev, stat.st_ino)


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
        Apply pending migrations (default), once per database and process: later calls for a
        database this process already migrated skip the check. Pass False for read-only tools.

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
    if migrate_schema and _migration_key(parsed) not in _migrated:
        from stix_lib.db.migrations import migrate

        migrate(engine)
        key = _migration_key(parsed)  # a new SQLite file exists only now
        if key is not None:
            _migrated.add(key)
    return engine
