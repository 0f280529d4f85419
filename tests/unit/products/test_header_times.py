"""L1 header times as STIXCore writes them (issue 15 item 5), checked on hand-made clocks and rows."""

from __future__ import annotations

import numpy as np
import pytest

from stix_lib.products.catalogue import PRODUCTS
from stix_lib.products.clock import utc_span
from stix_lib.products.model import Product
from stix_lib.products.table import ColumnTable

EPOCH = np.datetime64("2020-05-06T00:00:00", "ns")


class BentClock:
    """UTC = OBT until OBT 100 s, then the clock kernel's rate changes by 1 %."""

    def to_datetime64(self, obt):
        obt = np.asarray(obt, dtype=np.float64)
        seconds = np.where(obt < 100.0, obt, 100.0 + (obt - 100.0) * 1.01)
        return EPOCH + np.rint(seconds * 1e9).astype("timedelta64[ns]")


def test_centre_is_the_utc_midpoint() -> None:
    """``DATE-AVG`` halves the UTC range (STIXCore's time-range centre), not the OBT range."""
    iso, centre = utc_span(BentClock(), 0.0, 1000.0)
    assert iso == ["2020-05-06T00:00:00.000", "2020-05-06T00:08:24.500", "2020-05-06T00:16:49.000"]
    assert centre == EPOCH + np.timedelta64(504_500, "ms")  # UTC(OBT 500) would be 00:08:24.000


def test_rounding_is_half_up() -> None:
    iso, _ = utc_span(BentClock(), 0.0005, 1.9994)
    assert iso[0].endswith("00.001") and iso[2].endswith("01.999")


def _housekeeping(times: list[float]) -> Product:
    control = ColumnTable()
    control.add("scet_coarse", np.floor(times).astype(np.int64))
    control.add("scet_fine", np.zeros(len(times), dtype=np.int64))
    control.add("index", np.arange(len(times)))
    data = ColumnTable()
    data.add("control_index", np.arange(len(times)))
    data.add("time", np.asarray(times, dtype=np.float64))
    data.add("timedel", np.zeros(len(times), dtype=np.int64))
    return Product(PRODUCTS[(3, 25, 2)], "L1", control, data, {})


@pytest.mark.parametrize("last", [1.0234, 86335.0576638, 86335.0551])
def test_file_range_ends_on_the_stored_centisecond_grid(last: float) -> None:
    """The reference hk-maxi: OBT_END = OBT_BEG + 86335.06 s although the last packet is at +86335.0577 s."""
    start = 641606418.6296941
    product = _housekeeping([start, start + last])
    assert product.obt_range[1] == pytest.approx(start + last, abs=1e-9)
    begin, end = product.file_obt_range
    assert begin == start
    assert end == pytest.approx(start + round(last * 100) / 100, abs=1e-7)
