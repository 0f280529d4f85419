"""The RID LUT refresh before publishing: resuming retries and the fallback rule, against a local HTTP API
that fails N times or serves garbage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stix_lib.ridlut import RidLut, RidLutUnusable, refresh_rid_lut
from tests.support.ridlut_support import HEADER, RidApi, api_row, to_csv


def _day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT10:00:00")


@pytest.fixture
def recent_lut(tmp_path: Path, rid_api: RidApi) -> Path:
    """A local LUT with one request of 3 days ago; the API knows it and a newer one (one window to fetch)."""
    rid_api.rows = [api_row(1, 100, _day(3)), api_row(2, 101, _day(2), subject="newer")]
    path = tmp_path / "rid_lut.csv"
    path.write_text(to_csv(rid_api.rows[:1]))
    return path


def test_retries_resume_until_the_api_answers(rid_api: RidApi, recent_lut: Path) -> None:
    rid_api.fail_first = 2
    sleeps: list[float] = []

    result = refresh_rid_lut(recent_lut, rid_api.url, attempts=3, pause=7.0, sleep=sleeps.append)

    assert (result.error, result.attempts, result.calls, result.added, result.rows) == (None, 3, 1, 1, 2)
    assert sleeps == [7.0, 7.0]
    assert len(rid_api.requests) == 3 and len(set(rid_api.requests)) == 1  # every attempt asks the same window
    assert RidLut.read(recent_lut).reason(101) == "newer, imaging"


def test_after_the_last_attempt_the_local_lut_is_the_fallback(rid_api: RidApi, recent_lut: Path) -> None:
    rid_api.fail_first = 99
    before = recent_lut.read_bytes()

    result = refresh_rid_lut(recent_lut, rid_api.url, attempts=2, pause=0.0, sleep=lambda _: None)

    assert result.error.startswith("RID API ERROR http://127.0.0.1:") and "503" in result.error
    assert (result.attempts, result.calls, result.rows) == (2, 0, 1)
    assert len(rid_api.requests) == 2 and recent_lut.read_bytes() == before
    assert result.as_dict() == {
        "lut_file": str(recent_lut), "calls": 0, "added": 0, "replaced": 0, "rows": 1, "attempts": 2,
        "error": result.error,
    }  # fmt: skip


@pytest.mark.parametrize("failure", ["fail_paths", "garbage_paths"])
def test_without_a_usable_lut_a_failed_refresh_is_fatal(rid_api: RidApi, tmp_path: Path, failure: str) -> None:
    """Moved from the DAG tests (``refresh_rid_lut`` task), plus garbage answers."""
    getattr(rid_api, failure).add("/api/bsd/info/20190101/20190131")
    missing = tmp_path / "new" / "rid_lut.csv"
    with pytest.raises(RidLutUnusable, match=r"holds no request to publish with: RID API ERROR .*/20190101/"):
        refresh_rid_lut(missing, rid_api.url, attempts=2, pause=0.0)
    assert len(rid_api.requests) == 2

    # a header-only LUT holds no request either
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER + "\n")
    with pytest.raises(RuntimeError, match="holds no request"):
        refresh_rid_lut(empty, rid_api.url, attempts=1)

    # a caller that does not require a usable LUT gets the error as a warning
    result = refresh_rid_lut(missing, rid_api.url, attempts=1, require_usable=False)
    assert result.error.startswith("RID API ERROR") and result.rows == 0


def test_the_default_attempts_and_pause_are_read_when_called(
    rid_api: RidApi, recent_lut: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stix_lib.ridlut import refresh

    monkeypatch.setattr(refresh, "RID_API_ATTEMPTS", 4)
    monkeypatch.setattr(refresh, "RID_API_RETRY_PAUSE", 0.5)
    rid_api.fail_first = 99
    sleeps: list[float] = []
    result = refresh_rid_lut(recent_lut, rid_api.url, sleep=sleeps.append)
    assert result.attempts == 4 and sleeps == [0.5, 0.5, 0.5] and result.rows == 1


def test_only_http_urls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http"):
        refresh_rid_lut(tmp_path / "l.csv", "file:///etc/", attempts=1)
