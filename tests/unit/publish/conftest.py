"""Fixtures of the publishing tests: pipeline database on SQLite and PostgreSQL, folders, kernels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stix_lib.db import connect


@pytest.fixture(autouse=True)
def _no_stixpy_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic products of these tests are not stixpy-loadable: the gate's stixpy and
    conservation checks are off.

    (``tests/unit/publish/test_gate.py`` covers it with real pipeline products.)
    """
    monkeypatch.setenv("STIX_PUBLISH_STIXPY_CHECK", "false")
    monkeypatch.setenv("STIX_PUBLISH_CONSERVATION_CHECK", "false")  # no LB parents beside them either


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh pipeline database: SQLite file or a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'pipeline.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite pipeline database (for tests where the backend does not matter)."""
    return f"sqlite:///{tmp_path / 'db' / 'pipeline.sqlite'}"


@dataclass
class Folders:
    """The folders of one publishing setup."""

    fits: Path
    target: Path
    conflicts: Path
    report: Path
    work: Path


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    """Archive, SOAR target, conflicts folder and supplement report below ``tmp_path``."""
    result = Folders(
        fits=tmp_path / "fits",
        target=tmp_path / "esa",
        conflicts=tmp_path / "esa_conflicts",
        report=tmp_path / "publish" / "supplement_report.csv",
        work=tmp_path / "work",
    )
    result.fits.mkdir()
    result.work.mkdir()
    return result


@pytest.fixture
def engine(sqlite_url: str):
    """A migrated SQLite pipeline database."""
    return connect(sqlite_url)


@pytest.fixture
def kernel_dir(reference_data: Path) -> Path:
    """The real 2020 SPICE kernel tree (flown + predicted meta kernels)."""
    return reference_data / "spice" / "kernels"
