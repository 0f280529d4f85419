"""SOOP keyword manager: LTP export index, version selection, interval search, keywords."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from stix_lib.soop import IntervalIndex, SoopFileError, SoopManager


def _obs(name: str, obs_type: str, soc_ids: list[str], start: str, end: str, experiment: str = "STIX") -> dict:
    return {
        "name": name,
        "experiment": experiment,
        "socIds": soc_ids,
        "compositeId": {"obsType": obs_type, "instrument": "SSTX"},
        "comment": "",
        "startDate": start,
        "endDate": end,
    }


def _soop(name: str, code: str, start: str, end: str) -> dict:
    return {
        "soopType": name,
        "encodedSoopType": code,
        "soopInstanceId": f"{code}_1",
        "startDate": start,
        "endDate": end,
    }


def _write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def soop_dir(tmp_path: Path) -> Path:
    """Two plans: LTP01 in versions 1 and 2 (2 wins), LTP02 with its SOOP list in a ``*.all.json``."""
    root = tmp_path / "from_soc"
    _write(
        root / "SSTX_observation_timeline_export_M01_V01.json",
        {
            "info": {"name": "LTP01", "internalVersion": 1},
            "observations": [
                _obs("STIX_BASIC", "OLD1", ["SSTX_OLD_1"], "2021-01-01T00:00:00Z", "2021-03-01T00:00:00Z")
            ],
            "soops": [_soop("OLD_SOOP", "OLD", "2021-01-01T00:00:00Z", "2021-03-01T00:00:00Z")],
        },
    )
    _write(
        root / "SSTX_observation_timeline_export_M01_V02.json",
        {
            "info": {"name": "LTP01", "internalVersion": 2},
            "observations": [
                _obs(
                    "STIX_BASIC", "5Md2", ["SSTX_040A_000_000_5Md2_112"], "2021-01-01T00:00:00Z", "2021-02-01T00:00:00Z"
                ),
                _obs(
                    "STIX_ANALYSIS",
                    "vFLg",
                    ["SSTX_040A_000_000_vFLg_11Y"],
                    "2021-01-10T00:00:00Z",
                    "2021-01-10T06:00:00Z",
                ),
                _obs(
                    "STIX_BASIC", "5Md2", ["SSTX_040A_000_000_5Md2_113"], "2021-02-01T00:00:00Z", "2021-03-01T00:00:00Z"
                ),
                _obs("EUI_FULL", "xxxx", ["SEUI_1"], "2021-01-01T00:00:00Z", "2021-03-01T00:00:00Z", experiment="EUI"),
            ],
            "soops": [_soop("L_FULL_HRES_HCAD_Eruption-Watch", "LF2", "2021-01-09T00:00:00Z", "2021-01-12T00:00:00Z")],
        },
    )
    sub = root / "plans" / "2021"
    _write(
        sub / "SSTX_observation_timeline_export_M02_V01.json",
        {
            "info": {"name": "LTP02", "internalVersion": 7},
            "observations": [
                _obs("STIX_BASIC", "aaaa", ["SSTX_B_1"], "2021-06-01T00:00:00+00:00", "2021-06-02T00:00:00+00:00")
            ],
        },
    )
    _write(
        sub / "LTP02.7.all.json",
        {
            "soops": [
                _soop("R_SMALL_MRES_MCAD_AR-Long-Term", "RS1", "2021-06-01T00:00:00Z", "2021-06-01T12:00:00Z"),
                _soop("R_BOTH_HRES_HCAD_Major-Flare", "RB1", "2021-06-01T06:00:00Z", "2021-06-03T00:00:00Z"),
            ]
        },
    )
    return root


def _as_dict(cards: list[tuple[str, str, str]]) -> dict[str, str]:
    return {key: value for key, value, _ in cards}


def test_index_keeps_highest_internal_version_per_plan(soop_dir: Path) -> None:
    manager = SoopManager(soop_dir)
    assert {name: entry.version for name, entry in manager.plans.items()} == {"LTP01": 2, "LTP02": 7}
    assert manager.plans["LTP01"].path.name.endswith("M01_V02.json")
    # STIX observations only: 3 of LTP01 v2 (EUI entry dropped) + 1 of LTP02
    assert manager.observation_count == 4
    assert manager.soop_count == 3
    assert manager.plans["LTP02"].soop_source is not None
    # the superseded version contributes nothing
    assert manager.find_observations("2021-01-15T00:00:00Z")[0].obs_type == "5Md2"
    assert not any(o.obs_type == "OLD1" for o in manager.find_observations("2021-01-01", "2021-12-31"))


def test_find_point_range_and_mode(soop_dir: Path) -> None:
    manager = SoopManager(soop_dir)
    point = manager.find_observations(datetime(2021, 1, 10, 3, tzinfo=UTC))
    assert sorted(o.name for o in point) == ["STIX_ANALYSIS", "STIX_BASIC"]
    assert [o.name for o in manager.find_observations("2021-01-10T03:00:00", mode="STIX_BASIC")] == ["STIX_BASIC"]
    # a range touching two consecutive observations returns both (closed bounds)
    around_switch = manager.find_observations("2021-01-31T23:00:00Z", "2021-02-01T00:00:00Z")
    assert sorted(i for o in around_switch for i in o.soc_ids) == [
        "SSTX_040A_000_000_5Md2_112",
        "SSTX_040A_000_000_5Md2_113",
    ]
    assert manager.find_observations("2020-06-01T00:00:00Z", "2020-07-01T00:00:00Z") == []


def test_keywords_join_sorted_distinct_values(soop_dir: Path) -> None:
    manager = SoopManager(soop_dir)
    cards = manager.keywords(datetime(2021, 1, 10), datetime(2021, 1, 11))
    assert [key for key, _, _ in cards] == ["OBS_MODE", "OBS_TYPE", "OBS_ID", "SOOPNAME", "SOOPTYPE", "TARGET"]
    assert all(comment for _, _, comment in cards)
    assert _as_dict(cards) == {
        "OBS_MODE": "STIX_ANALYSIS;STIX_BASIC",
        "OBS_TYPE": "5Md2;vFLg",
        "OBS_ID": "SSTX_040A_000_000_5Md2_112;SSTX_040A_000_000_vFLg_11Y",
        "SOOPNAME": "L_FULL_HRES_HCAD_Eruption-Watch",
        "SOOPTYPE": "LF2",
        "TARGET": "none",
    }


def test_keywords_use_soop_list_from_all_json(soop_dir: Path) -> None:
    manager = SoopManager(soop_dir)
    values = _as_dict(manager.keywords("2021-06-01T05:00:00Z", "2021-06-01T07:00:00Z"))
    assert values["SOOPNAME"] == "R_BOTH_HRES_HCAD_Major-Flare;R_SMALL_MRES_MCAD_AR-Long-Term"
    assert values["SOOPTYPE"] == "RB1;RS1"
    assert values["OBS_ID"] == "SSTX_B_1"
    # only the second SOOP overlaps later in the day
    assert _as_dict(manager.keywords("2021-06-01T13:00:00Z", "2021-06-01T14:00:00Z"))["SOOPTYPE"] == "RB1"


def test_keywords_accept_astropy_time(soop_dir: Path) -> None:
    from astropy.time import Time

    manager = SoopManager(soop_dir)
    values = _as_dict(manager.keywords(Time("2021-01-10T01:00:00"), Time("2021-01-10T02:00:00")))
    assert values["OBS_TYPE"] == "5Md2;vFLg"


def test_no_match_gives_none_everywhere(soop_dir: Path) -> None:
    cards = SoopManager(soop_dir).keywords("2019-01-01T00:00:00Z", "2019-01-02T00:00:00Z")
    assert {value for _, value, _ in cards} == {"none"}


def test_missing_folder_is_empty_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="stix_lib.soop.manager"):
        manager = SoopManager(tmp_path / "nope")
    assert manager.observation_count == 0
    assert {value for _, value, _ in manager.keywords("2021-01-01", "2021-01-02")} == {"none"}
    assert "does not exist" in caplog.text and str(tmp_path / "nope") in caplog.text


def test_missing_soop_list_warns_once_and_keeps_observations(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(
        tmp_path / "SSTX_observation_timeline_export_X.json",
        {
            "info": {"name": "LTP05", "internalVersion": 1},
            "observations": [_obs("STIX_BASIC", "t1", ["ID1"], "2022-01-01T00:00:00Z", "2022-01-02T00:00:00Z")],
        },
    )
    with caplog.at_level(logging.WARNING, logger="stix_lib.soop.manager"):
        manager = SoopManager(tmp_path)
    assert caplog.text.count("LTP05.1.all.json") == 1
    values = _as_dict(manager.keywords("2022-01-01T10:00:00Z", "2022-01-01T11:00:00Z"))
    assert values["OBS_ID"] == "ID1" and values["SOOPNAME"] == "none"


def test_corrupt_file_is_skipped_with_a_named_error(soop_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = soop_dir / "SSTX_observation_timeline_export_M09_V01.json"
    bad.write_text("{not json", encoding="utf-8")
    broken = _write(
        soop_dir / "SSTX_observation_timeline_export_M10_V01.json",
        {"info": {"name": "LTP10", "internalVersion": 1}, "observations": [{"name": "STIX_BASIC"}]},
    )
    with caplog.at_level(logging.ERROR, logger="stix_lib.soop.manager"):
        manager = SoopManager(soop_dir)
    assert set(manager.plans) == {"LTP01", "LTP02"}
    assert f"{bad}: not valid JSON" in caplog.text
    assert f"{broken}: observations[0]" in caplog.text


def test_add_file_activates_a_newer_version_only(soop_dir: Path) -> None:
    manager = SoopManager(soop_dir)
    newer = _write(
        soop_dir / "incoming" / "SSTX_observation_timeline_export_M01_V03.json",
        {
            "info": {"name": "LTP01", "internalVersion": 3},
            "observations": [_obs("STIX_BASIC", "NEW3", ["SSTX_NEW"], "2021-01-01T00:00:00Z", "2021-03-01T00:00:00Z")],
        },
    )
    assert manager.add_file(newer) is True
    assert _as_dict(manager.keywords("2021-01-15", "2021-01-16"))["OBS_TYPE"] == "NEW3"
    older = _write(
        soop_dir / "SSTX_observation_timeline_export_M01_V00.json",
        {"info": {"name": "LTP01", "internalVersion": 0}, "observations": []},
    )
    assert manager.add_file(older) is False
    assert manager.plans["LTP01"].version == 3
    with pytest.raises(SoopFileError, match="not an SSTX_observation_timeline_export"):
        manager.add_file(soop_dir / "other.json")


def test_from_settings_defaults_to_from_soc_dir(settings, soop_dir: Path) -> None:
    import shutil

    shutil.copytree(soop_dir, settings.from_soc_dir, dirs_exist_ok=True)
    manager = SoopManager.from_settings(settings)
    assert manager.soop_dir == settings.from_soc_dir
    assert set(manager.plans) == {"LTP01", "LTP02"}
    assert SoopManager.from_settings(settings, soop_dir=soop_dir / "plans").plans.keys() == {"LTP02"}


def test_interval_index_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    base = np.datetime64("2021-01-01T00:00:00", "ms")
    starts = base + rng.integers(0, 10_000, 300).astype("timedelta64[s]")
    ends = starts + rng.integers(0, 2_000, 300).astype("timedelta64[s]")
    index = IntervalIndex(list(starts), list(ends), list(range(300)))
    for _ in range(200):
        lo = base + np.timedelta64(int(rng.integers(-500, 12_000)), "s")
        hi = lo + np.timedelta64(int(rng.integers(0, 800)), "s")
        expected = {i for i in range(300) if starts[i] <= hi and ends[i] >= lo}
        assert set(index.overlapping(lo, hi)) == expected
        point = {i for i in range(300) if starts[i] <= lo <= ends[i]}
        assert set(index.overlapping(lo)) == point
