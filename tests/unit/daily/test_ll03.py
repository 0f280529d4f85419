"""LL03 quick-look light-curve plots: output files, reproducible SVG, RCR overlay, daily gates."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.daily import LightCurveError, LL03Step, ll03_due, ll03_paths, load_lightcurve
from stix_lib.daily.ll03_names import ll03_stem
from stix_lib.daily.ll03_plot import draw_figure

LC = "solo_L1_stix-ql-lightcurve_20200506_V01.fits"
DAY = date(2020, 5, 6)
DATA_END = datetime(2020, 5, 6, 23, 59, 59, 688000, tzinfo=UTC)
BANDS = ["4-10 keV", "10-15 keV", "15-25 keV", "25-50 keV", "50-150 keV"]


@pytest.fixture
def lc_copy(reference_data: Path, tmp_path: Path) -> Path:
    """A writable copy of the reference L1 light curve (V01 ``*_err`` names kept)."""
    folder = tmp_path / "L1" / "2020" / "05" / "06" / "QL"
    folder.mkdir(parents=True)
    path = folder / LC
    shutil.copyfile(reference_data / "reference" / "l1" / LC, path)
    path.chmod(0o644)
    return path


def _set_header(path: Path, **values: str) -> None:
    with fits.open(path, mode="update") as hdul:
        for key, value in values.items():
            hdul[0].header[key.replace("_", "-") if key.startswith("DATE_") else key] = value


def _comments(svg: Path) -> list[str]:
    import re

    return re.findall(r"<!-- (.*?) -->", svg.read_text(encoding="utf-8"))


def test_name_and_location(tmp_path: Path) -> None:
    svg, png = ll03_paths(tmp_path, DAY, 2)
    assert svg == tmp_path / "LL03/2020/05/06/QL/solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg"
    assert png == svg.with_suffix(".png")
    assert ll03_stem(date(2021, 12, 31), 3).endswith("_20211231T000000-20211231T235959_V03C")


def test_render_writes_svg_and_png(settings, lc_copy: Path) -> None:
    written = LL03Step(settings).render(lc_copy)
    svg, png = ll03_paths(settings.fits_archive_dir, DAY, settings.processing_version)
    assert written == [svg, png]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    assert imread(png).shape[:2] == (600, 1200)
    texts = _comments(svg)
    for expected in [*BANDS, "Energy bands", "Time (UTC) on 2020-05-06", "Count rate [ct / (keV s)]"]:
        assert expected in texts
    assert "STIX quick-look light curves 2020-05-06" in texts
    # RCR is 0 all day in this file: no twin axis
    assert not any("RCR" in t for t in texts)
    assert "<dc:source>solo_L1_stix-ql-lightcurve_20200506_V01.fits DATE=2022-03-22T11:14:37.818</dc:source>" in (
        svg.read_text(encoding="utf-8")
    )
    assert not list(svg.parent.glob(".*tmp"))


def test_svg_is_byte_identical_on_rerun(settings, lc_copy: Path, tmp_path: Path) -> None:
    step = LL03Step(settings)
    svg = step.render(lc_copy)[0]
    first = svg.read_bytes()
    other = LL03Step(settings.replace(fits_archive_dir=tmp_path / "other")).render(lc_copy)[0]
    assert other.read_bytes() == first
    step.render(lc_copy)
    assert svg.read_bytes() == first
    assert b"<dc:date>" not in first


def test_light_curve_values_match_stixpy_rates(lc_copy: Path) -> None:
    data = load_lightcurve(lc_copy)
    assert data.n_bins == 21516 and list(data.bands) == BANDS
    assert data.day == DAY and data.unit == "ct / (keV s)"
    assert data.times[0] == np.datetime64("2020-05-06T00:00:01.531")
    # rate = counts / (timedel * live fraction * band width): first band is 6 keV wide, 4 s bins
    with fits.open(lc_copy) as hdul:
        counts = hdul["DATA"].data["counts"][:, 0].astype(float)
    ratio = data.bands["4-10 keV"][counts > 0] / counts[counts > 0]
    assert np.all((ratio > 1 / 24) & (ratio < 1 / 24 / 0.8))


def test_rcr_overlay_on_twin_axis(settings, lc_copy: Path) -> None:
    with fits.open(lc_copy, mode="update") as hdul:
        rcr = hdul["DATA"].data["rcr"]
        rcr[10000:10500] = 1
        rcr[10200:10300] = 2
    data = load_lightcurve(lc_copy)
    assert data.rcr.max() == 2
    figure = draw_figure(data)
    main, twin = figure.axes
    assert twin.get_ylabel() == "Rate control regime (RCR)"
    assert main.get_yscale() == "log"
    assert [t.get_text() for t in main.get_legend().get_texts()] == [*BANDS, "RCR"]
    (rcr_line,) = twin.get_lines()
    assert np.nanmax(rcr_line.get_ydata()) == 2
    svg = LL03Step(settings).render(lc_copy)[0]
    assert "Rate control regime (RCR)" in _comments(svg)


def test_unreadable_input_names_the_file(tmp_path: Path, reference_data: Path) -> None:
    bad = tmp_path / LC
    bad.write_bytes(b"not fits")
    with pytest.raises(LightCurveError, match=str(bad)):
        load_lightcurve(bad)
    other = tmp_path / "solo_L1_stix-ql-lightcurve_20200506_V09.fits"
    shutil.copyfile(reference_data / "reference" / "l1" / "solo_L1_stix-ql-variance_20200506_V01.fits", other)
    with pytest.raises(LightCurveError, match="not QLLightCurve|cannot read"):
        load_lightcurve(other)


# -- gates ----------------------------------------------------------------------------------


def test_gate_incomplete_recent_day_is_not_due(lc_copy: Path, tmp_path: Path) -> None:
    _set_header(lc_copy, DATE="2020-05-07T01:00:00.000")
    due, reason = ll03_due(lc_copy, DATA_END + timedelta(days=2), archive_dir=tmp_path)
    assert due is False
    assert "incomplete day (21516 < 21540 bins)" in reason and "2.0 days old" in reason


def test_gate_old_incomplete_day_is_due(lc_copy: Path, tmp_path: Path) -> None:
    _set_header(lc_copy, DATE="2020-05-07T01:00:00.000")
    due, reason = ll03_due(lc_copy, DATA_END + timedelta(days=30), archive_dir=tmp_path)
    assert due is True and "is 30 days old" in reason
    assert ll03_due(lc_copy, DATA_END + timedelta(days=29, hours=23), archive_dir=tmp_path)[0] is False


def test_gate_complete_day_is_due_at_once(lc_copy: Path, tmp_path: Path) -> None:
    with fits.open(lc_copy) as hdul:
        data = hdul["DATA"]
        longer = fits.BinTableHDU.from_columns(data.columns, nrows=21540, header=data.header)
        hdus = [hdu.copy() if hdu is not data else longer for hdu in hdul]
    fits.HDUList(hdus).writeto(lc_copy, overwrite=True)
    _set_header(lc_copy, DATE="2020-05-07T01:00:00.000")
    due, reason = ll03_due(lc_copy, datetime(2020, 5, 7, 2), archive_dir=tmp_path)
    assert due is True and "complete day (21540 >= 21540 bins)" in reason


def test_gate_fresh_input_waits_for_the_cadence(lc_copy: Path, tmp_path: Path) -> None:
    _set_header(lc_copy, DATE="2020-07-01T00:00:00.000")
    now = datetime(2020, 7, 1, 0, 0, 0, 500000)
    due, reason = ll03_due(lc_copy, now, archive_dir=tmp_path)
    assert due is False and "less than 0:00:01 ago" in reason
    assert ll03_due(lc_copy, now + timedelta(seconds=1), archive_dir=tmp_path)[0] is True


def test_gate_only_latest_version(lc_copy: Path, tmp_path: Path) -> None:
    newer = lc_copy.with_name("solo_L1_stix-ql-lightcurve_20200506_V02U.fits")
    shutil.copyfile(lc_copy, newer)
    now = DATA_END + timedelta(days=365 * 3)
    due, reason = ll03_due(lc_copy, now, archive_dir=tmp_path)
    assert due is False and f"not the latest version ({newer.name} exists)" in reason
    assert ll03_due(lc_copy, now, archive_dir=tmp_path, latest_version_only=False)[0] is True
    assert ll03_due(newer, now, archive_dir=tmp_path)[0] is True


def test_gate_already_processed_until_input_is_rewritten(settings, lc_copy: Path) -> None:
    step = LL03Step(settings)
    now = datetime(2022, 6, 1, tzinfo=UTC)
    assert len(step(lc_copy, now)) == 2
    due, reason = step.due(lc_copy, now)
    assert due is False and "already processed into solo_LL03_stix-ql-lightcurve_20200506T000000" in reason
    assert step(lc_copy, now) == []
    # a rewritten input (newer DATE) makes it due again
    _set_header(lc_copy, DATE="2022-05-01T00:00:00.000")
    assert step.due(lc_copy, now)[0] is True


def test_gate_uses_the_given_history(lc_copy: Path, tmp_path: Path) -> None:
    calls: list[dict] = []

    class Recorder:
        def has_processed(self, **kwargs) -> bool:
            calls.append(kwargs)
            return True

    due, reason = ll03_due(lc_copy, datetime(2023, 1, 1), archive_dir=tmp_path, history=Recorder())
    assert due is False and "already processed" in reason
    (call,) = calls
    assert (call["name"], call["level"], call["product_type"], call["version"]) == ("lightcurve", "LL03", "ql", 2)
    assert call["in_path"] == lc_copy
    assert call["in_created"] == datetime(2022, 3, 22, 11, 14, 37, 818000, tzinfo=UTC)
    assert call["out_path"] == ll03_paths(tmp_path, DAY, 2)[0]


def test_comp_err_input_gives_the_same_plot(settings, lc_copy: Path, tmp_path: Path) -> None:
    from stix_lib.validate import rename_v01_error_columns

    from_v01 = LL03Step(settings).render(lc_copy)[0].read_bytes()
    renamed = tmp_path / "renamed" / LC
    renamed.parent.mkdir()
    shutil.copyfile(lc_copy, renamed)
    assert sorted(rename_v01_error_columns(renamed)) == ["counts_err", "triggers_err"]
    other = LL03Step(settings.replace(fits_archive_dir=tmp_path / "other")).render(renamed)[0]
    assert other.read_bytes() == from_v01
