"""Kernel zip bombs (issue 16 item 9), stale ``.partial`` files (item 10), refused-packet counts in ``status``."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest

from stix_lib.settings import Settings
from tests.support.robustness_support import short_tc_packet, with_extra_packets


def _bomb(path: Path, size: int) -> Path:
    """A zip with one kernel-like member of ``size`` zero bytes (deflate: ~1000 times smaller)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("ck/solo_ANC_soc-sc-bomb-ck_V01.bc", "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    return path


def test_zip_expanding_far_beyond_its_size_is_refused(tmp_path, settings) -> None:
    from stix_lib.db import connect
    from stix_lib.stages.spice_sync import unzip_pending

    zips = Path(settings.from_soc_dir) / "kernels"
    zips.mkdir(parents=True)
    bomb = _bomb(zips / "solo_ANC_soc-bomb_20240101_V01.zip", 64 << 20)
    assert bomb.stat().st_size < 1 << 20  # < 1 MB expanding to 64 MiB
    result = unzip_pending(settings, connect(settings.pipeline_db_url))
    assert list(result.failed) == [bomb.name] and not result.unzipped
    reason = result.failed[bomb.name]
    assert "expands" in reason and "spice_zip_max_ratio" in reason and "solo_ANC_soc-sc-bomb-ck_V01.bc" in reason
    assert not any(Path(settings.spice_dir).rglob("*.bc"))


def test_zip_total_size_limit_is_a_setting(tmp_path) -> None:
    from stix_lib.stages.spice_sync import UnsafeZipError, unzip_into

    path = tmp_path / "solo_ANC_soc-big_20240101_V01.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("fk/a.tf", os.urandom(3000))
        archive.writestr("fk/b.tf", os.urandom(3000))
    with pytest.raises(UnsafeZipError, match="6000 bytes, more than the limit of 5000 .spice_zip_max_total"):
        unzip_into(path, tmp_path / "kernels", max_bytes=5000)
    assert unzip_into(path, tmp_path / "kernels", max_bytes=6000) == ["fk/a.tf", "fk/b.tf"]


def test_zip_limits_come_from_the_environment(monkeypatch) -> None:
    from stix_lib.settings import load_settings

    monkeypatch.setenv("STIX_SPICE_ZIP_MAX_RATIO", "50")
    monkeypatch.setenv("STIX_SPICE_ZIP_MAX_TOTAL", "1000000")
    monkeypatch.delenv("STIX_CONFIG", raising=False)
    loaded = load_settings()
    assert (loaded.spice_zip_max_ratio, loaded.spice_zip_max_total) == (50, 1_000_000)
    assert Settings().spice_zip_max_ratio == 200


def test_stale_partials_are_removed_when_a_run_starts(corpus, tmp_path) -> None:
    from tests.support.robustness_support import run_pipeline

    archive = tmp_path / "fits"
    folder = archive / "L1" / "2019" / "01" / "01" / "QL"  # a day the run writes nothing to: only its start sweeps
    folder.mkdir(parents=True)
    stale = folder / ".solo_L1_stix-ql-lightcurve_20190101_V02U.fits.x1y2.partial"
    fresh = folder / ".solo_L1_stix-ql-lightcurve_20190101_V02U.fits.a3b4.partial"
    for path in (stale, fresh):
        path.write_bytes(b"half a file")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    run_pipeline(corpus.settings, archive, [corpus.a])
    assert not stale.exists()  # left by a killed writer two hours ago
    assert fresh.exists()  # may belong to a writer running right now


def test_status_counts_refused_packets_of_recent_reports(corpus, tmp_path) -> None:
    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState
    from stix_lib.monitor.status import db_status, refused_packets
    from stix_lib.pipeline import PipelineOptions, build_pipeline, tasks

    settings = corpus.settings.replace(pipeline_db_url=f"sqlite:///{tmp_path / 'pipeline.sqlite'}")
    engine = connect(settings.pipeline_db_url)
    extra = [(1, short_tc_packet()), (2, short_tc_packet(20))]
    damaged = with_extra_packets(corpus.c, tmp_path / "c_tc.PktTmRaw.xml", extra)
    ledger.record_incoming(engine, damaged)
    ledger.set_state(engine, damaged.name, TMState.STAGED, path=damaged)
    pipeline = build_pipeline(settings, PipelineOptions(fits_dir=tmp_path / "fits", end_level="L1"))
    result = tasks.tm_to_lb_step(pipeline, settings, engine, str(damaged))
    tasks.record_step(engine, tmp_path / "fits", [result], [], run_id="r1")
    assert refused_packets(engine) == {"tc": 2}
    assert db_status(settings, engine)["refused"] == {"tc": 2}
