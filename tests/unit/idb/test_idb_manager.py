"""IDB version selection by on-board time."""

from __future__ import annotations

import logging
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from stix_lib.idb import IDBManager


@pytest.fixture
def manager(reference_data: Path) -> IDBManager:
    return IDBManager(reference_data / "idb")


def test_installed(manager: IDBManager) -> None:
    assert manager.installed_versions == ("2.26.32", "2.26.33", "2.26.34", "2.26.35")
    assert manager.has_version("2.26.34")
    assert not manager.has_version("2.26.31")
    assert not manager.has_version("a.b.c")
    assert not manager.has_version(("2", "26", "34"))  # type: ignore[arg-type]


def test_find_version(manager: IDBManager) -> None:
    assert manager.find_version(631155005) == "2.26.32"
    assert manager.find_version(2**31 - 1) == "2.26.38"
    assert manager.find_version(None) == "2.26.32"
    assert manager.find_version(640198039) == "2.26.31"  # start is inclusive
    assert manager.find_version(640198038.9) == "2.26.32"
    assert manager.find_version(642159993) == "2.26.33"
    assert manager.find_version(677774250) == "2.26.35"


def test_fallback_is_logged_once(manager: IDBManager, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="stix_lib.idb.manager"):
        assert manager.version_for(2**31 - 1) == "2.26.35"
        assert manager.get_idb(obt=2**31 - 1).version == "2.26.35"
        assert manager.version_for(761270182 + 10) == "2.26.35"
    notes = [r.getMessage() for r in caplog.records if "2.26.38" in r.getMessage()]
    assert len(notes) == 1 and "2.26.35" in notes[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="stix_lib.idb.manager"):
        assert manager.version_for(640198039 + 100) == "2.26.32"
    assert any("2.26.31" in r.getMessage() and "2.26.32" in r.getMessage() for r in caplog.records)


def test_vectorised_matches_scalar(manager: IDBManager) -> None:
    rng = np.random.default_rng(3)
    times = np.concatenate(
        [rng.integers(0, 2**32 - 1, 500), [0, 640198039, 640265396, 642159993, 643123725, 2**32 - 1]]
    )
    labels = manager.find_versions(times)
    assert list(labels) == [manager.find_version(int(t)) for t in times]
    resolved = manager.versions_for(times)
    assert list(resolved) == [manager.version_for(int(t)) for t in times]
    assert set(resolved) <= set(manager.installed_versions)


def test_unknown_version(manager: IDBManager) -> None:
    with pytest.raises(ValueError, match="Version"):
        manager.get_idb("a.b.c")
    with pytest.raises(ValueError, match="Version"):
        manager.get_idb("9.9.9")  # parseable but not in the history


def test_get_idb_cached(manager: IDBManager) -> None:
    first = manager.get_idb("2.26.33")
    assert manager.get_idb("2.26.33") is first
    assert manager.get_idb(obt=643000000) is first


@pytest.mark.parametrize("obt", [None, 0, 2**32 - 1])
def test_force_version_label(reference_data: Path, obt: int | None) -> None:
    manager = IDBManager(reference_data / "idb", force_version="2.26.34")
    assert manager.find_version(obt) == "2.26.34"
    assert manager.get_idb(obt=obt).version == "2.26.34"
    assert manager.get_idb("2.26.32").version == "2.26.34"
    assert set(manager.versions_for(np.array([0, 2**31]))) == {"2.26.34"}


def test_force_version_path(reference_data: Path) -> None:
    path = reference_data / "idb" / "v2.26.33"
    manager = IDBManager(reference_data / "idb", force_version=path)
    assert manager.find_version(2**31) == "2.26.33"
    assert manager.get_idb(obt=0).version == "2.26.33"
    with pytest.raises(ValueError):
        IDBManager(reference_data / "idb", force_version="2.26.99")


def test_pickles_as_paths(reference_data: Path) -> None:
    manager = IDBManager(reference_data / "idb")
    manager.get_idb("2.26.35").get_parameter("NIX00001")
    data = pickle.dumps(manager)
    assert len(data) < 2000
    clone = pickle.loads(data)
    assert clone.root == manager.root and clone.history_file == manager.history_file
    assert clone.get_idb(obt=700000000).version == "2.26.35"


def test_custom_root_and_history(tmp_path: Path, reference_data: Path) -> None:
    (tmp_path / "v2.26.33").mkdir()
    shutil.copy(reference_data / "idb" / "v2.26.33" / "idb.sqlite", tmp_path / "v2.26.33" / "idb.sqlite")
    history = reference_data / "idb" / "idbVersionHistory.json"
    manager = IDBManager(tmp_path, history)
    assert manager.installed_versions == ("2.26.33",)
    # .32 is not installed and has no explicit fallback here: nothing older, use the oldest (.33)
    assert manager.version_for(0) == "2.26.33"
    # .38 maps to .35 by default, which is missing too: the newest older installed version
    assert manager.version_for(2**31) == "2.26.33"
    with pytest.raises(ValueError):
        IDBManager(tmp_path / "empty", history).resolve("2.26.32")


def test_version_row_mismatch_is_logged(tmp_path: Path, reference_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "v2.26.34").mkdir()
    shutil.copy(reference_data / "idb" / "v2.26.33" / "idb.sqlite", tmp_path / "v2.26.34" / "idb.sqlite")
    manager = IDBManager(tmp_path, reference_data / "idb" / "idbVersionHistory.json")
    with caplog.at_level(logging.WARNING, logger="stix_lib.idb.manager"):
        idb = manager.get_idb("2.26.34")
    assert idb.version == "2.26.33"
    assert any("declares version 2.26.33" in r.getMessage() for r in caplog.records)
