"""The embedded SQLite stacks wait for the database lock and use write-ahead logging (the cause of "database
is locked" in backfill creation and of a scheduler that died), and PostgreSQL stacks are left alone."""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path

from stix_ops import sqlite_settings
from stix_ops.dev.localstack import LocalStack, StackConfig


def test_sqlite_stack_points_airflow_at_the_connect_args(tmp_path: Path) -> None:
    env = LocalStack(StackConfig(home=tmp_path)).env()
    module, _, name = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"].rpartition(".")
    connect_args = getattr(importlib.import_module(module), name)
    assert connect_args["timeout"] >= 30  # Python's default of 5 s lost writes to the scheduler's transactions
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path.resolve() / 'airflow.db'}"


def test_postgres_stack_gets_no_sqlite_arguments(tmp_path: Path) -> None:
    stack = LocalStack(StackConfig(home=tmp_path, sql_alchemy_conn="postgresql+psycopg2://u@127.0.0.1/airflow"))
    assert stack.sqlite_database is None
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS" not in stack.env()


def test_write_ahead_log_is_persistent(tmp_path: Path) -> None:
    database = tmp_path / "airflow.db"
    sqlite3.connect(database).close()
    assert sqlite_settings.use_write_ahead_log(database) == "wal"
    with sqlite3.connect(database) as connection:  # a new connection (another component) sees WAL too
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
