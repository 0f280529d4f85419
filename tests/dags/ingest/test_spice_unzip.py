"""SPICE sync: safe unzip of kernel deliveries (good zip lands; corrupt / zip-slip / symlink zips refused)."""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from pathlib import Path

import pendulum
import pytest

from tests.support.ingest_helpers import (
    asset_events,
    build_kernel_tree,
    flown_mk_name,
    flown_mk_zip,
    mk_text,
    write_zip,
)

GOOD = "solo_ANC_soc-flown-mk_V999_20200701_001.zip"


def _tree_files(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, bytes]:
    """Every file below ``root`` (relative path → content), except below ``skip``."""
    out: dict[str, bytes] = {}
    for dirpath, _dirs, files in os.walk(root):
        if any(Path(dirpath).is_relative_to(s) for s in skip):
            continue
        for name in files:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def _corrupt(path: Path) -> Path:
    """Flip bytes inside the compressed data of the first member (local header stays valid)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 2, start + 12):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _bad_zips(folder: Path, reference_data: Path, outside: Path) -> dict[str, tuple[Path, str]]:
    """Refused zips by kind: (path, expected reason fragment)."""
    text = mk_text(reference_data).encode()
    crc = folder / "solo_ANC_soc-crc_20200702.zip"
    return {
        "corrupt": (_corrupt(write_zip(crc, {"mk/crc.tm": text}, stored=True)), "fails its CRC check"),
        "deflate": (_corrupt(flown_mk_zip(folder / "solo_ANC_soc-bits_20200708.zip", reference_data, "20200708")),
                    "corrupt archive"),
        "truncated": (_truncate(flown_mk_zip(folder / "solo_ANC_soc-cut_20200703.zip", reference_data, "20200703")),
                      "not a readable zip archive"),
        "dotdot": (write_zip(folder / "solo_ANC_soc-slip_20200704.zip", {"mk/ok.tm": text, "../../evil.tm": b"x"}),
                   "contains '..'"),
        "absolute": (write_zip(folder / "solo_ANC_soc-abs_20200705.zip", {str(outside / "evil.tm"): b"x"}),
                     "absolute path"),
        "symlink": (write_zip(folder / "solo_ANC_soc-link_20200706.zip", {"mk/ok2.tm": text},
                              symlinks={"mk/link.tm": "/etc/passwd"}), "symbolic link"),
    }  # fmt: skip


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_good_zip_lands_atomically_and_is_ledgered(settings, reference_data):
    from stix_lib.db import connect
    from stix_lib.db.schema import spice_zips
    from stix_lib.stages.spice_sync import pending_zips, unzip_pending

    build_kernel_tree(settings.spice_dir, reference_data, flown_day="20200611")
    sclk = (reference_data / "spice" / "kernels" / "sclk" / "solo_ANC_soc-sclk_20200611_V01.tsc").read_bytes()
    members = {f"mk/{flown_mk_name('20200701')}": mk_text(reference_data).encode(), "sclk/new_V01.tsc": sclk}
    write_zip(settings.from_soc_dir / "kernels" / GOOD, members)
    write_zip(settings.from_soc_dir / "kernels" / "other_delivery.zip", {"mk/x.tm": b"not matched by the pattern"})
    engine = connect(settings.pipeline_db_url)

    result = unzip_pending(settings, engine)

    assert result.failed == {} and sorted(result.unzipped[GOOD]) == sorted(members)
    for rel, data in members.items():
        target = settings.spice_dir / rel
        assert target.read_bytes() == data
        assert target.stat().st_mtime == pytest.approx(pendulum.datetime(2024, 1, 2, 3, 4, 6, tz="local").timestamp())
    assert not (settings.spice_dir / "mk" / "x.tm").exists()
    assert [p.name for p in settings.spice_dir.parent.iterdir() if p.name.startswith(".unzip-")] == []
    with engine.connect() as conn:
        row = conn.execute(spice_zips.select()).one()
    assert row.name == GOOD and sorted(json.loads(row.files)) == sorted(members)
    assert row.size == (settings.from_soc_dir / "kernels" / GOOD).stat().st_size and len(row.sha256) == 64
    assert pending_zips(settings, engine) == []


@pytest.mark.parametrize("kind", ["corrupt", "deflate", "truncated", "dotdot", "absolute", "symlink"])
def test_bad_zip_is_refused_with_a_clear_reason(settings, reference_data, tmp_path, kind):
    from stix_lib.stages.spice_sync import UnsafeZipError, unzip_into

    outside = Path("/tmp") / f"stix-zip-slip-{uuid.uuid4().hex}"
    path, reason = _bad_zips(tmp_path / "zips", reference_data, outside)[kind]
    before = _tree_files(tmp_path)
    with pytest.raises(UnsafeZipError, match=reason) as refused:
        unzip_into(path, settings.spice_dir)
    assert str(path) in str(refused.value)
    assert _tree_files(tmp_path) == before  # nothing written anywhere below tmp_path ...
    assert not outside.exists()  # ... nor at the absolute path
    assert [p.name for p in settings.spice_dir.parent.iterdir() if p.name.startswith(".unzip-")] == []


def test_batch_goes_on_fails_at_the_end_and_retries_next_run(settings, reference_data, tmp_path):
    from stix_lib.db import connect
    from stix_lib.stages.spice_sync import pending_zips, unzipped
    from stix_ops.operators.spice import KernelUnzipOperator

    build_kernel_tree(settings.spice_dir, reference_data, flown_day="20200611")
    folder = settings.from_soc_dir / "kernels"
    outside = Path("/tmp") / f"stix-zip-slip-{uuid.uuid4().hex}"
    bad = _bad_zips(folder, reference_data, outside)
    flown_mk_zip(folder / GOOD, reference_data, "20200701")
    outside_spice = _tree_files(tmp_path, skip=(settings.spice_dir, settings.data_root))

    with pytest.raises(RuntimeError) as failed:
        KernelUnzipOperator(task_id="unzip_kernels").execute({})

    message = str(failed.value)
    assert message.startswith("6 kernel zip(s) refused (1 unzipped)")
    for path, reason in bad.values():
        assert path.name in message
        assert reason in message
    engine = connect(settings.pipeline_db_url)
    assert list(unzipped(engine)) == [GOOD]  # ledger rows for successes only
    assert (settings.spice_dir / "mk" / flown_mk_name("20200701")).is_file()
    assert not (settings.spice_dir / "mk" / "ok.tm").exists()  # the good member of a refused zip is not there
    assert not (settings.spice_dir / "mk" / "ok2.tm").exists()
    assert _tree_files(tmp_path, skip=(settings.spice_dir, settings.data_root)) == outside_spice
    assert not outside.exists() and not (settings.spice_dir.parent.parent / "evil.tm").exists()

    # the refused zips are tried again on the next run; a re-delivered good copy then lands
    assert sorted(p.name for p in pending_zips(settings, engine)) == sorted(p.name for p, _ in bad.values())
    fixed = bad["corrupt"][0]
    flown_mk_zip(fixed, reference_data, "20200702")
    with pytest.raises(RuntimeError, match=r"^5 kernel zip\(s\) refused \(1 unzipped\)"):
        KernelUnzipOperator(task_id="unzip_kernels").execute({})
    assert sorted(unzipped(engine)) == sorted([GOOD, fixed.name])
    assert (settings.spice_dir / "mk" / flown_mk_name("20200702")).is_file()


def test_symlinked_folder_in_the_tree_is_not_followed(settings, reference_data, tmp_path):
    from stix_lib.stages.spice_sync import UnsafeZipError, unzip_into

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    settings.spice_dir.mkdir(parents=True, exist_ok=True)
    (settings.spice_dir / "mk").symlink_to(elsewhere)
    path = write_zip(tmp_path / "solo_ANC_soc-x_20200707.zip", {"mk/new.tm": b"KPL/MK"})
    with pytest.raises(UnsafeZipError, match="would be written outside"):
        unzip_into(path, settings.spice_dir)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.airflow
def test_spice_sync_dag_over_ssh(dagbag, settings, reference_data, tmp_path, soc_connection, monkeypatch):
    from airflow.utils.state import DagRunState

    from stix_lib.db import connect
    from stix_lib.stages.spice_sync import unzipped

    source = tmp_path / "soc" / "from_soc"
    flown_mk_zip(source / "kernels" / GOOD, reference_data, "20200701")
    (source / "soop").mkdir(parents=True)
    (source / "soop" / "LTP03.SOOP.json").write_text('{"soops": []}')
    (source / "kernels" / ".solo_ANC_soc-next_20200801.zip.part").write_bytes(b"half")
    monkeypatch.setenv("STIX_FROM_SOC_SOURCE", str(source))
    monkeypatch.setenv("STIX_FROM_SOC_SOURCE_LOCAL", "false")
    build_kernel_tree(settings.spice_dir, reference_data, flown_day="20200611")
    before = len(asset_events("stix://spice/kernels"))

    run = dagbag.get_dag("stix_spice_sync").test(logical_date=pendulum.datetime(2026, 4, 1, tz="UTC"))

    assert run.state == DagRunState.SUCCESS
    assert _tree_files(settings.from_soc_dir) == {
        f"kernels/{GOOD}": (source / "kernels" / GOOD).read_bytes(),
        "soop/LTP03.SOOP.json": b'{"soops": []}',
    }
    assert (settings.spice_dir / "mk" / flown_mk_name("20200701")).is_file()
    assert list(unzipped(connect(settings.pipeline_db_url))) == [GOOD]
    events = asset_events("stix://spice/kernels")[before:]
    assert events == [
        {"flown_mk": flown_mk_name("20200701"), "predicted_mk": "solo_ANC_soc-pred-mk_V999_20200611_001.tm",
         "zips": [GOOD]}
    ]  # fmt: skip
    # nothing new on the next run: skipped, no event
    run = dagbag.get_dag("stix_spice_sync").test(logical_date=pendulum.datetime(2026, 4, 1, 0, 15, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    assert {ti.task_id: ti.state for ti in run.get_task_instances()}["unzip_kernels"] == "skipped"
    assert len(asset_events("stix://spice/kernels")) == before + 1
