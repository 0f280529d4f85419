"""U → complete in the archive: ephemeris from flown kernels only, FILENAME, atomic header rewrites (spec §6.4.2)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from astropy.io import fits

from stix_lib.publish.ephemeris import ExplicitMetaKernel, finalize_incomplete, flown_kernels
from stix_lib.publish.fitsedit import begin_time, data_identical, rewrite_fits
from tests.support.publish_support import FLOWN_MK, PRED_MK, data_counts, days_ago, write_product, write_svg

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
#: DSUN_OBS of the reference L1 light curve of 2020-05-06 (computed by STIXCore with flown kernels).
REFERENCE_DSUN = 105034173444.28


def _data_bytes(path: Path) -> bytes:
    with fits.open(path) as hdul:
        info = hdul["DATA"].fileinfo()
    with path.open("rb") as handle:
        handle.seek(info["datLoc"])
        return handle.read(info["datSpan"])


def _verified_header(path: Path) -> fits.Header:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a wrong CHECKSUM/DATASUM is an astropy warning
        with fits.open(path, checksum=True) as hdul:
            hdul["DATA"].data  # noqa: B018 - read the data to verify DATASUM
            return hdul[0].header.copy()


def test_rewrite_edits_headers_and_keeps_data_bytes(tmp_path: Path) -> None:
    source = write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200506_V02.fits", counts=(1.5, 2.5))
    target = tmp_path / "copy.fits"
    rewrite_fits(source, target, lambda hdul: hdul[0].header.add_comment("hello"))
    assert _data_bytes(target) == _data_bytes(source)
    header = _verified_header(target)
    assert "hello" in str(header["COMMENT"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.fits", source.name]  # no temp left


def test_rewrite_failure_leaves_the_target_alone(tmp_path: Path) -> None:
    source = write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200506_V02.fits")
    before = source.read_bytes()

    def broken(hdul: fits.HDUList) -> None:
        raise RuntimeError("edit failed")

    with pytest.raises(RuntimeError):
        rewrite_fits(source, source, broken)
    assert source.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [source.name]


def test_begin_time_forms() -> None:
    assert begin_time(fits.Header({"DATE-BEG": "2020-05-05T23:59:59.531"})) == datetime(
        2020, 5, 5, 23, 59, 59, 531000, tzinfo=UTC
    )
    obt = begin_time(fits.Header({"DATE-BEG": "0642038387:13107", "OBT_BEG": "0642038387:13107"}))
    assert abs((obt - datetime(2020, 5, 5, 23, 59, 59, tzinfo=UTC)).total_seconds()) < 60  # ~SCET epoch + s
    assert begin_time(fits.Header({"OBT_BEG": 642038387.2})) == obt.replace(microsecond=200000)
    unsynchronised = begin_time(fits.Header({"OBT_BEG": float(2**31 + 10)}))
    assert unsynchronised.year == 2068
    assert begin_time(fits.Header({"DATE-BEG": "soon"})) is None


def test_data_identical(tmp_path: Path) -> None:
    name = "solo_L1_stix-ql-lightcurve_20200506_V02.fits"
    a = write_product(tmp_path / "a", name, counts=(1, 2))
    b = write_product(tmp_path / "b", name, counts=(1, 2), created=days_ago(1))  # other header, same data
    c = write_product(tmp_path / "c", name, counts=(1, 3))
    assert data_identical(a, b) and not data_identical(a, c)
    fits.PrimaryHDU().writeto(tmp_path / "empty.fits")
    with pytest.raises(KeyError):
        data_identical(a, tmp_path / "empty.fits")


def test_l1_ephemeris_from_flown_kernels_only(tmp_path: Path, kernel_dir: Path, clean_spice) -> None:
    folder = tmp_path / "L1" / "2020" / "05" / "06" / "QL"
    incomplete = write_product(folder, "solo_L1_stix-ql-lightcurve_20200506_V02U.fits", counts=(7, 8))
    twin = write_product(folder, "solo_L1_stix-ql-lightcurve_20200506_V02.fits", counts=(1,))  # older complete twin
    kernels = flown_kernels(kernel_dir, work_dir=tmp_path / "spice-work")

    final = finalize_incomplete(incomplete, NOW, lambda: kernels.load())

    assert final == twin and not incomplete.exists() and data_counts(final) == [7, 8]  # newest data won
    header = _verified_header(final)
    assert header["SPICE_MK"] == FLOWN_MK  # was "pred, flown"
    assert "SPICE_ER" not in header  # the stale error flag is gone
    assert header["FILENAME"] == final.name
    assert header["DSUN_OBS"] == pytest.approx(REFERENCE_DSUN, rel=2e-5)
    assert header["HGLN_OBS"] != 99.0 and header["RSUN_ARC"] > 1000
    history = "".join(str(line) for line in header["HISTORY"])  # long notes span several cards
    assert f"updated ephemeris header with flown kernel {FLOWN_MK} at 2026-01-02T03:04:05.000" in history
    assert sorted(p.name for p in folder.iterdir()) == [final.name]


def test_explicit_meta_kernel(tmp_path: Path, kernel_dir: Path, clean_spice) -> None:
    """``-S`` works (STIXCore passed a bare path where tuples were expected)."""
    path = write_product(tmp_path, "solo_ANC_stix-asp-ephemeris_20200506_V02U.fits")
    chosen = ExplicitMetaKernel(kernel_dir / "mk" / PRED_MK, tmp_path / "spice-work")
    final = finalize_incomplete(path, NOW, lambda: chosen.load())
    assert fits.getval(final, "SPICE_MK") == PRED_MK and fits.getval(final, "DSUN_OBS") > 1e11
    with pytest.raises(FileNotFoundError):
        ExplicitMetaKernel(tmp_path / "missing.tm")


def test_l0_gets_its_filename_fixed_without_kernels(tmp_path: Path) -> None:
    path = write_product(tmp_path, "solo_L0_stix-ql-lightcurve_0642038400_V02U.fits", spice_mk=None)
    final = finalize_incomplete(path, NOW)  # no kernels needed
    header = _verified_header(final)
    assert final.name == "solo_L0_stix-ql-lightcurve_0642038400_V02.fits" and header["FILENAME"] == final.name
    assert "SPICE_MK" not in header


def test_ephemeris_levels_need_kernels(tmp_path: Path) -> None:
    path = write_product(tmp_path, "solo_L2_stix-ql-lightcurve_20200506_V02U.fits")
    with pytest.raises(ValueError, match="needs SPICE kernels"):
        finalize_incomplete(path, NOW)
    assert path.exists()
    with pytest.raises(ValueError, match="not an incomplete"):
        finalize_incomplete(write_product(tmp_path, "solo_L2_stix-ql-lightcurve_20200507_V02.fits"), NOW)


def test_svg_is_renamed(tmp_path: Path) -> None:
    path = write_svg(tmp_path, "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02U.svg")
    content = path.read_bytes()
    final = finalize_incomplete(path, NOW)
    assert final.name.endswith("_V02.svg") and final.read_bytes() == content and not path.exists()
