"""Product names: complete/incomplete (U) forms, version regex, ESA names, supplements (processing spec §6.1, §4.8)."""

from __future__ import annotations

import pytest

from stix_lib.publish.product_name import (
    VERSION_REGEX,
    ProductName,
    ProductNameError,
    complete_name,
    incomplete_name,
    is_incomplete_name,
)

DAILY_U = "solo_L1_stix-ql-lightcurve_20200506_V02U.fits"
DAILY = "solo_L1_stix-ql-lightcurve_20200506_V02.fits"
BSD = "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V02_0087031809-50883.fits"
L0_U = "solo_L0_stix-sci-xray-cpd_0688454771-0688455372_V02U_2110250007-65280.fits"
PLOT = "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg"


@pytest.mark.parametrize(
    ("incomplete", "complete"),
    [
        (DAILY_U, DAILY),
        (L0_U, "solo_L0_stix-sci-xray-cpd_0688454771-0688455372_V02_2110250007-65280.fits"),
        ("solo_ANC_stix-asp-ephemeris_20200506_V12U.fits", "solo_ANC_stix-asp-ephemeris_20200506_V12.fits"),
    ],
)
def test_complete_and_incomplete_names(incomplete: str, complete: str) -> None:
    assert is_incomplete_name(incomplete) and not is_incomplete_name(complete)
    assert complete_name(incomplete) == complete
    assert complete_name(complete) == complete
    assert incomplete_name(complete) == incomplete
    assert incomplete_name(incomplete) == incomplete


def test_u_elsewhere_in_the_name_is_not_a_status() -> None:
    name = "solo_L1_stix-hk-maxiU_20200506_V02.fits"
    assert not is_incomplete_name(name) and complete_name(name) == name


def test_version_regex_groups_ignore_status() -> None:
    a, b = VERSION_REGEX.match(DAILY_U), VERSION_REGEX.match("solo_L1_stix-ql-lightcurve_20200506_V03.fits")
    assert (a[1], a[3]) == (b[1], b[3]) and (int(a[2]), int(b[2])) == (2, 3)


def test_parse_parts() -> None:
    bsd = ProductName.parse(BSD)
    assert (bsd.level, bsd.descriptor, bsd.product, bsd.version, bsd.status) == (
        "L1",
        "stix-sci-xray-cpd",
        "sci",
        2,
        "",
    )
    assert bsd.request == "0087031809-50883" and bsd.rid == 87031809 and bsd.is_fits
    assert bsd.esa_name == "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V02"
    daily = ProductName.parse(DAILY_U)
    assert daily.incomplete and daily.rid is None and daily.esa_name == DAILY[:-5]
    assert daily.complete().name == DAILY
    plot = ProductName.parse(PLOT)
    assert plot.status == "C" and plot.version == 2 and not plot.is_fits and plot.product == "ql"
    assert plot.esa_name.endswith("_V02")  # status letters are not part of the ESA name


def test_supplement_names() -> None:
    bsd = ProductName.parse(BSD)
    sup = bsd.supplement(1)
    assert sup.name == "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V02_0087031809-50883.fits"
    assert sup.modified_esa_name == "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V02.fits"
    assert sup.esa_name != bsd.esa_name and sup.rid == bsd.rid
    with pytest.raises(ValueError):
        bsd.supplement(0)


@pytest.mark.parametrize(
    "name",
    [
        "solo_L1_stix-ql-lightcurve_V02.fits",
        "solo_L1_stix-ql_20200506_02.fits",
        "solo__x_y_V01.fits",
        "a/b_c_d_e_V01.fits",
    ],
)
def test_malformed_names(name: str) -> None:
    with pytest.raises(ProductNameError):
        ProductName.parse(name)
    assert issubclass(ProductNameError, ValueError)
