"""Per-request L1 files of the re-encoded reference rpd/cpd/scpd requests: names, values, stixpy, write-once."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from stixpy.product import Product as StixpyProduct

from stix_lib.conf.energy_channels import ScienceEnergyChannels
from stix_lib.products.clock import SpiceClock
from stix_lib.products.l0.science import XrayRequest
from stix_lib.products.science import NOT_SHIFTED, NoRidLut, ScienceOutput, descale_triggers, write_science_file
from stix_lib.ridlut.table import RidLut

REFERENCE_NAMES = {
    20: "solo_L1_stix-sci-xray-rpd_20200505T235959-20200506T000019_V01_0087031808-50882.fits",
    21: "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V01_0087031809-50883.fits",
    22: "solo_L1_stix-sci-xray-scpd_20200505T235959-20200506T000019_V01_0087031810-50884.fits",
}
TOTALS = {20: 19086, 21: 19078, 22: 19079}


@pytest.fixture(scope="module")
def written(tmp_path_factory, requests: dict[int, XrayRequest], kernels, energy_channels: ScienceEnergyChannels):
    archive = tmp_path_factory.mktemp("archive")
    clock = SpiceClock(kernels)
    table = energy_channels.table_for("2020-05-06")
    out = {}
    for ssid, request in requests.items():
        target = ScienceOutput(archive, clock, table)
        path, new = write_science_file(request, target, level="L1", idb_version="2.26.32", version=1, parent="lb.fits")
        assert new
        out[ssid] = path
    return archive, clock, table, out


@pytest.mark.parametrize("ssid", [20, 21, 22])
def test_l1_file_name_values_and_stixpy(ssid: int, written, reference_data: Path) -> None:
    _, _, _, paths = written
    path = paths[ssid]
    assert path.name == REFERENCE_NAMES[ssid]
    assert path.parent.parts[-5:] == ("L1", "2020", "05", "05", "SCI")
    with fits.open(path) as hdul:
        header = hdul[0].header
        assert header["SCI_RID"] == path.name.split("_")[-1][:10]
        assert header["SSID"] == ssid and header["LEVEL"] == "L1" and header["COMPLETE"]
        assert NOT_SHIFTED in str(header.get("COMMENT", ""))  # 4 s bins: not at the minimum integration
        assert int(hdul["DATA"].data["counts"].sum()) == TOTALS[ssid]
    with fits.open(reference_data / "reference" / "l1" / REFERENCE_NAMES[ssid]) as ref:
        assert np.array_equal(ref["DATA"].data["time"], fits.getdata(path, "DATA")["time"])
        assert np.array_equal(ref["DATA"].data["triggers"], fits.getdata(path, "DATA")["triggers"])
    product = StixpyProduct(path)
    assert int(np.asarray(product.data["counts"]).sum()) == TOTALS[ssid]
    rates, errors, times, timedel, energies = product.get_data()  # rates: ct / (keV s)
    assert rates.shape[0] == len(times) == 5
    assert np.all(np.isfinite(np.asarray(rates))) and float(np.asarray(rates).sum()) > 0


def test_science_files_are_write_once(written, requests) -> None:
    archive, clock, table, paths = written
    before = os.stat(paths[21]).st_mtime_ns
    out = ScienceOutput(archive, clock, table)
    path, new = write_science_file(requests[21], out, level="L1", idb_version="2.26.32", version=1)
    assert path == paths[21] and not new
    assert os.stat(paths[21]).st_mtime_ns == before


def test_scaled_triggers_are_descaled_with_the_rid_lut_factor(
    tmp_path: Path, requests, kernels, energy_channels
) -> None:
    request = requests[21]
    rid = int(request.control["request_id"])
    scaled = replace(request, control={**request.control, "compression_scheme_triggers_skm": np.array([0, 0, 7])})
    lut = RidLut([{"unique_id": str(rid), "scaling_factor": "5"}])
    clock = SpiceClock(kernels)
    table = energy_channels.table_for("2020-05-06")
    with pytest.raises(NoRidLut, match="scaling factor"):  # a type: the step adds why there is no LUT
        write_science_file(scaled, ScienceOutput(tmp_path / "none", clock, table), level="L1", idb_version="2.26.32")
    with pytest.raises(ValueError, match="not in") as missing_row:
        out = ScienceOutput(tmp_path / "other", clock, table, rid_lut=RidLut([]))
        write_science_file(scaled, out, level="L1", idb_version="2.26.32")
    assert not isinstance(missing_row.value, NoRidLut)  # a LUT without the rid is another problem
    out = ScienceOutput(tmp_path / "lut", clock, table, rid_lut=lut)
    path, new = write_science_file(scaled, out, level="L1", idb_version="2.26.32")
    assert new
    with fits.open(path) as hdul:
        assert hdul[0].header["TRIG_SCA"] == 5
        assert "trigger descaled with 5" in str(hdul[0].header["HISTORY"])
        triggers = hdul["DATA"].data["triggers"]
        errors = hdul["DATA"].data["triggers_comp_err"]
    # all 16 accumulators active, 4 s = 40 units of 0.1 s: T = T_s * 200 + 100, error 100
    assert np.array_equal(triggers, request.triggers * 200 + 100)
    assert np.allclose(errors, 100.0)
    _, factor = descale_triggers(request, None)  # scheme not (0, 0, 7): unchanged, no factor
    assert factor is None


def test_l0_files_are_named_by_obt(tmp_path: Path, requests, kernels, energy_channels) -> None:
    clock = SpiceClock(kernels)
    table = energy_channels.table_for("2020-05-06")
    for ssid, request in requests.items():
        out = ScienceOutput(tmp_path, clock, table)
        path, new = write_science_file(request, out, level="L0", idb_version="2.26.32")
        assert new and path.parent == tmp_path / "L0" / "21" / "6" / str(ssid)
        rid, psc = int(request.control["request_id"]), int(request.control["tc_packet_seq_control"])
        begin = int(request.time[0] - request.timedel[0] / 200.0)
        assert path.name.startswith(f"solo_L0_stix-sci-{request.name}_{begin:010d}-")
        assert path.name.endswith(f"_V02_{rid:010d}-{psc:05d}.fits")
        with fits.open(path) as hdul:
            assert hdul[0].header["LEVEL"] == "L0" and hdul[0].header["TIMESYS"] == "OBT"
            assert hdul[0].header["DATE-OBS"].startswith(f"{begin:010d}:")
            assert int(hdul["DATA"].data["counts"].sum()) == TOTALS[ssid]
        assert write_science_file(request, out, level="L0", idb_version="2.26.32") == (path, False)
