"""L0/L1 file names, archive folders and complete/incomplete twins."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stix_lib.products.catalogue import NoProductError, product_spec
from stix_lib.products.l0_l1_names import (
    complete_name,
    incomplete_name,
    l0_directory,
    l0_file_name,
    l1_directory,
    l1_file_name,
    parse_product_name,
)


@pytest.mark.parametrize(
    ("key", "l0", "l1"),
    [
        ((3, 25, 1), "solo_L0_stix-hk-mini_0647913600_V02U.fits", "solo_L1_stix-hk-mini_20200616_V02U.fits"),
        ((3, 25, 2), "solo_L0_stix-hk-maxi_0647913600_V02U.fits", "solo_L1_stix-hk-maxi_20200616_V02U.fits"),
        (
            (21, 6, 30),
            "solo_L0_stix-ql-lightcurve_0647913600_V02U.fits",
            "solo_L1_stix-ql-lightcurve_20200616_V02U.fits",
        ),
        (
            (21, 6, 31),
            "solo_L0_stix-ql-background_0647913600_V02U.fits",
            "solo_L1_stix-ql-background_20200616_V02U.fits",
        ),
        ((21, 6, 32), "solo_L0_stix-ql-spectra_0647913600_V02U.fits", "solo_L1_stix-ql-spectra_20200616_V02U.fits"),
        ((21, 6, 33), "solo_L0_stix-ql-variance_0647913600_V02U.fits", "solo_L1_stix-ql-variance_20200616_V02U.fits"),
        ((21, 6, 34), "solo_L0_stix-ql-flareflag_0647913600_V02U.fits", "solo_L1_stix-ql-flareflag_20200616_V02U.fits"),
        ((21, 6, 41), "solo_L0_stix-cal-energy_0647913600_V03U.fits", "solo_L1_stix-cal-energy_20200616_V03U.fits"),
        (
            (21, 6, 43),
            "solo_L0_stix-ql-tmstatusflarelist_0647913600_V02U.fits",
            "solo_L1_stix-ql-ql-tmstatusflarelist_20200616_V02U.fits",
        ),
        ((5, 1, None), "solo_L0_stix-events-1_0647913600_V02.fits", "solo_L1_stix-events-1_20200616_V02.fits"),
        ((1, 7, None), "solo_L0_stix-tc-verify-7_0647913600_V02.fits", "solo_L1_stix-tc-verify-7_20200616_V02.fits"),
    ],
)
def test_names_match_the_archive_convention(key, l0: str, l1: str) -> None:
    spec = product_spec(*key)
    version = spec.effective_version(2)
    assert l0_file_name(spec, 647913600 // 86400, version) == l0
    assert l1_file_name(spec, date(2020, 6, 16), version) == l1


def test_directories(tmp_path: Path) -> None:
    lc = product_spec(21, 6, 30)
    assert l0_directory(tmp_path, lc) == tmp_path / "L0" / "21" / "6" / "30"
    assert l0_directory(tmp_path, product_spec(5, 1, None)) == tmp_path / "L0" / "5" / "1"
    assert l1_directory(tmp_path, lc, date(2021, 6, 28)) == tmp_path / "L1" / "2021" / "06" / "28" / "QL"
    assert l1_directory(tmp_path, product_spec(21, 6, 41), date(2021, 6, 28)).name == "CAL"
    assert l1_directory(tmp_path, product_spec(3, 25, 2), date(2021, 6, 28)).name == "HK"


def test_version_is_the_larger_of_product_and_configured() -> None:
    assert product_spec(21, 6, 41).effective_version(2) == 3
    assert product_spec(21, 6, 30).effective_version(2) == 2
    assert product_spec(21, 6, 41).effective_version(5) == 5


def test_twins() -> None:
    name = "solo_L1_stix-ql-lightcurve_20210116_V02U.fits"
    assert complete_name(name) == "solo_L1_stix-ql-lightcurve_20210116_V02.fits"
    assert incomplete_name(complete_name(name)) == name
    assert incomplete_name(name) == name
    assert complete_name("solo_L0_stix-events-1_0647913600_V02.fits") == "solo_L0_stix-events-1_0647913600_V02.fits"


def test_parse_product_name() -> None:
    parsed = parse_product_name("solo_L0_stix-cal-energy_0640137600_V03U.fits")
    assert parsed == {"level": "L0", "descriptor": "cal-energy", "date": "0640137600", "version": 3, "incomplete": True}
    with pytest.raises(ValueError):
        parse_product_name("solo_LB_stix-21-6-30_0664156800_V01.fits")


@pytest.mark.parametrize("key", [(3, 25, 4), (21, 6, 21), (21, 6, 42), (99, 1, None)])
def test_types_without_product(key) -> None:
    with pytest.raises(NoProductError):
        product_spec(*key)
