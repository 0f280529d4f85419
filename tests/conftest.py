"""Shared test setup.

Airflow reads its configuration when it is first imported, so the environment for a private,
per-session ``AIRFLOW_HOME`` (SQLite metadata DB, our dags/ and plugins/ folders, no examples)
is set here, at conftest import, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="stix-airflow-test-"))

os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", "stix-test-session-secret")
os.environ.setdefault("STIX_REFERENCE_DATA", str((ROOT / ".." / "shared" / "stix-data").resolve()))
# Airflow appends plugins/ to sys.path in its own processes; pytest needs it too.
if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests of a ``scenario`` module in file order.

    ``make test`` shuffles modules and tests (pytest-randomly, whose hook runs first). A module
    marked ``scenario`` is one story told in steps on one expensive shared stack (e.g. a component
    is stopped in the last step); the modules still run in random order.
    """
    slots: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        if item.get_closest_marker("scenario"):
            slots.setdefault(str(item.path), []).append(index)
    for indexes in slots.values():
        in_file_order = sorted((items[i] for i in indexes), key=lambda item: item.location[1] or 0)
        for index, item in zip(indexes, in_file_order, strict=True):
            items[index] = item


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The shared real STIX data (``STIX_REFERENCE_DATA``); the suite requires it."""
    path = Path(os.environ["STIX_REFERENCE_DATA"])
    if not (path / "idb").is_dir():
        pytest.fail(f"reference data not found at {path}: set STIX_REFERENCE_DATA to the stix-data folder")
    return path


@pytest.fixture
def settings(tmp_path: Path, reference_data: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings with a fresh data root under ``tmp_path`` (also exported as ``STIX_*`` env)."""
    from stix_lib.settings import load_settings

    monkeypatch.setenv("STIX_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("STIX_REFERENCE_DATA", str(reference_data))
    monkeypatch.setenv("STIX_IDB_DIR", str(reference_data / "idb"))
    monkeypatch.delenv("STIX_CONFIG", raising=False)
    result = load_settings()
    result.ensure_folders()
    return result


@pytest.fixture(scope="session")
def airflow_db():
    """A fresh Airflow metadata database (SQLite in the session's AIRFLOW_HOME)."""
    from airflow.utils import db

    db.resetdb()
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def parsed_dagbag(airflow_db):
    """All DAGs of ``dags/`` parsed once per session (use :func:`dagbag` in tests)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture
def dagbag(parsed_dagbag):
    """All DAGs of ``dags/`` parsed as the dag-processor would, with every Param value restored afterwards.

    ``dag.test(run_conf=...)`` writes the run conf into the DAG's own Param objects (the SDK's
    ``process_params`` merges into a ParamsDict that shares them), so without the restore one test's
    overrides (``start_level``, ``input_files``, ...) became the next test's defaults. A worker parses
    the DAG afresh for every task, so only in-process test runs see this.
    """
    params = [
        (param, param.value)
        for dag in parsed_dagbag.dags.values()
        for params_dict in (dag.params, *(task.params for task in dag.tasks))
        for param in params_dict.values()
    ]
    yield parsed_dagbag
    for param, value in params:
        param.value = value


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server (Debian package) for the session, on a free loopback port."""
    from stix_ops.dev.localservices import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="stix-pg-"))  # outside pytest's 0700 basetemp: postgres must enter it
    server = PostgresServer(root).start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server, request) -> str:
    """SQLAlchemy URL of a fresh, empty PostgreSQL database for one test."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50] + f"_{os.getpid()}"
    return postgres_server.create_database(name)


@pytest.fixture(scope="session")
def ssh_server():
    """A real OpenSSH server on 127.0.0.1 (current user, generated keys) for the session."""
    from stix_ops.dev.localservices import SshServer

    server = SshServer(Path(tempfile.mkdtemp(prefix="stix-sshd-"))).start()
    yield server
    server.stop()


@pytest.fixture
def soc_connection(ssh_server, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The ``stix_soc`` Airflow connection pointing at :func:`ssh_server` (pinned host key, key file)."""
    import json

    conn = ssh_server.connection()
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOC", json.dumps(conn))
    return conn


@pytest.fixture
def smtp_sink(monkeypatch: pytest.MonkeyPatch):
    """A real SMTP server on loopback, wired as Airflow's ``smtp_default`` and the alert settings."""
    from stix_ops.dev.localservices import SmtpSink

    sink = SmtpSink().start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.connection_json())
    monkeypatch.setenv("STIX_ALERT_TO", "stix-ops@example.org")
    monkeypatch.setenv("STIX_ALERT_FROM", "stix-pipeline@example.org")
    yield sink
    sink.stop()
