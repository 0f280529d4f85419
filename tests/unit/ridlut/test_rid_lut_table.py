"""RID LUT lookups (operations spec §7, §11 test_rid_lut_manager)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib.ridlut import DEFAULT_SCALING_FACTOR, RidLut, RidLutError
from tests.support.ridlut_support import HEADER


@pytest.fixture
def lut_file(tmp_path: Path) -> Path:
    path = tmp_path / "rid_lut.csv"
    path.write_text(
        HEADER + "\n"
        "1,1,2021-01-01T10:00:00,600,xray-cpd,subject,purpose1,1234,IOR1,r1\n"
        '2,2,2021-01-02T10:00:00,600,xray-cpd,subject2,"purpose, with comma",,IOR2,\n'
        "3,3,2021-01-03T10:00:00,600,xray-vis,s3a,p3a,7,IOR3,c3a\n"
        "4,3,2021-01-03T11:00:00,600,xray-vis,s3b,p3b,8,IOR4,c3b\n"
        "5,5,2021-01-04T10:00:00,600,xray-spec,s5,p5,abc,IOR5,\n"
    )
    return path


def test_get_reason(lut_file: Path) -> None:
    lut = RidLut.read(lut_file)
    assert len(lut) == 5
    assert lut.reason(1) == "subject, purpose1, r1"
    assert lut.reason(2) == "subject2, purpose, with comma"  # quoted field, empty comment left out


def test_get_reason_multi(lut_file: Path) -> None:
    assert RidLut.read(lut_file).reason(3) == "s3a, p3a, c3a s3b, p3b, c3b"


def test_unknown_rid_has_no_reason(lut_file: Path) -> None:
    lut = RidLut.read(lut_file)
    assert lut.reason(99) == ""
    assert 99 not in lut and 1 in lut


def test_get_scaling_factor(lut_file: Path) -> None:
    assert RidLut.read(lut_file).scaling_factor(1) == 1234


def test_empty_scaling_factor_is_default(lut_file: Path) -> None:
    assert RidLut.read(lut_file).scaling_factor(2) == DEFAULT_SCALING_FACTOR == 30


def test_get_scaling_factor_not_found(lut_file: Path) -> None:
    with pytest.raises(ValueError, match=r"^can't get scaling factor") as info:
        RidLut.read(lut_file).scaling_factor(4711)
    assert "4711" in str(info.value)


def test_get_scaling_factor_to_many(lut_file: Path) -> None:
    with pytest.raises(ValueError, match=r"can't get scaling factor for rid 3: 2 rows"):
        RidLut.read(lut_file).scaling_factor(3)


def test_scaling_factor_not_a_number(lut_file: Path) -> None:
    with pytest.raises(ValueError, match="not a number"):
        RidLut.read(lut_file).scaling_factor(5)


def test_not_a_lut(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(RidLutError, match="unique_id"):
        RidLut.read(path)
    with pytest.raises(FileNotFoundError):
        RidLut.read(tmp_path / "missing.csv")


def test_latest_start_date(lut_file: Path) -> None:
    assert RidLut.read(lut_file).latest_start_date() == "2021-01-04"
    assert RidLut().latest_start_date() is None
