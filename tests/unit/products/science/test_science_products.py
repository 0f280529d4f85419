"""Spectrogram, visibility and aspect-burst L0/L1 files: names, layout against the reference, values, write-once."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from stixpy.product import Product as StixpyProduct

from stix_lib.dev.simulate.reference import encode_reference
from stix_lib.dev.simulate.simulator import SimulationConfig, simulate
from stix_lib.lb.convert import tms_to_lb
from stix_lib.products.clock import NominalClock, SpiceClock
from stix_lib.products.l0.science import AUTO_SSIDS
from stix_lib.products.science import ScienceOutput, process_science_lb

SPEC_L1 = "solo_L1_stix-sci-xray-spec_20200505T235959-20200506T000019_V04_0087031812-50886.fits"
SPEC_L0 = "solo_L0_stix-sci-xray-spec_0642038387-0642038407_V04_0087031812-50886.fits"
#: Deliberate differences to the V01 reference: current STIXCore/stixpy column names.
RENAMED = {
    "triggers_err": "triggers_comp_err",
    "counts_err": "counts_comp_err",
    "energy_bin_mask": "energy_bin_edge_mask",
}


@pytest.fixture(scope="module")
def spec_files(tmp_path_factory, reference_data: Path, idb_dir: Path, idb_manager, kernels, energy_channels):
    (path,) = (reference_data / "reference" / "l1").glob("solo_L1_stix-sci-xray-spec_*.fits")
    source = tmp_path_factory.mktemp("spec-ref")
    shutil.copy(path, source / path.name)
    encoding = encode_reference(source, tmp_path_factory.mktemp("spec-ref-tm"), idb_dir)
    lb_archive = tmp_path_factory.mktemp("spec-ref-lb")
    tms_to_lb(encoding.tm_files, lb_archive, idb_manager)
    (lb_path,) = lb_archive.rglob("*.fits")
    out = ScienceOutput(tmp_path_factory.mktemp("spec-ref-fits"), SpiceClock(kernels), energy_channels, kernels=kernels)
    result = process_science_lb(lb_path, out, idb_manager)
    assert result.errors == [] and result.incomplete == []
    again = process_science_lb(lb_path, out, idb_manager)
    assert again.written == [] and again.existing == result.written  # write-once
    return path, lb_path, result.written


def _kind(dtype: np.dtype) -> str:
    return "int" if dtype.kind in "iu" else dtype.kind


def test_spectrogram_names_and_layout_match_the_reference(spec_files) -> None:
    reference, lb_path, (l0, l1) = spec_files
    assert (l0.name, l1.name) == (SPEC_L0, SPEC_L1)  # version 4 (spec §6.1)
    assert l0.parent.parts[-4:] == ("L0", "21", "6", "24") and l1.parent.parts[-5:] == ("L1", "2020", "05", "05", "SCI")
    with fits.open(reference) as ref, fits.open(l1) as ours:
        assert [h.name for h in ours] == [h.name for h in ref]
        for name in ("CONTROL", "DATA", "IDB_VERSIONS", "ENERGIES"):
            expected = [
                (RENAMED.get(c.name, c.name), c.unit, _kind(ref[name].data[c.name].dtype)) for c in ref[name].columns
            ]
            got = [(c.name, c.unit, _kind(ours[name].data[c.name].dtype)) for c in ours[name].columns]
            assert got == expected, name
        assert np.array_equal(ours["DATA"].data["counts"], ref["DATA"].data["counts"])
        assert np.array_equal(ours["DATA"].data["time"], ref["DATA"].data["time"])
        assert np.array_equal(ours["ENERGIES"].data["e_low"], ref["ENERGIES"].data["e_low"])
        header = ours[0].header
        assert header["VERSION"] == "04" and header["SSID"] == 24 and header["COMPLETE"]
        assert (header["SCI_RID"], header["SCI_TCC"]) == ("0087031812", "50886")
        assert header["PARENT"] == SPEC_L0 and fits.getheader(l0)["PARENT"] == lb_path.name
        assert header["TIMESYS"] == "UTC" and fits.getheader(l0)["TIMESYS"] == "OBT"
        assert list(ours["IDB_VERSIONS"].data["version"]) == ["2.26.32"]


def test_science_l1_header_has_the_reference_keywords(spec_files) -> None:
    reference, _, (_, l1) = spec_files
    ref, ours = fits.getheader(reference), fits.getheader(l1)
    missing = [key for key in ref if key not in ours and key not in ("COMMENT", "HISTORY")]
    assert missing == []
    for key in ("DATE-OBS", "DATE-BEG", "DATE-END", "STYPE", "SSTYPE", "BUNIT", "XPOSURE"):
        assert ours[key] == ref[key], key
    for key in ("OBT_BEG", "OBT_END"):  # the reference rounds the fine time to 1/65535 s
        assert ours[key] == pytest.approx(ref[key], abs=2e-5), key
    assert ours["SPICE_MK"] and "SPICE_ER" not in ours
    assert abs(ours["DSUN_OBS"] - ref["DSUN_OBS"]) / ref["DSUN_OBS"] < 1e-4
    assert ours["SOOPNAME"] == "none" and ours["VERS_SW"] and "VERS_CFG" in ours


def test_stixpy_spectrogram_get_data(spec_files) -> None:
    _, _, (_, l1) = spec_files
    product = StixpyProduct(l1)
    assert type(product).__name__ == "Spectrogram"
    counts, errors, times, timedel, energies = product.get_data()
    assert counts.shape == (5, 1, 1, 32) and len(times) == 5 and len(energies) == 32
    assert np.all(np.isfinite(errors.value))
    summed = product.get_data(time_indices=[[0, 4]], energy_indices=[[1, 10]])[0]
    assert summed.shape == (1, 1, 1, 1)


@pytest.fixture(scope="module")
def simulated_files(tmp_path_factory, idb_dir: Path, idb_manager, energy_channels):
    out_dir = tmp_path_factory.mktemp("sim-sci")
    config = SimulationConfig(
        start="2021-08-01T06:00:00", duration=3 * 3600.0, out_dir=out_dir, idb_dir=idb_dir, scenario="all", seed=11
    )
    result = simulate(config)
    lb_archive = tmp_path_factory.mktemp("sim-sci-lb")
    tms_to_lb(result.files, lb_archive, idb_manager)
    out = ScienceOutput(tmp_path_factory.mktemp("sim-sci-fits"), NominalClock(), energy_channels)
    written: list[Path] = []
    for lb_path in sorted(lb_archive.rglob("LB/21/6/*/*.fits")):
        if int(lb_path.parent.name) in (23, 24, 42):
            res = process_science_lb(lb_path, out, idb_manager)
            assert res.errors == [] and res.incomplete == [], lb_path.name
            written += res.written
    return json.loads(result.manifest_path.read_text()), written


def test_simulated_visibility_spectrogram_and_aspect_files(simulated_files) -> None:
    manifest, written = simulated_files
    by_ssid: dict[tuple[int, str], list[Path]] = {}
    for path in written:
        by_ssid.setdefault((fits.getheader(path)["SSID"], fits.getheader(path)["LEVEL"]), []).append(path)
    assert {k: len(v) for k, v in by_ssid.items()} == {
        (23, "L0"): 1, (23, "L1"): 1, (24, "L0"): 1, (24, "L1"): 1, (42, "L0"): 2, (42, "L1"): 2
    }  # fmt: skip
    requests = {r["ssid"]: r for r in manifest["requests"]}
    for ssid in (23, 24):
        (l1,) = by_ssid[(ssid, "L1")]
        rid, psc = requests[ssid]["request_id"], requests[ssid]["tc_sequence_control"]
        assert l1.name.endswith(f"_V0{4 if ssid == 24 else 2}_{rid:010d}-{psc:05d}.fits")
    (vis,) = by_ssid[(23, "L1")]
    with fits.open(vis) as hdul:
        data = hdul["DATA"].data
        assert [f"pixel_mask{i}" in data.names for i in range(1, 6)] == [True] * 5
        assert data["real"].shape[1:] == (2, 30) and data["flux"].shape[1:] == (2,)
        assert int(data["flux"].sum()) > 0 and np.all(data["detector_id"][:, 0, :] != 8)
        assert len(hdul["ENERGIES"].data) == 2  # the two energy groups
    (spec,) = by_ssid[(24, "L1")]
    assert StixpyProduct(spec).get_data()[0].shape[-1] == len(fits.getdata(spec, "ENERGIES"))
    for l0, l1 in zip(sorted(by_ssid[(42, "L0")]), sorted(by_ssid[(42, "L1")]), strict=True):
        assert l0.name.startswith("solo_L0_stix-sci-aspect-burst_") and l0.name.endswith("_V02_0000000000.fits")
        assert l1.name.endswith("_V02_0000000000.fits") and l0.parent.parts[-4:] == ("L0", "21", "6", "42")
        with fits.open(l0) as zero, fits.open(l1) as one:
            assert [h.name for h in zero] == ["PRIMARY", "CONTROL", "DATA", "IDB_VERSIONS"]
            t0, t1 = zero["DATA"].data, one["DATA"].data
            assert t0["time"].dtype == np.dtype(">f4") and t0["timedel"].dtype == np.dtype(">f4")
            assert zero["DATA"].columns["time"].unit == "s" and one["DATA"].columns["time"].unit == "cs"
            assert t1["time"].dtype.kind == "u" and np.allclose(t0["timedel"], round(0.064 * 65535) / 65535)
            assert np.array_equal(np.rint(t0["time"] * 100).astype(np.int64), t1["time"].astype(np.int64))
            assert np.all(t1["timedel"] == 6) and t0["cha_diode0"].dtype.kind == "u"
            assert one[0].header["SCI_TCC"] == "" and one[0].header["BUNIT"].strip() == ""


def _parameters(db: Path, ssid: int) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select VPD_NAME from VPD where VPD_TPSD = (select PID_TPSD from PID where PID_TYPE = 21 and"
            " PID_STYPE = 6 and PID_PI1_VAL = ?) order by VPD_POS",
            (ssid,),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize("version", ["v2.26.32", "v2.26.33", "v2.26.34", "v2.26.35"])
def test_idb_defines_the_auto_variants_as_user_layouts_without_request_header(idb_dir: Path, version: str) -> None:
    """The auto SSIDs 10-14 exist in every IDB: the user layout minus NIX00001/2/37 (repeater NIX00399 for 10-13)."""
    db = idb_dir / version / "idb.sqlite"
    for auto, user in AUTO_SSIDS.items():
        expected = [p for p in _parameters(db, user) if p not in ("NIX00001", "NIX00002", "NIX00037")]
        if auto != 14:
            expected = ["NIX00399" if p == "NIX00403" else p for p in expected]
        assert _parameters(db, auto) == expected and expected, (auto, version)
