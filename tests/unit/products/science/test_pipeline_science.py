"""The pipeline turns the LB files of rpd/cpd/scpd requests into per-request L0 and L1 files."""

from __future__ import annotations

import shutil
from pathlib import Path

from astropy.io import fits

from stix_lib.dev.simulate.reference import encode_reference
from stix_lib.pipeline import Pipeline
from stix_lib.products.writer import ProductWriter

TOTALS = {20: 19086, 21: 19078, 22: 19079}


def test_pipeline_writes_science_requests_once(
    tmp_path: Path, references, idb_dir, idb_manager, energy_channels, kernels
):
    source = tmp_path / "l1-ref"
    source.mkdir()
    for product in references.values():
        shutil.copy(product.path, source / product.path.name)
    encoding = encode_reference(source, tmp_path / "tm", idb_dir)
    writer = ProductWriter(
        tmp_path / "archive", energy_channels=energy_channels, kernels=kernels, date="2026-01-01T00:00:00.000"
    )
    pipeline = Pipeline(writer, idb_manager, date="2026-01-01T00:00:00.000")
    reports = [pipeline.process_tm(tm) for tm in encoding.tm_files]
    assert all(r.status == "ok" for r in reports), [r.to_dict() for r in reports]
    l0 = sorted((tmp_path / "archive" / "L0" / "21" / "6").rglob("solo_L0_stix-sci-xray-*.fits"))
    l1 = sorted((tmp_path / "archive" / "L1").rglob("SCI/solo_L1_stix-sci-xray-*.fits"))
    assert len(l0) == len(l1) == 3
    assert sum(len(r.produced.get("L0", [])) for r in reports) == 3
    assert sum(len(r.produced.get("L1", [])) for r in reports) == 3
    for path in l1:
        header = fits.getheader(path)
        assert int(fits.getdata(path, "DATA")["counts"].sum()) == TOTALS[header["SSID"]]
        assert header["VERSION"] == "02" and path.name.endswith(f"_{header['SCI_RID']}-{header['SCI_TCC']}.fits")
    again = [pipeline.process_tm(tm) for tm in encoding.tm_files]
    assert not any(r.produced.get("L0") or r.produced.get("L1") for r in again)  # write-once
