"""Candidate selection: filters, waiting periods, history, batch size, U twins, blacklist file (spec §6.2)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from stix_lib.publish.publish_history import DeliveryStatus, HistoryRow, PublishResult
from stix_lib.publish.selection import (
    SelectionFilters,
    parse_list,
    parse_versions,
    read_blacklist,
    select_candidates,
)
from tests.support.publish_support import days_ago, write_product, write_svg

ALL = SelectionFilters.from_strings("*", "*", "*")


def _select(root: Path, filters: SelectionFilters = ALL, history=None, **kwargs):
    options = {"waiting_period": timedelta(days=7), "ll_waiting_period": timedelta(minutes=1)} | kwargs
    # "now" is taken at selection time: a module-level clock goes stale when the suite runs long
    return select_candidates(root, filters, history or {}, days_ago(0).timestamp(), **options)


def _names(selection) -> list[str]:
    return [c.path.name for c in selection.candidates]


def _row(name: str, status: DeliveryStatus, result: PublishResult | None) -> HistoryRow:
    return HistoryRow(1, name, "/x", 1, 0.0, 0.0, name[:-5], status=status, result=result)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "fits"
    write_product(root / "L0", "solo_L0_stix-hk-maxi_0642038400_V02.fits", spice_mk=None)
    write_product(root / "L1", "solo_L1_stix-ql-lightcurve_20200506_V02.fits")
    write_product(root / "L1", "solo_L1_stix-ql-lightcurve_20200507_V01.fits")
    write_product(root / "L1", "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V02_0087031809-50883.fits")
    write_product(root / "L1", "solo_L1_stix-hk-maxi_20200506_V03U.fits")
    write_product(root / "ANC", "solo_ANC_stix-asp-ephemeris_20200506_V02U.fits")
    write_product(root / "L2", "solo_L2_stix-other-thing_20200506_V02.fits")
    write_svg(root / "LL03", "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg")
    return root


def test_parse_filters() -> None:
    assert parse_list("L0, l1 ,LL03") == {"l0", "l1", "ll03"} and parse_list("*") is None
    assert parse_versions("V01,2, v3") == {1, 2, 3} and parse_versions("*") is None
    with pytest.raises(ValueError, match="not a version"):
        parse_versions("V0x")


def test_default_filters(archive: Path) -> None:
    names = _names(_select(archive, SelectionFilters()))
    assert "solo_L2_stix-other-thing_20200506_V02.fits" not in names  # product group 'other'
    assert len(names) == 7


def test_level_filter_is_case_insensitive(archive: Path) -> None:
    names = _names(_select(archive, SelectionFilters.from_strings("l0,Ll03", "*", "*")))
    assert names == [
        "solo_L0_stix-hk-maxi_0642038400_V02.fits",
        "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg",
    ]


def test_product_filter_and_star(archive: Path) -> None:
    selection = _select(archive, SelectionFilters.from_strings("*", "asp, sci", "*"))
    assert {c.name.product for c in selection.candidates} == {"asp", "sci"}
    assert len(_select(archive, SelectionFilters.from_strings("*", "*", "*")).candidates) == 8  # '-p *' works


def test_version_filter_handles_incomplete_names(archive: Path) -> None:
    names = _names(_select(archive, SelectionFilters.from_strings("*", "*", "V03")))
    assert names == ["solo_L1_stix-hk-maxi_20200506_V03U.fits"]  # STIXCore crashed on int('03u')
    assert len(_names(_select(archive, SelectionFilters.from_strings("*", "*", "1,2")))) == 7


def test_waiting_periods(tmp_path: Path) -> None:
    write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200506_V02.fits", created=days_ago(6))
    write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200507_V02.fits", created=days_ago(8))
    write_svg(tmp_path, "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg", mtime=days_ago(0.01))
    selection = _select(tmp_path)
    assert _names(selection) == [
        "solo_L1_stix-ql-lightcurve_20200507_V02.fits",
        "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg",  # 14 min > 1 min (LL)
    ]
    assert selection.waiting == 1
    assert len(_select(tmp_path, waiting_period=timedelta(0)).candidates) == 3
    assert _select(tmp_path, ll_waiting_period=timedelta(hours=1)).waiting == 2


def test_history_final_rows_are_skipped_and_unfinished_rows_offered(archive: Path) -> None:
    history = {
        "solo_L0_stix-hk-maxi_0642038400_V02.fits": _row("x", DeliveryStatus.DONE, PublishResult.PUBLISHED),
        "solo_L1_stix-ql-lightcurve_20200506_V02.fits": _row("x", DeliveryStatus.DONE, PublishResult.BLACKLISTED),
        "solo_L1_stix-ql-lightcurve_20200507_V01.fits": _row("x", DeliveryStatus.FAILED, PublishResult.ERROR),
        # the complete name of a U file is final: the U file is still offered (it may hold new data)
        "solo_L1_stix-hk-maxi_20200506_V03.fits": _row("x", DeliveryStatus.DONE, PublishResult.PUBLISHED),
    }
    names = _names(_select(archive, history=history))
    assert "solo_L0_stix-hk-maxi_0642038400_V02.fits" not in names
    assert "solo_L1_stix-ql-lightcurve_20200506_V02.fits" not in names
    assert "solo_L1_stix-ql-lightcurve_20200507_V01.fits" in names
    assert "solo_L1_stix-hk-maxi_20200506_V03U.fits" in names


def test_batch_size_and_sort(archive: Path) -> None:
    assert _select(archive, batch_size=0).candidates == []
    first = _select(archive, batch_size=2)
    assert len(first.candidates) == 2 and first.scanned == 2
    names = _names(_select(archive, sort_files=True))
    assert names == sorted(names, key=lambda n: str(next(archive.rglob(n))))


def test_incomplete_twin_supersedes_the_complete_file(tmp_path: Path) -> None:
    complete = write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200506_V02.fits")
    write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200506_V02U.fits", counts=(9.0,))
    selection = _select(tmp_path)
    assert _names(selection) == ["solo_L1_stix-ql-lightcurve_20200506_V02U.fits"]
    assert selection.superseded == [complete]


def test_hidden_and_malformed_files(tmp_path: Path) -> None:
    write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200506_V02.fits")
    (tmp_path / ".solo_L1_stix-ql-lightcurve_20200507_V02.fits.part").write_bytes(b"partial")
    (tmp_path / ".tmp").mkdir()
    write_product(tmp_path / ".tmp", "solo_L1_stix-ql-lightcurve_20200508_V02.fits")
    write_product(tmp_path, "solo_L1_broken_V02.fits")
    (tmp_path / "notes.txt").write_text("x")
    selection = _select(tmp_path)
    assert _names(selection) == ["solo_L1_stix-ql-lightcurve_20200506_V02.fits"]
    assert len(selection.skipped) == 1 and "solo_L1_broken_V02.fits" in selection.skipped[0]


def test_read_blacklist(tmp_path: Path) -> None:
    path = tmp_path / "blacklist.txt"
    path.write_text("solo_L1_a_b_V01.fits\n\n x\n# a comment\n  solo_L1_c_d_V02.fits  \n")
    assert read_blacklist(path) == {"solo_L1_a_b_V01.fits", "solo_L1_c_d_V02.fits"}
    with pytest.raises(OSError):
        read_blacklist(tmp_path / "missing.txt")
