"""Value-by-value validation against the real reference products (issue 15, ``validate --reference``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from astropy.io import fits

from stix_lib.conf.energy_channels import ScienceEnergyChannels
from stix_lib.dev.simulate.reference import encode_reference
from stix_lib.idb import IDBManager
from stix_lib.pipeline import Pipeline
from stix_lib.products.writer import ProductWriter
from stix_lib.spice import SpiceKernels
from stix_lib.validate import ProductValidator

LC = "solo_L1_stix-ql-lightcurve_20200506_V01.fits"
HK = "solo_L1_stix-hk-maxi_20200501_V01.fits"


@pytest.fixture(scope="module")
def reference_dir(reference_data: Path) -> Path:
    return reference_data / "reference" / "l1"


@pytest.fixture(scope="module")
def validator(reference_dir: Path) -> ProductValidator:
    return ProductValidator(reference_dir, use_stixpy=False)


def _copy(reference_dir: Path, name: str, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(reference_dir / name, target / name)
    (target / name).chmod(0o644)
    return target / name


def test_reference_copy_compares_every_value(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    report = validator.validate(_copy(reference_dir, LC, tmp_path))
    assert report.ok, report.as_text()
    stats = report.values
    assert stats.rows_matched == stats.rows_reference == 21516 and stats.mismatches == 0
    assert stats.values > 21516 * 5  # counts of every row, and more


def test_one_changed_count_fails_naming_column_and_row(
    validator: ProductValidator, reference_dir: Path, tmp_path: Path
) -> None:
    path = _copy(reference_dir, LC, tmp_path)
    with fits.open(path, mode="update") as hdul:
        hdul["DATA"].data["counts"][1234, 2] += 1
    report = validator.validate(path)
    assert [f.code for f in report.errors] == ["value"]
    assert report.errors[0].message.startswith("DATA.counts: 1 of 21516 row(s) differ, first at reference row 1234")


def test_changed_control_value_fails(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    path = _copy(reference_dir, LC, tmp_path)
    with fits.open(path, mode="update") as hdul:
        hdul["CONTROL"].data["integration_time"][0] += 0.1
    report = validator.validate(path)
    assert {f.code for f in report.errors} == {"value"}
    assert report.errors[0].message.startswith("CONTROL.integration_time:")


def test_time_shifted_by_more_than_a_millisecond_fails(
    validator: ProductValidator, reference_dir: Path, tmp_path: Path
) -> None:
    path = _copy(reference_dir, HK, tmp_path)
    with fits.open(path, mode="update") as hdul:
        hdul["DATA"].data["time"][10] += 1  # 1 cs
    report = validator.validate(path)
    assert [f.code for f in report.errors] == ["rows"]
    assert "1 reference row(s) and 1 product row(s)" in report.errors[0].message


def test_products_of_another_period_are_not_value_compared(validator: ProductValidator, reference_dir: Path, tmp_path):
    path = _copy(reference_dir, HK, tmp_path)
    with fits.open(path, mode="update") as hdul:
        hdul[0].header["OBT_BEG"] = hdul[0].header["OBT_BEG"] + 10 * 86400
    report = validator.validate(path)
    assert report.ok and "values-skipped" in report.codes("info")


@pytest.fixture(scope="module")
def round_trip(reference_data: Path, reference_dir: Path, tmp_path_factory) -> dict:
    """Our L1 made from the re-encoded reference telemetry, validated against the reference."""
    idb_manager = IDBManager(reference_data / "idb")
    energy_channels = ScienceEnergyChannels(reference_data / "stix-conf")
    out = tmp_path_factory.mktemp("round-trip")
    encoding = encode_reference(reference_dir, out, reference_data / "idb")
    kernels = SpiceKernels(encoding.spice_dir, work_dir=out / "mk")
    writer = ProductWriter(out / "archive", energy_channels=energy_channels, kernels=kernels)
    Pipeline(writer, idb_manager).run(encoding.tm_files)
    kernels.unload()
    validator = ProductValidator(reference_dir, use_stixpy=False)
    reports = {}
    for path in sorted((out / "archive" / "L1").rglob("*.fits")):
        reports.setdefault(path.name.split("_")[2], []).append(validator.validate(path))
    return reports


ROUND_TRIP_EXACT = [
    "stix-hk-maxi",
    "stix-cal-energy",
    "stix-ql-lightcurve",
    "stix-ql-background",
    "stix-ql-variance",
    "stix-ql-flareflag",
    "stix-ql-spectra",
    "stix-ql-ql-tmstatusflarelist",
    # science requests: the re-encoding streams the time bins into packets as STIX does, so CONTROL
    # num_substructures and each bin's num_energy_groups come back too (issue 15 acceptance)
    "stix-sci-xray-rpd",
    "stix-sci-xray-cpd",
    "stix-sci-xray-scpd",
    "stix-sci-xray-spec",
]


@pytest.mark.parametrize("descriptor", ROUND_TRIP_EXACT)
def test_round_trip_values_equal_the_reference(round_trip: dict, descriptor: str) -> None:
    """The real reference -> telemetry -> our L1: every value as the reference (documented changes applied)."""
    reports = round_trip[descriptor]
    assert all(r.ok for r in reports), "\n".join(r.as_text() for r in reports)
    assert sum(r.values.values for r in reports) > 0 and not sum(r.values.mismatches for r in reports)
    if descriptor != "stix-ql-spectra":
        assert sum(r.values.rows_matched for r in reports) == max(r.values.rows_reference for r in reports)


def test_spectra_of_another_day_are_not_compared(reference_dir: Path, tmp_path: Path) -> None:
    """ql-spectra totals are compared only over a common time range (the demo's 2024 day is not 2020-05-06)."""
    from stix_lib.validate.report import FileReport
    from stix_lib.validate.values import compare_values

    name = "solo_L1_stix-ql-spectra_20200506_V01.fits"
    product = _copy(reference_dir, name, tmp_path)
    with fits.open(product, mode="update") as hdul:
        hdul[0].header["VERSION"] = "02"  # a current product ...
        hdul[0].header["OBT_BEG"] = float(hdul[0].header["OBT_BEG"]) + 4 * 365 * 86400.0  # ... of another day
        hdul["DATA"].data["spectra"][:] = 0
    report = FileReport(product)
    compare_values(report, product, reference_dir / name, "ql-spectra")
    assert report.ok and "values-skipped" in report.codes()
