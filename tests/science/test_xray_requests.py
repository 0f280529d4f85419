"""Reference rpd/cpd/scpd L1 -> simulated TM -> LB -> decoded requests: the reference values come back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from stix_lib.idb.manager import IDBManager
from stix_lib.lb.convert import tms_to_lb
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import XrayRequest, decode_xray_request
from stix_lib.simulate.reference import encode_reference
from stix_lib.simulate.reference_io import ReferenceProduct, read_product

TOTALS = {"sci-xray-rpd": 19086, "sci-xray-cpd": 19078, "sci-xray-scpd": 19079}
SSIDS = {"sci-xray-rpd": 20, "sci-xray-cpd": 21, "sci-xray-scpd": 22}


@pytest.fixture(scope="module")
def references(reference_data: Path) -> dict[str, ReferenceProduct]:
    paths = sorted((reference_data / "reference" / "l1").glob("solo_L1_stix-sci-xray-*pd_*.fits"))
    return {p.name: p for p in map(read_product, paths)}


@pytest.fixture(scope="module")
def requests(
    tmp_path_factory: pytest.TempPathFactory, references, idb_dir: Path, idb_manager: IDBManager
) -> dict[int, XrayRequest]:
    source = tmp_path_factory.mktemp("xray-l1")
    for product in references.values():
        shutil.copy(product.path, source / product.path.name)
    encoding = encode_reference(source, tmp_path_factory.mktemp("xray-tm"), idb_dir)
    archive = tmp_path_factory.mktemp("xray-lb")
    tms_to_lb(encoding.tm_files, archive, idb_manager)
    out = {}
    for path in sorted(archive.rglob("*.fits")):
        lb = read_lb(path)
        report = request_sequences(lb.headers["sequence_flag"], lb.headers["sequence_count"], lb.key)
        assert report.incomplete == [] and len(report.complete) == 1
        (batch,), errors = decode_lb_product(lb, idb_manager)
        assert errors == []
        request = decode_xray_request(batch)
        out[request.ssid] = request
    return out


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_reference_request_values_come_back(name: str, references, requests) -> None:
    reference = references[name]
    request = requests[SSIDS[name]]
    data = reference.data
    assert request.counts.sum() == TOTALS[name] == int(np.asarray(data["counts"]).sum())
    assert np.array_equal(request.counts, np.asarray(data["counts"], dtype=np.int64))
    assert np.array_equal(request.triggers, np.asarray(data["triggers"], dtype=np.int64))
    assert np.array_equal(request.rcr, np.asarray(data["rcr"], dtype=np.int64))
    assert np.array_equal(request.detector_masks, np.asarray(data["detector_masks"]))
    assert np.array_equal(request.pixel_masks, np.asarray(data["pixel_masks"]))
    centres = reference.bin_start_times() + reference.bin_widths() / 2.0
    assert np.max(np.abs(request.time - centres)) <= 1e-3
    assert np.array_equal(request.timedel, np.asarray(data["timedel"], dtype=np.int64))
    control = reference.control[0]
    assert request.control["request_id"] == int(control["request_id"])
    assert request.control["tc_packet_seq_control"] == int(control["tc_packet_seq_control"])
    assert abs(request.control["time_stamp"] - float(control["time_stamp"])) <= 1e-3
    used = np.flatnonzero(np.asarray(data["counts"]).sum(axis=(0, 1, 2)))
    assert set(np.flatnonzero(request.energy_bin_edge_mask[:32]).tolist()) >= set(used.tolist())
    if SSIDS[name] != 20:
        assert np.array_equal(request.num_pixel_sets, np.asarray(data["num_pixel_sets"], dtype=np.int64))
        assert np.array_equal(
            request.control["compression_scheme_triggers_skm"], np.asarray(control["compression_scheme_triggers_skm"])
        )
        assert not request.datawarn and request.comments == []
