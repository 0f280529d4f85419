"""Acceptance: stixpy 0.2.1 reads every product we write; TimeSeries for LC, BKG, variance, HK maxi."""

from __future__ import annotations

import warnings

import pytest

DESCRIPTORS = [
    "ql-lightcurve",
    "ql-background",
    "ql-spectra",
    "ql-variance",
    "ql-flareflag",
    "cal-energy",
    "hk-maxi",
]
PRODUCT_CLASSES = {
    "ql-lightcurve": "QLLightCurve",
    "ql-background": "QLBackground",
    "ql-variance": "QLVariance",
    "ql-flareflag": "QLFlareFlag",
    "ql-ql-tmstatusflarelist": "QLTMStatusFlareList",
    "hk-maxi": "HKMaxi",
    "hk-mini": "HKMini",
    "ql-spectra": "GenericProduct",
    "cal-energy": "GenericProduct",
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("descriptor", sorted(PRODUCT_CLASSES))
def test_stixpy_product_reads_l1(descriptor: str, our_files: dict) -> None:
    from stixpy.product import Product

    product = Product(our_files["L1"][descriptor])
    assert type(product).__name__ == PRODUCT_CLASSES[descriptor]
    assert len(product.data) > 0 and len(product.control) > 0
    if not descriptor.startswith("hk"):
        assert len(product._energies) in (5, 32)  # ENERGIES extension read


@pytest.mark.parametrize("descriptor", [*DESCRIPTORS, "ql-tmstatusflarelist"])
def test_stixpy_product_reads_l0(descriptor: str, our_files: dict) -> None:
    from stixpy.product import Product

    product = Product(our_files["L0"][descriptor])
    assert type(product).__name__ == "GenericProduct" and len(product.data) > 0


@pytest.mark.parametrize(
    ("descriptor", "columns"),
    [
        ("ql-lightcurve", ["4-10 keV", "10-15 keV", "15-25 keV", "25-50 keV", "50-150 keV"]),
        ("ql-background", ["4-10 keV", "50-150 keV"]),
        ("ql-variance", ["4-20 keV", "4-20 keV_comp_err"]),
        ("hk-maxi", ["hk_dpu_pcb_t", "instrument_mode"]),
    ],
)
def test_stixpy_timeseries(descriptor: str, columns: list[str], our_files: dict) -> None:
    import stixpy.timeseries  # noqa: F401 - registers the STIX sources
    from sunpy.timeseries import TimeSeries

    path = our_files["L1"][descriptor]
    series = TimeSeries(path)
    assert all(c in series.columns for c in columns)
    assert len(series.to_dataframe()) > 0


def test_stixpy_flare_flag_api(our_files: dict) -> None:
    from stixpy.product import Product

    flags = Product(our_files["L1"]["ql-flareflag"])
    assert len(flags.thermal_index) == len(flags.data)
    assert len(flags.location_flag) == len(flags.data)
