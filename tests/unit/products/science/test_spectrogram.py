"""Reference spectrogram L1 -> simulated TM -> LB -> decoded request: times, triggers, rcr, counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from stix_lib.dev.simulate.reference import encode_reference
from stix_lib.dev.simulate.reference_io import ReferenceProduct, read_product
from stix_lib.lb.convert import tms_to_lb
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import SpectrogramRequest, decode_spectrogram_request


@pytest.fixture(scope="module")
def spectrogram(tmp_path_factory, reference_data: Path, idb_dir: Path, idb_manager):
    (path,) = (reference_data / "reference" / "l1").glob("solo_L1_stix-sci-xray-spec_*.fits")
    source = tmp_path_factory.mktemp("spec-l1")
    shutil.copy(path, source / path.name)
    encoding = encode_reference(source, tmp_path_factory.mktemp("spec-tm"), idb_dir)
    archive = tmp_path_factory.mktemp("spec-lb")
    tms_to_lb(encoding.tm_files, archive, idb_manager)
    (lb_path,) = archive.rglob("*.fits")
    lb = read_lb(lb_path)
    assert lb.key == (21, 6, 24)
    report = request_sequences(lb.headers["sequence_flag"], lb.headers["sequence_count"], lb.key)
    assert report.incomplete == [] and len(report.complete) == 1
    (batch,), errors = decode_lb_product(lb, idb_manager)
    assert errors == []
    return read_product(path), decode_spectrogram_request(batch)


def test_spectrogram_values_come_back(spectrogram: tuple[ReferenceProduct, SpectrogramRequest]) -> None:
    reference, request = spectrogram
    data = reference.data
    centres = reference.bin_start_times() + reference.bin_widths() / 2.0
    assert len(request.time) == len(data) == 5
    assert np.max(np.abs(request.time - centres)) <= 1e-3
    assert np.array_equal(request.timedel, np.asarray(data["timedel"], dtype=np.int64))
    assert np.array_equal(request.triggers, np.asarray(data["triggers"], dtype=np.int64).ravel())
    assert np.array_equal(request.rcr, np.asarray(data["rcr"], dtype=np.int64))
    assert np.array_equal(request.pixel_masks, np.asarray(data["pixel_masks"]))
    assert np.array_equal(request.counts, np.asarray(data["counts"], dtype=np.int64))
    control = reference.control[0]
    assert request.control["request_id"] == int(control["request_id"])
    assert np.array_equal(request.control["detector_masks"], np.asarray(control["detector_masks"]))
    assert request.energy_bin_edge_mask[0] == 1 and request.energy_bin_edge_mask[32] == 1
    assert not request.datawarn
