"""``stix-pipeline validate``: reference files pass, renamed copies pass, broken copies fail clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.validate import ProductValidator, product_key, read_layout, rename_v01_error_columns

LC = "solo_L1_stix-ql-lightcurve_20200506_V01.fits"
VARIANCE = "solo_L1_stix-ql-variance_20200506_V01.fits"
FLAREFLAG = "solo_L1_stix-ql-flareflag_20200506_V01.fits"
CAL = "solo_L1_stix-cal-energy_20200506_V01.fits"
SPEC = "solo_L1_stix-sci-xray-spec_20200505T235959-20200506T000019_V01_0087031812-50886.fits"


@pytest.fixture(scope="module")
def reference_dir(reference_data: Path) -> Path:
    return reference_data / "reference" / "l1"


@pytest.fixture(scope="module")
def validator(reference_dir: Path) -> ProductValidator:
    return ProductValidator(reference_dir)


def _copy(reference_dir: Path, name: str, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    path = target / name
    shutil.copyfile(reference_dir / name, path)
    path.chmod(0o644)
    return path


def _rename_err_columns(path: Path) -> list[str]:
    renamed = rename_v01_error_columns(path)
    with fits.open(path) as hdul:
        names = hdul["DATA"].columns.names
        comments = "".join(str(c) for c in hdul["DATA"].header["COMMENT"])
    assert not [n for n in names if n.endswith("_err") and not n.endswith("_comp_err")]
    assert not [old for old in renamed if f"name: {old}" in comments]
    return renamed


def _rewrite_data(path: Path, edit) -> None:
    """Rebuild the DATA table with ``edit(coldefs, data) -> coldefs`` (keeps EXTNAME and position)."""
    with fits.open(path) as hdul:
        old = hdul["DATA"]
        new = fits.BinTableHDU.from_columns(edit(fits.ColDefs(old.columns), old.data), name="DATA")
        hdus = [hdu.copy() if hdu is not old else new for hdu in hdul]
    fits.HDUList(hdus).writeto(path, overwrite=True)


def test_reference_keys_and_keyword_count(reference_dir: Path) -> None:
    assert product_key(reference_dir / LC) == ("L1", "ql-lightcurve")
    # the V01 double "ql-ql" is normalised so current products find their reference
    assert product_key(reference_dir / "solo_L1_stix-ql-ql-tmstatusflarelist_20200506_V01.fits") == (
        "L1",
        "ql-tmstatusflarelist",
    )
    assert len(read_layout(reference_dir / LC).primary_keywords) == 68


def test_every_reference_validates_against_itself(validator: ProductValidator, reference_dir: Path) -> None:
    files = sorted(reference_dir.glob("solo_*.fits"))
    assert len(files) == 12
    reports = validator.validate_all(files)
    assert [r.errors for r in reports] == [[] for _ in files]
    assert all(r.reference == r.path for r in reports)
    # the QL time series only load through the *_err -> *_comp_err workaround, which is reported
    renamed = {r.path.name for r in reports if "v01-renamed" in r.codes("info")}
    assert renamed == {LC, VARIANCE, "solo_L1_stix-ql-background_20200506_V01.fits"}


@pytest.mark.parametrize("name", [LC, VARIANCE])
def test_comp_err_renamed_copy_passes_as_expected_rename(
    validator: ProductValidator, reference_dir: Path, tmp_path: Path, name: str
) -> None:
    path = _copy(reference_dir, name, tmp_path)
    renamed = _rename_err_columns(path)
    assert renamed
    report = validator.validate(path)
    assert report.ok, report.as_text()
    notes = [f.message for f in report.infos if f.code == "expected-rename"]
    assert len(notes) == len(renamed)
    assert any("counts_err" in n or "variance_err" in n for n in notes)
    # the renamed file is what stixpy 0.2.1 wants: loaded directly, no workaround
    assert "v01-renamed" not in report.codes()


def test_dropped_column_fails(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    path = _copy(reference_dir, LC, tmp_path)

    def drop(cols, data):
        cols.del_col("rcr")
        return cols

    _rewrite_data(path, drop)
    report = validator.validate(path)
    assert not report.ok
    assert [f.message for f in report.errors if f.code == "missing-column"] == ["DATA: column 'rcr' is missing"]


def test_changed_unit_fails(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    path = _copy(reference_dir, FLAREFLAG, tmp_path)
    with fits.open(path, mode="update") as hdul:
        hdul["DATA"].columns.change_unit("timedel", "s")
    report = validator.validate(path)
    assert report.codes("error") == {"unit"}
    assert report.errors[0].message == "DATA.timedel: unit 's' differs from reference 'cs'"


def test_equivalent_unit_spelling_passes(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    path = _copy(reference_dir, CAL, tmp_path)
    with fits.open(path, mode="update") as hdul:
        assert hdul["DATA"].columns["counts"].unit == "count"
        hdul["DATA"].columns.change_unit("counts", "ct")
    assert validator.validate(path).ok


def test_changed_dtype_fails(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    path = _copy(reference_dir, FLAREFLAG, tmp_path)

    def to_float(cols, data):
        values = data["loc_z"].astype("f4")
        cols.del_col("loc_z")
        cols.add_col(fits.Column(name="loc_z", format="E", array=values))
        return cols

    _rewrite_data(path, to_float)
    report = validator.validate(path)
    assert report.codes("error") == {"dtype"}
    assert "DATA.loc_z: dtype float32 (TFORM E) differs from reference int16 (TFORM I)" in report.errors[0].message


def test_missing_hdu_fails(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    path = _copy(reference_dir, FLAREFLAG, tmp_path)
    with fits.open(path) as hdul:
        kept = [hdu.copy() for hdu in hdul if hdu.name != "IDB_VERSIONS"]
    fits.HDUList(kept).writeto(path, overwrite=True)
    report = validator.validate(path)
    assert report.codes("error") == {"missing-hdu"}
    assert report.errors[0].message == "HDU IDB_VERSIONS is missing"


def test_missing_keyword_fails_and_extra_keyword_is_info(
    validator: ProductValidator, reference_dir: Path, tmp_path: Path
) -> None:
    path = _copy(reference_dir, FLAREFLAG, tmp_path)
    with fits.open(path, mode="update") as hdul:
        del hdul[0].header["OBS_MODE"]
        hdul[0].header["VERS_CFG"] = ("v1.0", "STIX-CONF version")
    report = validator.validate(path)
    assert [f.message for f in report.errors] == ["primary keyword OBS_MODE is missing"]
    assert [f.message for f in report.infos if f.code == "extra-keywords"] == [
        "primary keywords not in the reference: VERS_CFG"
    ]


def test_file_stixpy_cannot_load_fails(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    path = _copy(reference_dir, LC, tmp_path)
    _rename_err_columns(path)
    with fits.open(path, mode="update") as hdul:
        hdul[0].header["DATE-OBS"] = "not-a-date"
    report = validator.validate(path)
    # layout and keywords are still those of the reference: only stixpy fails
    assert report.codes("error") == {"stixpy-product", "stixpy-timeseries"}
    assert any(f.message.startswith("stixpy Product() cannot load the file: ValueError") for f in report.errors)


def test_unreadable_and_unknown_files_fail(validator: ProductValidator, reference_dir: Path, tmp_path: Path) -> None:
    truncated = tmp_path / LC
    truncated.write_bytes((reference_dir / LC).read_bytes()[:1000])
    report = validator.validate(truncated)
    assert report.codes("error") == {"unreadable"}
    assert str(truncated) in report.errors[0].message

    other = tmp_path / "solo_L1_stix-ql-newthing_20200506_V02.fits"
    shutil.copyfile(reference_dir / FLAREFLAG, other)
    report = validator.validate(other)
    assert "no-reference" in report.codes("error")
    assert "no L1 ql-newthing reference product" in report.errors[0].message


def test_cli_text_json_and_exit_codes(
    settings, reference_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stix_lib.cli.main import main

    good = _copy(reference_dir, FLAREFLAG, tmp_path / "good")
    bad = _copy(reference_dir, FLAREFLAG, tmp_path / "bad")
    with fits.open(bad, mode="update") as hdul:
        del hdul[0].header["TARGET"]

    assert main(["validate", str(good)]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out

    assert main(["validate", "--json", "--reference", str(reference_dir), str(good), str(bad)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    assert [f["ok"] for f in document["files"]] == [True, False]
    assert document["files"][1]["errors"] == [
        {"severity": "error", "code": "missing-keyword", "message": "primary keyword TARGET is missing"}
    ]

    assert main(["validate", "--reference", str(tmp_path / "none"), str(good)]) == 2
    assert "does not exist" in capsys.readouterr().out


def test_integer_width_and_known_v01_changes_are_info(reference_dir: Path, tmp_path: Path) -> None:
    layout_only = ProductValidator(reference_dir, use_stixpy=False)
    path = _copy(reference_dir, FLAREFLAG, tmp_path / "width")

    def narrower(cols, data):
        values = np.clip(data["control_index"], 0, 255).astype(np.uint8)
        wider = np.asarray(data["timedel"], dtype=np.uint64)
        cols.del_col("control_index")
        cols.del_col("timedel")
        cols.add_col(fits.Column(name="control_index", format="B", array=values))
        cols.add_col(fits.Column(name="timedel", format="K", bzero=2**63, unit="cs", array=wider))
        return cols

    _rewrite_data(path, narrower)
    report = layout_only.validate(path)
    assert report.ok, report.as_text()
    widths = sorted(f.message for f in report.infos if f.code == "int-width")
    assert len(widths) == 1 and widths[0].startswith(
        "DATA.timedel: dtype uint64 (TFORM K) differs from reference uint32"
    )

    cal = _copy(reference_dir, CAL, tmp_path / "cal")
    with fits.open(cal, mode="update") as hdul:
        hdul["CONTROL"].columns.change_unit("quiet_time", "us")
        hdul["CONTROL"].columns.change_unit("average_temperature", "deg_C")
    report = layout_only.validate(cal)
    assert [f.code for f in report.errors] == ["unit"]  # the temperature unit is no known change
    assert "CONTROL.average_temperature" in report.errors[0].message
    (change,) = [f.message for f in report.infos if f.code == "expected-change"]
    assert change.startswith("CONTROL.quiet_time: unit 'us' differs from reference 's': L1 unit fix")


def _rename_control(path: Path, old: str, new: str) -> None:
    from stix_lib.validate.v01 import rename_columns_in_hdu

    with fits.open(path, mode="update") as hdul:
        assert rename_columns_in_hdu(hdul["CONTROL"], {old: new}) == [old]


def test_science_energy_bin_edge_mask_is_an_expected_rename(reference_dir: Path, tmp_path: Path) -> None:
    layout_only = ProductValidator(reference_dir, use_stixpy=False)
    path = _copy(reference_dir, SPEC, tmp_path / "spec")
    _rename_control(path, "energy_bin_mask", "energy_bin_edge_mask")
    report = layout_only.validate(path)
    assert report.ok, report.as_text()
    assert "CONTROL: reference column 'energy_bin_mask' is 'energy_bin_edge_mask' (V01 rename)" in [
        f.message for f in report.infos if f.code == "expected-rename"
    ]


def test_variance_energy_bin_mask_is_not_renamed(reference_dir: Path, tmp_path: Path) -> None:
    from stix_lib.validate.v01 import V01_RENAMES

    # ql-variance has a 32-element energy_bin_mask in current products too: no rename, on read or compare
    assert "energy_bin_mask" not in V01_RENAMES
    layout_only = ProductValidator(reference_dir, use_stixpy=False)
    path = _copy(reference_dir, VARIANCE, tmp_path / "variance")
    _rename_control(path, "energy_bin_mask", "energy_bin_edge_mask")
    report = layout_only.validate(path)
    assert [f.message for f in report.errors] == ["CONTROL: column 'energy_bin_mask' is missing"]
