"""The waiting period counts from the product's DATE header, not from ctime/mtime (decision test)."""

from __future__ import annotations

import os
from pathlib import Path

from stix_lib.publish.ephemeris import finalize_incomplete
from stix_lib.publish.timestamps import parse_fits_date, product_time
from tests.support.publish_support import days_ago, write_product, write_svg


def test_parse_fits_date() -> None:
    assert parse_fits_date("2020-05-06T00:00:00.000") == 1588723200.0
    assert parse_fits_date("2020-05-06T00:00:00Z") == 1588723200.0
    assert parse_fits_date("2020-05-06T02:00:00+02:00") == 1588723200.0
    assert parse_fits_date("2020-05-06") is None and parse_fits_date(12) is None and parse_fits_date("x T y") is None


def test_date_header_wins_over_a_fresh_mtime_and_ctime(tmp_path: Path) -> None:
    """A rename or header edit (new ctime/mtime) does not restart the clock; DATE does."""
    created = days_ago(10)
    path = write_product(tmp_path, "solo_L0_stix-hk-maxi_0642038400_V02.fits", created=created, spice_mk=None)
    os.utime(path)  # touched now: mtime and ctime are fresh
    renamed = path.rename(tmp_path / "solo_L0_stix-hk-maxi_0642124800_V02.fits")
    assert abs(product_time(renamed) - created.timestamp()) < 0.01


def test_new_data_restart_the_clock(tmp_path: Path) -> None:
    path = write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200506_V02.fits", created=days_ago(10))
    old = product_time(path)
    write_product(tmp_path, path.name, created=days_ago(0))  # re-written by the product writer
    assert product_time(path) - old > 9 * 86400


def test_date_after_the_last_write_falls_back_to_mtime(tmp_path: Path) -> None:
    future_date, written = days_ago(-30), days_ago(20)
    path = write_product(tmp_path, "solo_L1_stix-ql-lightcurve_20200506_V02.fits", created=future_date, mtime=written)
    assert abs(product_time(path) - written.timestamp()) < 0.01


def test_files_without_date_use_mtime(tmp_path: Path) -> None:
    written = days_ago(3)
    svg = write_svg(tmp_path, "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg", mtime=written)
    no_date = write_product(tmp_path, "solo_L1_stix-ql-variance_20200506_V02.fits", header={"DATE": "unknown"})
    assert abs(product_time(svg) - written.timestamp()) < 0.01
    assert abs(product_time(no_date) - no_date.stat().st_mtime) < 0.01


def test_finalising_keeps_the_product_time(tmp_path: Path) -> None:
    """The publisher's own U → complete rewrite leaves DATE (and so the product time) alone."""
    created = days_ago(8)
    path = write_product(tmp_path, "solo_L0_stix-ql-lightcurve_0642038400_V02U.fits", created=created, spice_mk=None)
    final = finalize_incomplete(path, days_ago(0))
    assert final.stat().st_mtime > created.timestamp() + 86400  # the file itself is new
    assert abs(product_time(final) - created.timestamp()) < 0.01
