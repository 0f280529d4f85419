"""Open a product with stixpy 0.2.1, the reference reader of STIX users.

* ``stixpy.product.Product(path)`` must work for every product, and give the same class as for
  the reference file of that type (e.g. ``QLLightCurve``, not the fallback ``GenericProduct``).
* ``sunpy.timeseries.TimeSeries(path)`` must work for the types stixpy registers a time series
  for: QL light curve, QL background, QL variance and HK maxi.

stixpy 0.2.1 expects ``*_comp_err`` columns. A V01 file with ``*_err`` columns (the references)
is loaded through a renamed temporary copy and that is reported as info, not as a failure.

stixpy, sunpy and matplotlib are imported on first use only (they write user config folders on
import).
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from astropy.io import fits

from stix_lib.validate.report import FileReport
from stix_lib.validate.v01 import V01_RENAMES, rename_v01_error_columns

#: Descriptors with a stixpy TimeSeries source, and the class expected.
TIMESERIES_TYPES: dict[str, str] = {
    "ql-lightcurve": "QLLightCurve",
    "ql-background": "QLBackground",
    "ql-variance": "QLVariance",
    "hk-maxi": "HKMaxi",
}


def _short(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text[:200]}"


def stixpy_product_class(path: Path) -> str:
    """Class name stixpy's ``Product`` gives the file (raises whatever stixpy raises)."""
    from stixpy.product import Product

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return type(Product(str(path))).__name__


def v01_error_columns(path: Path) -> list[str]:
    """``*_err`` columns of the DATA HDU that stixpy now expects as ``*_comp_err``."""
    try:
        with fits.open(path, memmap=True) as hdul:
            names = hdul["DATA"].columns.names if "DATA" in hdul else []
    except (OSError, ValueError, KeyError):
        return []
    return [name for name in names if name in V01_RENAMES and V01_RENAMES[name] not in names]


@contextmanager
def renamed_copy(path: Path) -> Iterator[Path]:
    """A temporary copy of ``path`` (same file name) with its V01 ``*_err`` columns renamed."""
    work = Path(tempfile.mkdtemp(prefix="stix-validate-"))
    try:
        target = work / Path(path).name
        shutil.copyfile(path, target)
        target.chmod(0o600)
        rename_v01_error_columns(target)
        yield target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _timeseries_class(path: Path) -> str:
    import stixpy.timeseries  # noqa: F401 - registers the STIX sources with sunpy
    from sunpy.timeseries import TimeSeries

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return type(TimeSeries(str(path))).__name__


def check_with_stixpy(report: FileReport, path: Path, descriptor: str | None, expected_class: str | None) -> None:
    """Add stixpy loading results for ``path`` to ``report``.

    Parameters
    ----------
    report
        Receives ``stixpy-product``/``stixpy-class``/``stixpy-timeseries`` errors and
        ``v01-renamed`` info.
    path
        The product file.
    descriptor
        Product descriptor (``ql-lightcurve`` …) deciding whether a TimeSeries must load.
    expected_class
        ``Product`` class stixpy gives the reference of this type (None: not compared).
    """
    try:
        product_class = stixpy_product_class(path)
    except Exception as exc:  # noqa: BLE001 - any stixpy failure is a finding
        report.error("stixpy-product", f"stixpy Product() cannot load the file: {_short(exc)}")
        product_class = None
    if product_class is not None and expected_class is not None and product_class != expected_class:
        report.error("stixpy-class", f"stixpy reads it as {product_class}, the reference as {expected_class}")

    ts_class = TIMESERIES_TYPES.get(descriptor or "")
    if ts_class is None:
        return
    legacy = v01_error_columns(path)
    try:
        if legacy:
            report.info(
                "v01-renamed",
                f"V01 column names {', '.join(legacy)}: TimeSeries loaded from a copy renamed to *_comp_err",
            )
            with renamed_copy(path) as copy:
                got = _timeseries_class(copy)
        else:
            got = _timeseries_class(path)
    except Exception as exc:  # noqa: BLE001 - any stixpy/sunpy failure is a finding
        report.error("stixpy-timeseries", f"sunpy TimeSeries() (stixpy {ts_class}) cannot load the file: {_short(exc)}")
        return
    if got != ts_class:
        report.error("stixpy-timeseries", f"TimeSeries gives {got}, expected {ts_class}")
