"""Shared test setup.

Airflow reads its configuration when it is first imported, so the environment for a private,
per-session ``AIRFLOW_HOME`` (SQLite metadata DB, our dags/ and plugins/ folders, no examples)
is set here, at conftest import, before any test module imports Airflow.
"""

from __future__ import annotations

import os
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

#: Shared fixtures, one plugin module per concern (``tests/fixtures/*.py``).
pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}" for path in (ROOT / "tests" / "fixtures").glob("*.py") if path.stem != "__init__"
)


#: Markers given to every test below a top-level test folder (``-m "not slow"``, ``-m unit``, ...).
FOLDER_MARKERS: dict[str, tuple[str, ...]] = {
    "unit": ("unit",),
    "dags": ("airflow",),
    "integration": ("integration",),
    "e2e": ("e2e", "airflow", "slow"),
    "ui": ("ui", "airflow", "slow"),
}
#: Fixtures that start a real loopback service: a test using one is an ``integration`` test wherever it lives.
SERVICE_FIXTURES = frozenset({"postgres_server", "ssh_server", "smtp_sink", "sftp_server", "rid_api_server"})
TESTS = Path(__file__).resolve().parent


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark each test by its folder (see :data:`FOLDER_MARKERS`) and by the real services it uses."""
    top = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
    for name in FOLDER_MARKERS.get(top, ()):
        item.add_marker(name)
    if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("integration"):
        item.add_marker("integration")


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
