"""Calibration spectra of summed grids are spread onto the 1024 channels in bounded chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stix_lib.idb import IDBManager
from stix_lib.lb import read_lb, tm_to_lb
from stix_lib.products.l0 import build_l0, calibration


@pytest.fixture
def moc_calibration_lb(reference_data: Path, idb_manager: IDBManager, tmp_path: Path):
    result = tm_to_lb(reference_data / "tm" / "moc_test.PktTmRaw.xml", tmp_path, idb_manager)
    (path,) = [p for p in result.written if "21-6-41" in p.name]
    return path, read_lb(path)


def test_chunked_spread_equals_one_pass(
    moc_calibration_lb, idb_manager: IDBManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, lb = moc_calibration_lb
    whole = build_l0(lb, idb_manager, parent=path.name).product
    summed = whole.control["subspec_num_summed_channel"]
    assert (summed > 1).any()  # the real packets have summed grids: the chunked path is exercised
    monkeypatch.setattr(calibration, "SPREAD_CHUNK", 1)  # every point its own chunk
    chunked = build_l0(lb, idb_manager, parent=path.name).product
    for column in ("counts", "counts_comp_err"):
        assert np.array_equal(chunked.data[column], whole.data[column])  # bit for bit, same summation order
    assert np.array_equal(chunked.data["time"], whole.data["time"])
