"""The orchestrator: per-TM-file reports, L2 hook, unusable files, stop on error, start levels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stix_lib.pipeline import Level, Pipeline, PipelineAborted, read_conf_version
from stix_lib.products.writer import ProductWriter
from tests.support.products_support import FIXED_DATE


@pytest.fixture
def pipeline(tmp_path: Path, idb_manager, energy_channels, kernels) -> Pipeline:
    writer = ProductWriter(tmp_path / "archive", energy_channels=energy_channels, kernels=kernels, date=FIXED_DATE)
    return Pipeline(writer, idb_manager, date=FIXED_DATE)


@pytest.fixture
def moc_tm(reference_data: Path, tmp_path: Path) -> Path:
    target = tmp_path / "tm" / "moc_test.PktTmRaw.xml"
    target.parent.mkdir()
    shutil.copy(reference_data / "tm" / "moc_test.PktTmRaw.xml", target)
    return target


def test_report_of_one_tm_file(pipeline: Pipeline, moc_tm: Path) -> None:
    calls: list[Path] = []

    def hook(l1_path: Path) -> list[Path]:
        calls.append(l1_path)
        return [l1_path.with_name("cal-product.fits")]

    pipeline.l2_hook = hook
    handed: list[Path] = []
    take = pipeline.lb_handover.take
    pipeline.lb_handover.take = lambda path: handed.append(path) or take(path)  # type: ignore[method-assign]
    report = pipeline.process_tm(moc_tm)
    assert report.status == "ok"
    # every LB file written went to LB -> L0 from memory, once; nothing is left behind
    assert sorted(map(str, handed)) == sorted(report.produced["LB"]) and len(pipeline.lb_handover) == 0
    assert {level: len(files) for level, files in report.produced.items()} == {"LB": 7, "L0": 7, "L1": 7, "L2": 1}
    assert [p.name for p in calls] == ["solo_L1_stix-cal-energy_20191127_V03U.fits"]
    summary = json.loads(json.dumps(report.to_dict()))
    assert summary["status"] == "ok" and summary["packet_errors"] == []
    again = pipeline.process_tm(moc_tm)  # nothing new: nothing rewritten, the hook is not called again
    assert not any(again.produced.get(level) for level in ("LB", "L0", "L1", "L2"))
    assert len(again.unchanged["L1"]) == 7 and len(calls) == 1


def test_failing_l2_hook_costs_only_its_product(pipeline: Pipeline, moc_tm: Path) -> None:
    def hook(l1_path: Path) -> list[Path]:
        raise RuntimeError("ECC programs crashed")

    pipeline.l2_hook = hook
    report = pipeline.process_tm(moc_tm)
    assert report.status == "partial"
    assert any("ECC programs crashed" in e for e in report.file_errors)
    assert len(report.produced["L1"]) == 7


def test_unusable_file(pipeline: Pipeline, tmp_path: Path) -> None:
    broken = tmp_path / "broken.PktTmRaw.xml"
    broken.write_text("<ns2:ResponsePart><Response>")
    report = pipeline.process_tm(broken)
    assert report.status == "unusable" and report.unusable
    assert not report.produced.get("LB")


def test_stop_on_error(pipeline: Pipeline, moc_tm: Path) -> None:
    text = moc_tm.read_text()
    start = text.index("<Packet>") + len("<Packet>")
    moc_tm.write_text(text[:start] + "zz" + text[start + 2 :])
    pipeline.stop_on_error = True
    with pytest.raises(PipelineAborted) as raised:
        pipeline.process_tm(moc_tm)
    assert raised.value.report.packet_errors


def test_levels(pipeline: Pipeline, moc_tm: Path) -> None:
    run = pipeline.run([moc_tm], end_level="L0")
    assert len(run.written("L0")) == 7 and not run.written("L1")
    l0_files = [Path(p) for p in run.written("L0")]
    run = pipeline.run(l0_files, start_level="L0", end_level="ALL")
    assert len(run.written("L1")) == 7
    assert Level.parse("all") == Level.ALL
    with pytest.raises(ValueError):
        pipeline.run([moc_tm], start_level="L1", end_level="L0")


def test_conf_version(tmp_path: Path) -> None:
    assert read_conf_version(tmp_path) == "v0.1.5code"  # STIXCore's fallback (processing spec §6.2)
    (tmp_path / "VERSION.TXT").write_text("v0.1.10\nmore\n")
    assert read_conf_version(tmp_path) == "v0.1.10"


def test_generic_products_go_to_l1(pipeline: Pipeline, tmp_path: Path, idb_manager) -> None:
    """Other services (here TC verification 1/7) become generic L0/L1 tables without the U marker."""
    from stix_lib.decode import get_layout
    from stix_lib.decode.encoder import encode_packet
    from stix_lib.products.fits_io import read_product
    from tests.support.products_support import DAY_2020_05_06, write_tm_xml

    layout = get_layout(idb_manager.get_idb("2.26.32"), 1, 7, None)
    packets = [encode_packet(layout, {}, coarse=DAY_2020_05_06 + 3600 * i, sequence_count=i) for i in range(3)]
    report = pipeline.process_tm(write_tm_xml(tmp_path / "tc.PktTmRaw.xml", packets))
    assert report.status == "ok", report.to_dict()
    (l1,) = [Path(p) for p in report.produced["L1"]]
    assert l1.name == "solo_L1_stix-tc-verify-7_20200506_V02.fits"
    assert l1.parent.name == "TC-VERIFY"
    assert len(read_product(l1)) == 3
