"""Delivery order and batching do not change the products (apart from DATE/CHECKSUM/DATASUM/VERS_SW)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib.pipeline import Pipeline
from stix_lib.products.writer import ProductWriter
from stix_lib.validate.archive_diff import archive_differences
from tests.support.products_support import DAY_2020_05_06, FIXED_DATE, hk_stream, moc_templates, ql_stream, write_tm_xml


@pytest.fixture(scope="module")
def deliveries(reference_data: Path, idb_manager, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three TM files over two SCET days and a UTC midnight; the third re-delivers packets of the first."""
    templates = moc_templates(reference_data, idb_manager)
    start = DAY_2020_05_06 - 3 * 3600
    ql = ql_stream(templates, start, 6.0)
    hk = hk_stream(idb_manager, start, 6.0, cadence=900)
    cal = [p for p in templates if p.key == (21, 6, 41)][:2]
    from tests.support.products_support import retimed

    cal_packets = [retimed(t, start + 1800 - t.values["NIX00445"][0]) for t in cal]
    folder = tmp_path_factory.mktemp("deliveries")
    first = ql[::2] + hk[: len(hk) // 2]
    second = ql[1::2] + cal_packets
    third = ql[:10] + hk[len(hk) // 2 :]  # re-delivery of the first 10 QL packets, plus new HK
    return [
        write_tm_xml(folder / "A.PktTmRaw.xml", first),
        write_tm_xml(folder / "B.PktTmRaw.xml", second),
        write_tm_xml(folder / "C.PktTmRaw.xml", third),
    ]


def _pipeline(archive: Path, idb_manager, energy_channels, kernels, workers: int = 1) -> Pipeline:
    writer = ProductWriter(archive, vers_cfg="v0.1.10", energy_channels=energy_channels, kernels=kernels)
    return Pipeline(writer, idb_manager, date=FIXED_DATE, workers=workers)


def _files(archive: Path) -> dict[str, Path]:
    return {str(p.relative_to(archive)): p for p in sorted(archive.rglob("*.fits"))}


def _assert_same_archives(left: Path, right: Path) -> None:
    assert archive_differences(left, right) == []


def test_one_at_a_time_batch_and_shuffled_give_identical_files(
    deliveries, tmp_path: Path, idb_manager, energy_channels, kernels, monkeypatch
) -> None:
    one_by_one = tmp_path / "one"
    pipeline = _pipeline(one_by_one, idb_manager, energy_channels, kernels)
    reports = [pipeline.process_tm(tm) for tm in deliveries]
    assert all(r.status == "ok" for r in reports), [r.to_dict() for r in reports]

    batch = tmp_path / "batch"
    run = _pipeline(batch, idb_manager, energy_channels, kernels).run(deliveries)
    assert run.ok, run.to_dict()

    shuffled = tmp_path / "shuffled"
    pipeline = _pipeline(shuffled, idb_manager, energy_channels, kernels)
    for tm in (deliveries[2], deliveries[0], deliveries[1]):
        assert pipeline.process_tm(tm).status == "ok"

    shuffled_batch = tmp_path / "shuffled-batch"
    assert _pipeline(shuffled_batch, idb_manager, energy_channels, kernels).run(deliveries[::-1]).ok

    parallel = tmp_path / "parallel"  # every LB file its own task: border files merged by two workers
    monkeypatch.setattr("stix_lib.pipeline.orchestrator.PARALLEL_CHUNK", 1)
    assert _pipeline(parallel, idb_manager, energy_channels, kernels, workers=2).run(deliveries).ok

    files = _files(one_by_one)
    levels = {name.split("/")[0] for name in files}
    assert levels == {"LB", "L0", "L1"}
    assert sum(name.startswith("L1/2020/05/05") for name in files) >= 7
    assert sum(name.startswith("L1/2020/05/06") for name in files) >= 7
    for other in (batch, shuffled, shuffled_batch, parallel):
        _assert_same_archives(one_by_one, other)


def test_rerun_changes_nothing(deliveries, tmp_path: Path, idb_manager, energy_channels, kernels) -> None:
    archive = tmp_path / "archive"
    pipeline = _pipeline(archive, idb_manager, energy_channels, kernels)
    first = pipeline.run(deliveries)
    assert first.ok
    stamps = {name: p.stat().st_mtime_ns for name, p in _files(archive).items()}
    again = pipeline.run(deliveries)
    assert again.ok
    assert all(not report.produced.get(level) for report in again.files for level in ("LB", "L0", "L1"))
    assert {name: p.stat().st_mtime_ns for name, p in _files(archive).items()} == stamps


def test_parts_for_files_already_written_are_merged(deliveries, tmp_path: Path, idb_manager, energy_channels, kernels):
    """Inputs streamed against day order (flushes too early) still give the same files."""
    from stix_lib.pipeline.report import FileReport
    from stix_lib.pipeline.stream import ProductStream, feed, stream_order

    normal = tmp_path / "normal"
    assert _pipeline(normal, idb_manager, energy_channels, kernels).run(deliveries).ok
    lb_files = sorted((normal / "LB").rglob("*.fits"))
    reverse = tmp_path / "reverse"
    writer = ProductWriter(reverse, vers_cfg="v0.1.10", energy_channels=energy_channels, kernels=kernels)
    for lb in lb_files:  # same LB content in the other archive
        target = reverse / lb.relative_to(normal)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(lb.read_bytes())
    stream = ProductStream(writer, idb_manager, make_l1=True)
    backwards = list(reversed(stream_order([reverse / p.relative_to(normal) for p in lb_files])))
    feed(stream, [(p, FileReport(str(p))) for p in backwards], stream.add_lb)
    _assert_same_archives(normal, reverse)
