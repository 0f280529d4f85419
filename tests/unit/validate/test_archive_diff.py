"""Product/archive comparison used by the run-equivalence tests (order, crash, SQLite vs production)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from stix_lib.validate.archive_diff import archive_differences, fits_differences


def _product(path: Path, *, date: str, counts: list[int], history: str, vers_sw: str = "0.1.0") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    primary = fits.PrimaryHDU()
    primary.header["DATE"] = date
    primary.header["VERS_SW"] = vers_sw
    primary.header["LEVEL"] = "L1"
    primary.header.add_history(history)
    data = fits.BinTableHDU.from_columns([fits.Column(name="counts", format="J", array=np.array(counts))], name="DATA")
    hdul = fits.HDUList([primary, data])
    hdul.writeto(path, checksum=True)
    return path


def test_runs_differing_only_in_volatile_values_are_equivalent(tmp_path):
    a = _product(tmp_path / "a.fits", date="2026-11-24T05:00:00", counts=[1, 2, 3],
                 history="updated ephemeris header with flown kernel x.tm at 2026-11-24T05:00:01.123")  # fmt: skip
    b = _product(tmp_path / "b.fits", date="2026-11-24T06:30:00", counts=[1, 2, 3], vers_sw="0.2.0",
                 history="updated ephemeris header with flown kernel x.tm at 2026-11-24T06:31:09")  # fmt: skip
    assert fits_differences(a, b) == []


def test_data_keyword_and_history_text_differences_are_reported(tmp_path):
    base = _product(tmp_path / "base.fits", date="2026-11-24T05:00:00", counts=[1, 2, 3], history="made by run 1")
    data = _product(tmp_path / "data.fits", date="2026-11-24T05:00:00", counts=[1, 2, 4], history="made by run 1")
    text = _product(tmp_path / "text.fits", date="2026-11-24T05:00:00", counts=[1, 2, 3], history="made by run 2")
    [data_diff] = fits_differences(base, data)
    assert "counts" in data_diff and "data.fits" in data_diff
    [history_diff] = fits_differences(base, text)
    assert "HISTORY differs" in history_diff and "made by run 2" in history_diff
    # VERS_SW is volatile by default, but a caller can insist on it
    other_sw = _product(tmp_path / "sw.fits", date="2026-11-24T05:00:00", counts=[1, 2, 3], history="made by run 1",
                        vers_sw="9.9")  # fmt: skip
    assert fits_differences(base, other_sw) == []
    assert "VERS_SW" in fits_differences(base, other_sw, ignore_keywords=("DATE", "CHECKSUM", "DATASUM"))[0]


def test_archive_differences_match_files_by_relative_path(tmp_path):
    left, right = tmp_path / "left", tmp_path / "right"
    for root, date in ((left, "2026-11-24T05:00:00"), (right, "2026-11-25T05:00:00")):
        _product(root / "L1/2024/05/14/QL/lc.fits", date=date, counts=[5], history="x")
        _product(root / "L1/2024/05/14/QL/.lc.fits.abc.partial", date=date, counts=[0], history="temp")
    assert archive_differences(left, right) == []
    _product(left / "L0/2024/05/14/QL/only-left.fits", date="2026-11-24T05:00:00", counts=[1], history="x")
    (right / "L1/2024/05/14/QL/lc.fits").unlink()
    _product(right / "L1/2024/05/14/QL/lc.fits", date="2026-11-24T05:00:00", counts=[6], history="x")
    problems = archive_differences(left, right)
    assert problems[0] == f"only in {left}: L0/2024/05/14/QL/only-left.fits"
    assert len(problems) == 2 and "lc.fits" in problems[1]


def _plot(path: Path, source: str, level: float) -> None:
    """A reproducible plot like the LL03 product's: fixed SVG hash salt, no date, input DATE in the metadata."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1], [0, level])
    with matplotlib.rc_context({"svg.hashsalt": "stix"}):
        if path.suffix == ".png":
            figure.savefig(path, format="png", metadata={"Title": "LL03", "Source": f"lc.fits DATE={source}"})
        else:
            figure.savefig(path, format="svg", metadata={"Date": None, "Source": f"lc.fits DATE={source}"})


def test_plots_compare_pixels_and_text_with_input_dates_masked(tmp_path):
    left, right = tmp_path / "left", tmp_path / "right"
    for name in ("ll03.png", "ll03.svg"):
        _plot(left / "LL03" / name, "2026-11-24T05:27:38.512", 1.0)
        _plot(right / "LL03" / name, "2026-11-24T06:01:02.003", 1.0)
    assert (left / "LL03/ll03.png").read_bytes() != (right / "LL03/ll03.png").read_bytes()
    assert archive_differences(left, right, pattern="*") == []
    for name in ("ll03.png", "ll03.svg"):
        (right / "LL03" / name).unlink()
        _plot(right / "LL03" / name, "2026-11-24T06:01:02.003", 2.0)
    assert archive_differences(left, right, pattern="*") == [
        "LL03/ll03.png: pixels differ",
        "LL03/ll03.svg: contents differ",
    ]
