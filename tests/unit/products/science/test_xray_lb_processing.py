"""LB files of the reference requests -> L0 + L1 files; a request with lost packets gives nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.dev.simulate.reference import encode_reference
from stix_lib.lb.convert import tms_to_lb
from stix_lib.lb.fits_io import read_lb, write_lb
from stix_lib.products.clock import SpiceClock
from stix_lib.products.science import ScienceOutput, process_science_lb

TOTALS = {20: 19086, 21: 19078, 22: 19079}


@pytest.fixture(scope="module")
def lb_files(tmp_path_factory, references, idb_dir: Path, idb_manager) -> list[Path]:
    source = tmp_path_factory.mktemp("lbp-l1")
    for product in references.values():
        shutil.copy(product.path, source / product.path.name)
    encoding = encode_reference(source, tmp_path_factory.mktemp("lbp-tm"), idb_dir)
    archive = tmp_path_factory.mktemp("lbp-lb")
    tms_to_lb(encoding.tm_files, archive, idb_manager)
    return sorted(archive.rglob("*.fits"))


def test_complete_requests_become_l0_and_l1_once(tmp_path: Path, lb_files, idb_manager, kernels, energy_channels):
    clock = SpiceClock(kernels)
    assert len(lb_files) == 3
    for lb_path in lb_files:
        result = process_science_lb(lb_path, ScienceOutput(tmp_path, clock, energy_channels), idb_manager)
        assert result.incomplete == [] and result.errors == [] and result.existing == []
        l0, l1 = result.written
        assert l0.name.startswith("solo_L0_stix-sci-xray-") and l1.name.startswith("solo_L1_stix-sci-xray-")
        with fits.open(l1) as hdul:
            ssid = hdul[0].header["SSID"]
            assert hdul[0].header["PARENT"] == l0.name
            assert int(hdul["DATA"].data["counts"].sum()) == TOTALS[ssid]
        assert fits.getheader(l0)["PARENT"] == lb_path.name
        again = process_science_lb(lb_path, ScienceOutput(tmp_path, clock, energy_channels), idb_manager)
        assert again.written == [] and again.existing == [l0, l1]


def test_request_missing_middle_packets_yields_no_product(
    tmp_path: Path, lb_files, idb_manager, kernels, energy_channels
):
    cpd = next(p for p in lb_files if "-21_" in p.name)
    lb = read_lb(cpd)
    keep = np.ones(len(lb), dtype=bool)
    keep[[5, 6]] = False  # two consecutive middle packets lost: beyond the one-gap tolerance
    broken = tmp_path / "lb" / cpd.name
    write_lb(lb.take(np.flatnonzero(keep)), broken, version=2)
    result = process_science_lb(
        broken, ScienceOutput(tmp_path / "fits", SpiceClock(kernels), energy_channels), idb_manager
    )
    assert result.written == [] and result.errors == []
    (line,) = result.incomplete
    assert "incomplete sequence of 14 packets" in line and "2 sequence counts missing" in line  # 16 - 2
    assert not (tmp_path / "fits").exists()
