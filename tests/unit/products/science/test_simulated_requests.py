"""Simulated science requests (scenario ``bsd``, IDB 2.26.35) -> LB -> per-request L0 and L1 files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from stixpy.product import Product as StixpyProduct

from stix_lib.dev.simulate.simulator import SimulationConfig, simulate
from stix_lib.lb.convert import tms_to_lb
from stix_lib.products.clock import NominalClock
from stix_lib.products.science import ScienceOutput, process_science_lb


@pytest.fixture(scope="module")
def simulated(tmp_path_factory, idb_dir: Path, idb_manager) -> tuple[dict, list[Path]]:
    out = tmp_path_factory.mktemp("sim-bsd")
    config = SimulationConfig(
        start="2021-08-01T06:00:00", duration=3600.0, out_dir=out, idb_dir=idb_dir, scenario="bsd", seed=3
    )
    result = simulate(config)
    archive = tmp_path_factory.mktemp("sim-bsd-lb")
    tms_to_lb(result.files, archive, idb_manager)
    manifest = json.loads(result.manifest_path.read_text())
    return manifest, sorted(archive.rglob("LB/21/6/2[012]/*.fits"))


def test_simulated_requests_become_products(tmp_path: Path, simulated, idb_manager, energy_channels) -> None:
    manifest, lb_files = simulated
    expected = {r["ssid"]: r for r in manifest["requests"] if r["ssid"] in (20, 21, 22)}
    assert len(lb_files) == len(expected) == 3
    timedels = {}
    for lb_path in lb_files:
        result = process_science_lb(lb_path, ScienceOutput(tmp_path, NominalClock(), energy_channels), idb_manager)
        assert result.incomplete == [] and result.errors == []
        l0, l1 = result.written
        with fits.open(l1) as hdul:
            header, data = hdul[0].header, hdul["DATA"].data
            request = expected[header["SSID"]]
            suffix = f"_{request['request_id']:010d}-{request['tc_sequence_control']:05d}.fits"
            assert l0.name.endswith(suffix) and l1.name.endswith(suffix)
            assert header["SCI_RID"] == f"{request['request_id']:010d}"
            assert int(data["counts"].sum()) > 0 and np.all(data["timedel"] > 0)
            assert np.all(np.diff(data["time"].astype(np.int64)) > 0)
            timedels[header["SSID"]] = np.asarray(data["timedel"])
            length = (np.datetime64(request["end_utc"]) - np.datetime64(request["start_utc"])) / np.timedelta64(1, "ms")
            assert abs(int(data["timedel"].sum()) * 10 - length) <= 1  # bins cover the request
        product = StixpyProduct(l1)
        assert product.get_data()[0].shape[0] == len(timedels[header["SSID"]])
    assert np.array_equal(timedels[21], timedels[22])  # cpd and scpd of the same interval
