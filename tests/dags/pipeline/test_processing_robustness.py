"""Acceptance tests of "Processing and daily DAGs": concurrent files, crash safety, re-delivery.

Every run is a real ``Pipeline.run`` in its own Python process (as two Airflow task processes
would be) against a real archive; outcomes are compared FITS file by FITS file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from astropy.io import fits

from stix_lib.validate.archive_diff import archive_differences

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[3]

#: One process: TM -> LB -> L0 -> L1 of the given TM files into the archive ``argv[1]``.
RUNNER = """
import sys
from pathlib import Path
from stix_lib.pipeline import PipelineOptions, build_pipeline
from stix_lib.settings import load_settings
pipeline = build_pipeline(load_settings(), PipelineOptions(fits_dir=Path(sys.argv[1]), end_level="L1"))
run = pipeline.run([Path(p) for p in sys.argv[2:]], end_level="L1")
bad = [r.source for r in run.files if r.status not in ("ok", "partial")]
sys.exit(1 if bad else 0)
"""


@pytest.fixture
def day(settings, reference_data, monkeypatch):
    """Settings with kernels and STIX-CONF, and two simulated TM files of the same day."""
    from stix_lib.dev.simulate import SimulationConfig, simulate
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    monkeypatch.setenv("STIX_CONF_DIR", str(reference_data / "stix-conf"))
    settings = settings.replace(conf_dir=reference_data / "stix-conf")
    build_kernel_set(settings.spice_dir, "2024-05-01", "2024-06-01", "2024-05-20")
    result = simulate(
        SimulationConfig(start="2024-05-14T10:00:00", duration=3600.0, out_dir=settings.data_root / "simulated",
                         idb_dir=reference_data / "idb", scenario="flare", seed=11, files=2)
    )  # fmt: skip
    files = [Path(p) for p in result.files]
    assert len(files) == 2
    return settings, files


def _start(archive: Path, *tm_files: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]))
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(archive), *map(str, tm_files)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _process(archive: Path, *tm_files: Path) -> None:
    proc = _start(archive, *tm_files)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out.decode(errors="replace")[-3000:]


def _products(archive: Path) -> dict[str, Path]:
    return {str(p.relative_to(archive)): p for p in sorted(archive.rglob("*.fits"))}


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".partial")]


def _assert_same_archives(got: Path, expected: Path) -> None:
    mine, theirs = _products(got), _products(expected)
    assert sorted(mine) == sorted(theirs)
    assert any(name.startswith("L1") for name in mine) and any(name.startswith("LB") for name in mine)
    assert archive_differences(got, expected) == []
    for name, path in mine.items():
        if name.startswith("LB"):  # no lost packets
            with fits.open(path) as a, fits.open(theirs[name]) as b:
                assert [len(h.data) for h in a[1:] if h.data is not None] == [
                    len(h.data) for h in b[1:] if h.data is not None
                ]


def test_two_files_of_one_day_in_parallel_equal_one_after_the_other(day, tmp_path):
    _settings, (first, second) = day
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    _process(serial, first)
    _process(serial, second)

    procs = [_start(parallel, first), _start(parallel, second)]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out.decode(errors="replace")[-3000:]

    _assert_same_archives(parallel, serial)
    assert not _leftovers(parallel)


def test_killed_mid_write_then_rerun_gives_the_undisturbed_result(day, tmp_path):
    _settings, files = day
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    _process(reference, *files)

    proc = _start(crashed, *files)
    killed = False
    while proc.poll() is None:
        if crashed.is_dir() and (_leftovers(crashed) or any((crashed / "LB").rglob("*.fits"))):
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.002)
    proc.communicate(timeout=60)
    assert killed and proc.returncode == -signal.SIGKILL
    interrupted = _products(crashed)
    assert not any(name.startswith("L1") for name in interrupted)  # really stopped mid-way

    _process(crashed, *files)  # "clear" the task: the same step again
    _assert_same_archives(crashed, reference)
    assert not _leftovers(crashed)


def test_redelivered_file_changes_nothing(day, tmp_path):
    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState
    from stix_lib.pipeline import PipelineOptions, build_pipeline, tasks

    settings, (first, _second) = day
    archive = tmp_path / "archive"
    _process(archive, first)
    before = {name: (p.read_bytes(), p.stat().st_mtime_ns) for name, p in _products(archive).items()}
    assert before

    # the same file delivered again goes through the DAG's steps: TM -> LB, LB -> L1 per type, record
    redelivered = settings.soc_processing_dir / first.name
    shutil.copyfile(first, redelivered)
    engine = connect(settings.pipeline_db_url)
    ledger.record_incoming(engine, redelivered)
    ledger.set_state(engine, redelivered.name, TMState.STAGED, path=redelivered)
    pipeline = build_pipeline(settings, PipelineOptions(fits_dir=archive, end_level="L1"))
    tm_result = tasks.tm_to_lb_step(pipeline, settings, engine, str(redelivered))
    groups = [tasks.lb_group_step(pipeline, group, end_level="L1") for group in tasks.lb_groups([tm_result])]
    summary = tasks.record_step(engine, archive, [tm_result], groups, run_id="redelivery")

    after = {name: (p.read_bytes(), p.stat().st_mtime_ns) for name, p in _products(archive).items()}
    assert after.keys() == before.keys()
    assert [name for name in after if after[name] != before[name]] == []
    assert summary["files"] == {first.name: "ok"} and summary["errors"] == 0
    assert summary["written"] == {level: [] for level in summary["written"]}  # nothing new
    assert tm_result["lb_files"] and all(r["status"] == "ok" for g in groups for r in g)
    assert ledger.get(engine, first.name).state is TMState.PROCESSED
    assert not _leftovers(archive)
