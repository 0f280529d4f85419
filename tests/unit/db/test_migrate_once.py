"""``stix_lib.db.connect`` migrates a database once per process, not on every call (every sensor poke)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib.db import engine as engine_module
from stix_lib.db import migrations
from stix_lib.db.migrations import MIGRATIONS, current_version


@pytest.fixture
def migrate_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the calls of the real ``migrate`` (URL of each); this test's own cache of migrated databases."""
    monkeypatch.setattr(engine_module, "_migrated", set(), raising=False)
    calls: list[str] = []
    real = migrations.migrate

    def counting(engine, target=None):
        calls.append(str(engine.url))
        return real(engine, target)

    monkeypatch.setattr(migrations, "migrate", counting)
    return calls


def test_second_connect_does_not_migrate_again(migrate_calls, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'pipeline.sqlite'}"
    for _ in range(5):  # e.g. five sensor pokes in one worker process
        engine = engine_module.connect(url)
    assert len(migrate_calls) == 1
    assert current_version(engine) == MIGRATIONS[-1].version


def test_each_database_is_migrated(migrate_calls, tmp_path: Path):
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.sqlite", "b.sqlite"))
    for url in (first, second, first, second):
        engine_module.connect(url)
    assert migrate_calls == [first, second]


def test_a_recreated_file_is_migrated_again(migrate_calls, tmp_path: Path):
    path = tmp_path / "pipeline.sqlite"
    url = f"sqlite:///{path}"
    engine_module.connect(url).dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = engine_module.connect(url)
    assert len(migrate_calls) == 2
    assert current_version(engine) == MIGRATIONS[-1].version


def test_in_memory_databases_are_always_migrated(migrate_calls):
    for _ in range(2):
        engine = engine_module.connect("sqlite://")
        assert current_version(engine) == MIGRATIONS[-1].version
    assert len(migrate_calls) == 2


def test_read_only_connect_never_migrates(migrate_calls, tmp_path: Path):
    engine_module.connect(f"sqlite:///{tmp_path / 'pipeline.sqlite'}", migrate_schema=False)
    assert migrate_calls == []
