"""The real reference rpd/cpd/scpd/spec family re-encoded and processed: IDB_VERSIONS ranges and count conservation.

Issue 15 items 3 and 4. ``IDB_VERSIONS`` records the packets' own SCET range (the reference
products' ranges lie after their data: the packets were generated after the request), and the
counts and triggers of every L0/L1 file equal the sums of its decoded packets
(:mod:`stix_lib.validate.conservation`), which also catches a corrupted file, in the library and
through ``stix-pipeline validate --conservation``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.dev.simulate.reference import encode_reference
from stix_lib.lb.convert import tms_to_lb
from stix_lib.lb.fits_io import read_lb
from stix_lib.products.clock import SpiceClock
from stix_lib.products.science import ScienceOutput, process_science_lb
from stix_lib.validate.conservation import check_conservation, request_packets

FAMILY = "solo_L1_stix-sci-xray-*_20200505T235959-20200506T000019_V01_*.fits"
TOTALS = {"xray-rpd": 19086, "xray-cpd": 19078, "xray-scpd": 19079, "xray-spec": 0}


def _kind(path: Path) -> str:
    return path.name.split("_")[2].removeprefix("stix-sci-")


@pytest.fixture(scope="module")
def family(tmp_path_factory, reference_data: Path, idb_dir: Path, idb_manager, kernels, energy_channels):
    """``(archive, {lb name: LB path}, [L0 and L1 files])`` of the re-encoded reference requests."""
    source = tmp_path_factory.mktemp("family-l1")
    for path in (reference_data / "reference" / "l1").glob(FAMILY):
        shutil.copy(path, source / path.name)
    encoding = encode_reference(source, tmp_path_factory.mktemp("family-tm"), idb_dir)
    archive = tmp_path_factory.mktemp("family-archive")
    tms_to_lb(encoding.tm_files, archive, idb_manager)
    out = ScienceOutput(archive, SpiceClock(kernels), energy_channels)
    lbs = {p.name: p for p in sorted(archive.rglob("LB/21/6/*/*.fits"))}
    files = []
    for lb_path in lbs.values():
        result = process_science_lb(lb_path, out, idb_manager)
        assert result.errors == [] and result.incomplete == []
        files += result.written
    assert len(files) == 8
    return archive, lbs, files


def test_idb_versions_range_is_the_packets_scet_range(family, reference_data: Path) -> None:
    _, lbs, files = family
    for path in (reference_data / "reference" / "l1").glob(FAMILY):  # the reference: packets after the data
        with fits.open(path) as hdul:
            (row,) = hdul["IDB_VERSIONS"].data
            assert hdul[0].header["OBT_END"] < row["obt_start"] <= row["obt_end"], path.name
    for path in files:
        with fits.open(path) as hdul:
            (row,) = hdul["IDB_VERSIONS"].data
            parent = str(hdul["CONTROL"].data["parent"][0]).strip()
        if path.name.startswith("solo_L1"):  # its parent is the L0 file, whose parent is the LB file
            parent = str(fits.getdata(_l0_of(files, parent), "CONTROL")["parent"][0]).strip()
        headers = read_lb(lbs[parent]).headers
        times = headers["scet_coarse"] + headers["scet_fine"] / 65535.0
        assert (row["obt_start"], row["obt_end"]) == pytest.approx((times.min(), times.max()), abs=1e-6), path.name
        assert row["obt_start"] > fits.getheader(path)["OBT_END"]


def _l0_of(files: list[Path], name: str) -> Path:
    (path,) = [p for p in files if p.name == name]
    return path


def test_counts_and_triggers_are_conserved_from_packets_to_files(family, idb_manager) -> None:
    _, _, files = family
    for path in files:
        batch = request_packets(path, idb_manager)
        assert check_conservation(batch, path) == [], path.name
        assert int(fits.getdata(path, "DATA")["counts"].sum()) == TOTALS[_kind(path)]


@pytest.fixture
def corrupted(family, tmp_path: Path) -> Path:
    """A copy of the cpd L1 (same archive folder) with 5 counts moved from one channel to the next."""
    _, _, files = family
    (l1,) = [p for p in files if p.name.startswith("solo_L1_stix-sci-xray-cpd")]
    path = l1.with_name(l1.name.replace("_V02_", "_V99_"))
    shutil.copy(l1, path)
    with fits.open(path, mode="update") as hdul:
        counts = hdul["DATA"].data["counts"]
        t, d, p, c = np.argwhere(counts >= 5)[0]
        counts[t, d, p, c] -= 5
        counts[t, d, p, c + 1] += 5
        hdul["DATA"].data["triggers"][2, 0] += 1
    yield path
    path.unlink()


def test_a_corrupted_file_is_reported(corrupted: Path, idb_manager) -> None:
    problems = check_conservation(request_packets(corrupted, idb_manager), corrupted)
    assert int(fits.getdata(corrupted, "DATA")["counts"].sum()) == TOTALS["xray-cpd"]  # the total still agrees
    assert len(problems) == 3, problems
    assert sum("counts of time bin" in p for p in problems) == 2
    assert any("triggers of time bin 2" in p for p in problems)
    assert all(p.startswith(corrupted.name) for p in problems)


def test_validate_conservation_option(family, corrupted: Path, settings, reference_data, capsys) -> None:
    from stix_lib.cli.main import main

    _, _, files = family
    (good,) = [p for p in files if p.name.startswith("solo_L1_stix-sci-xray-cpd")]
    spec = [p for p in files if p.name.startswith("solo_L1_stix-sci-xray-spec")]
    reference = str(reference_data / "reference" / "l1")
    # --layout-only: the re-encoder does not reproduce the reference packet split, so per-packet values
    # (num_substructures, num_energy_groups) differ; see docs/stixcore-differences.md
    args = ["validate", "--no-stixpy", "--layout-only", "--reference", reference, "--conservation"]
    assert main([*args, str(good), *map(str, spec)]) == 0
    assert capsys.readouterr().out.count("counts and triggers equal the sums of the") == 2
    assert main([*args, str(good), str(corrupted)]) == 1
    text = capsys.readouterr().out
    assert "1 passed, 1 failed" in text and f"error: {corrupted.name}: counts of time bin" in text


def test_publish_gate_parks_a_product_whose_counts_are_not_conserved(family, corrupted: Path, idb_dir: Path) -> None:
    """The publish gate's conservation check: the good request files pass, the corrupted one is parked."""
    from stix_lib.publish.gate import gate_checks
    from stix_lib.publish.product_name import ProductName

    *_, conserved = gate_checks(stixpy=False, conservation_idb=idb_dir)
    _, _, files = family
    for path in files:
        assert conserved(path, fits.getheader(path), ProductName.parse(path.name)) is None, path.name
    reason = conserved(corrupted, fits.getheader(corrupted), ProductName.parse(corrupted.name))
    assert reason is not None and reason.startswith("counts not conserved from the packets:")
    assert "counts of time bin" in reason
    orphan = corrupted.with_name(corrupted.name.replace("_V99_", "_V98_"))  # an L1 whose L0 parent is gone
    shutil.copy(corrupted, orphan)
    with fits.open(orphan, mode="update") as hdul:
        hdul["CONTROL"].data["parent"][0] = "solo_L0_missing.fits"
    try:
        reason = conserved(orphan, fits.getheader(orphan), ProductName.parse(orphan.name))
    finally:
        orphan.unlink()
    assert reason is not None and reason.startswith("counts not checked against the packets")
