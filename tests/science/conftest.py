"""Fixtures of the science (BSD request) tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib.idb.manager import IDBManager


@pytest.fixture(scope="session")
def idb_dir(reference_data: Path) -> Path:
    """The real IDBs of the shared reference data."""
    return reference_data / "idb"


@pytest.fixture(scope="session")
def idb_manager(idb_dir: Path) -> IDBManager:
    """IDB selection with the on-board version history."""
    return IDBManager(idb_dir)
