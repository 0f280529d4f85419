"""When freed heap is handed back to the system (:mod:`stix_lib.memory`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib import memory


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(memory, "release_free_memory", lambda: calls.append(1))
    return calls


def test_small_input_is_not_followed_by_a_trim(tmp_path: Path, trims: list[int]) -> None:
    path = tmp_path / "small.fits"
    path.write_bytes(bytes(2880))
    assert not memory.release_after_input(path, min_bytes=2881)
    assert trims == []


def test_large_input_is_followed_by_a_trim(tmp_path: Path, trims: list[int]) -> None:
    path = tmp_path / "large.fits"
    path.write_bytes(bytes(2881))
    assert memory.release_after_input(path, min_bytes=2881)
    assert trims == [1]


def test_an_input_that_is_gone_counts_as_large(tmp_path: Path, trims: list[int]) -> None:
    assert memory.release_after_input(tmp_path / "gone.fits")
    assert trims == [1]


def test_release_free_memory_runs_here() -> None:
    memory.release_free_memory()  # glibc malloc_trim or a no-op; must not raise
