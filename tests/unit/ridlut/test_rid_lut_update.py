"""RID LUT update against a local HTTP API (30-day windows, throttle, errors, merge, atomic write)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from stix_lib.ridlut import RidLut, update_rid_lut, window_url
from stix_lib.ridlut.table import COLUMNS
from tests.support.ridlut_support import RidApi, api_row, windows


def test_window_url() -> None:
    assert (
        window_url("http://h/api/bsd/info/", date(2019, 1, 1), date(2019, 1, 31))
        == "http://h/api/bsd/info/20190101/20190131"
    )
    assert (
        window_url("http://h/api/bsd/info", date(2019, 1, 1), date(2019, 1, 31))
        == "http://h/api/bsd/info/20190101/20190131"
    )


def test_missing_file_is_fetched_from_2019_in_30_day_windows(rid_api: RidApi, tmp_path: Path) -> None:
    rid_api.rows = [api_row(1, 100, "2019-01-05T10:00:00"), api_row(2, 101, "2019-03-20T10:00:00", scaling="2")]
    sleeps: list[float] = []
    path = tmp_path / "sub" / "rid_lut.csv"
    result = update_rid_lut(path, rid_api.url, today=date(2019, 4, 15), throttle=0.5, sleep=sleeps.append)

    assert rid_api.requests == windows(date(2019, 1, 1), date(2019, 4, 15))
    assert rid_api.requests[0] == "/api/bsd/info/20190101/20190131"
    assert len(rid_api.requests) == 4 and result.error is None
    assert result.written and result.added_rows == 2 and result.total_rows == 2
    # throttled: every call after the first waited for what was left of the 0.5 s interval
    assert len(sleeps) <= 3 and all(0 < s <= 0.5 for s in sleeps)
    lut = RidLut.read(path)
    assert lut.scaling_factor(101) == 2 and lut.reason(100) == "flare, imaging"
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert [p.name for p in path.parent.iterdir()] == ["rid_lut.csv"]  # no temp file left


def test_update_starts_at_latest_start_and_merges(rid_api: RidApi, tmp_path: Path) -> None:
    path = tmp_path / "rid_lut.csv"
    rid_api.rows = [api_row(1, 100, "2021-05-01T10:00:00"), api_row(2, 101, "2021-05-10T08:00:00")]
    update_rid_lut(path, rid_api.url, today=date(2021, 5, 11), throttle=0)
    rid_api.requests.clear()

    # the API corrects row 2 and adds row 3 (same day) and row 4 (later)
    rid_api.rows[1] = api_row(2, 101, "2021-05-10T08:00:00", subject="corrected")
    rid_api.rows += [api_row(3, 102, "2021-05-10T20:00:00"), api_row(4, 103, "2021-06-20T00:00:00")]
    result = update_rid_lut(path, rid_api.url, today=date(2021, 7, 1), throttle=0)

    assert rid_api.requests == windows(date(2021, 5, 10), date(2021, 7, 1))
    assert (result.added_rows, result.replaced_rows, result.total_rows) == (2, 1, 4)
    lut = RidLut.read(path)
    assert lut.reason(101) == "corrected, imaging"  # replaced, not duplicated
    assert lut.scaling_factor(101) == 30  # still exactly one row → lookup works
    assert sorted(int(r["unique_id"]) for r in lut.rows) == [100, 101, 102, 103]


def test_up_to_date_file_makes_no_call(rid_api: RidApi, tmp_path: Path) -> None:
    path = tmp_path / "rid_lut.csv"
    rid_api.rows = [api_row(1, 100, "2021-05-01T10:00:00")]
    update_rid_lut(path, rid_api.url, today=date(2021, 5, 2), throttle=0)
    before = path.stat().st_mtime_ns
    rid_api.requests.clear()
    result = update_rid_lut(path, rid_api.url, today=date(2021, 5, 1), throttle=0)
    assert rid_api.requests == [] and not result.written and path.stat().st_mtime_ns == before


@pytest.mark.parametrize("failure", ["fail_paths", "garbage_paths"])
def test_api_error_stops_and_keeps_what_was_fetched(rid_api: RidApi, tmp_path: Path, failure: str) -> None:
    rid_api.rows = [api_row(1, 100, "2019-01-05T10:00:00"), api_row(2, 101, "2019-03-05T10:00:00")]
    getattr(rid_api, failure).add("/api/bsd/info/20190131/20190302")
    path = tmp_path / "rid_lut.csv"
    result = update_rid_lut(path, rid_api.url, today=date(2019, 6, 1), throttle=0)

    assert result.error.startswith("RID API ERROR http://127.0.0.1:")
    assert len(rid_api.requests) == 2  # stopped after the failing window
    assert [r["unique_id"] for r in RidLut.read(path).rows] == ["100"]


def test_unreachable_api_is_an_error_not_an_exception(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = update_rid_lut(tmp_path / "l.csv", f"http://127.0.0.1:{port}/x/", today=date(2019, 1, 2), timeout=5)
    assert result.error and "RID API ERROR" in result.error and result.urls == []


def test_only_http_urls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http"):
        update_rid_lut(tmp_path / "l.csv", "file:///etc/", today=date(2019, 1, 2))


def test_readers_never_see_a_partial_file(rid_api: RidApi, tmp_path: Path) -> None:
    path = tmp_path / "rid_lut.csv"
    rid_api.rows = [api_row(1, 100, "2019-01-05T10:00:00")]
    update_rid_lut(path, rid_api.url, today=date(2019, 1, 10), throttle=0)
    inode = os.stat(path).st_ino
    rid_api.rows.append(api_row(2, 101, "2019-01-06T10:00:00"))
    update_rid_lut(path, rid_api.url, today=date(2019, 1, 10), throttle=0)
    assert os.stat(path).st_ino != inode  # replaced by rename, never rewritten in place
    assert len(RidLut.read(path)) == 2
