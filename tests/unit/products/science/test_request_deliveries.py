"""Acceptance: a request split over three TM deliveries, out of order, gives one complete L1 product.

The reference cpd request (16 packets, as the reference's CONTROL records) is encoded to one EDDS
file and cut into three deliveries (packets 1-6, 7-11, 12-16). Processed one delivery at a time
through the Pipeline in the order 3, 1, 2, the L1 file appears exactly once, after the last
delivery, and equals the product of processing the whole file at once, ignoring ``DATE``,
``CHECKSUM``, ``DATASUM``, ``VERS_SW`` and the delivery file names (``RAW_FILE`` and the
``raw_file`` column, which necessarily name the three deliveries). A request missing two middle
packets (one missing packet is the tolerated gap) yields no L1 and is reported as incomplete.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.dev.simulate.reference import encode_reference
from stix_lib.pipeline import Pipeline
from stix_lib.products.writer import ProductWriter

DATE = "2026-01-01T00:00:00.000"
IGNORED = {"DATE", "CHECKSUM", "DATASUM", "VERS_SW", "RAW_FILE"}
ELEMENT = re.compile(r"<PktRawResponseElement .*?</PktRawResponseElement>\s*", re.S)


@pytest.fixture(scope="module")
def cpd_tm(tmp_path_factory, reference_data: Path, idb_dir: Path) -> Path:
    (cpd,) = (reference_data / "reference" / "l1").glob("solo_L1_stix-sci-xray-cpd_*.fits")
    source = tmp_path_factory.mktemp("deliveries-l1")
    shutil.copy(cpd, source / cpd.name)
    (tm,) = encode_reference(source, tmp_path_factory.mktemp("deliveries-tm"), idb_dir).tm_files
    return tm


def _deliveries(tm: Path, out: Path, parts: list[list[int]]) -> list[Path]:
    """EDDS files holding the given packet positions of ``tm`` (named like SOC deliveries)."""
    text = tm.read_text()
    elements = ELEMENT.findall(text)
    head, tail = text[: text.index(elements[0])], text[text.index(elements[-1]) + len(elements[-1]) :]
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for number, rows in enumerate(parts, start=1):
        path = out / tm.name.replace(".1.xml", f".{number}.xml")
        path.write_text(head + "".join(elements[r] for r in rows) + tail)
        files.append(path)
    return files


def _pipeline(archive: Path, idb_manager, energy_channels, kernels) -> Pipeline:
    writer = ProductWriter(archive, energy_channels=energy_channels, kernels=kernels, date=DATE)
    return Pipeline(writer, idb_manager, date=DATE)


def _l1(archive: Path) -> list[Path]:
    return sorted((archive / "L1").rglob("solo_L1_stix-sci-xray-cpd_*.fits"))


def test_out_of_order_deliveries_give_one_complete_product(
    tmp_path: Path, cpd_tm: Path, idb_manager, energy_channels, kernels
) -> None:
    parts = [list(range(0, 6)), list(range(6, 11)), list(range(11, 16))]
    first, second, third = _deliveries(cpd_tm, tmp_path / "tm", parts)
    pipeline = _pipeline(tmp_path / "split", idb_manager, energy_channels, kernels)
    reports = []
    for delivery in (third, first):
        reports.append(pipeline.process_tm(delivery))
        assert _l1(tmp_path / "split") == []
        assert any("incomplete sequence" in w for w in reports[-1].warnings)
    reports.append(pipeline.process_tm(second))
    assert all(r.status == "ok" for r in reports), [r.to_dict() for r in reports]
    (split,) = _l1(tmp_path / "split")
    assert reports[-1].produced["L1"] == [str(split)]

    whole = _pipeline(tmp_path / "whole", idb_manager, energy_channels, kernels)
    assert whole.process_tm(cpd_tm).status == "ok"
    (single,) = _l1(tmp_path / "whole")
    assert split.name == single.name
    with fits.open(split) as a, fits.open(single) as b:
        assert a[0].header["COMPLETE"] and len(a) == len(b)
        assert len(a[0].header["RAW_FILE"].split(";")) == 3
        keys = [k for k in a[0].header if k not in IGNORED]
        assert keys == [k for k in b[0].header if k not in IGNORED]
        for key in set(keys) - {"COMMENT", "HISTORY"}:
            assert a[0].header[key] == b[0].header[key], key
        for hdu_a, hdu_b in zip(a[1:], b[1:], strict=True):
            assert hdu_a.name == hdu_b.name and hdu_a.columns.names == hdu_b.columns.names
            for name in hdu_a.columns.names:
                if name != "raw_file":
                    assert np.array_equal(hdu_a.data[name], hdu_b.data[name]), (hdu_a.name, name)
        assert int(a["DATA"].data["counts"].sum()) == 19078


def test_request_missing_two_middle_packets_gives_no_l1(
    tmp_path: Path, cpd_tm: Path, idb_manager, energy_channels, kernels
) -> None:
    (delivery,) = _deliveries(cpd_tm, tmp_path / "tm", [[r for r in range(16) if r not in (7, 8)]])
    report = _pipeline(tmp_path / "fits", idb_manager, energy_channels, kernels).process_tm(delivery)
    assert _l1(tmp_path / "fits") == [] and not report.produced.get("L1") and not report.produced.get("L0")
    (warning,) = [w for w in report.warnings if "incomplete sequence" in w]
    assert "14 packets" in warning and "2 sequence counts missing" in warning
