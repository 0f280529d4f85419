"""Processing benchmark: one simulated day (24 TM files) in parallel vs serially; TM -> L1 latency.

Run from the repository root::

    PYTHONPATH=plugins .venv/bin/python benchmarks/bench_processing.py [--workers 2] [--no-latency]

(a) The 24 TM files of 2024-05-14 (scenario ``flare``) are processed as the DAG does it — each
file TM -> LB (one task per file), then LB -> L0 -> L1 per packet type (one task per type) — once
with ``--workers`` processes (multiprocessing) and once serially, each into a fresh archive; the
wall times and the product counts are reported (both archives must hold the same files).

(b) Latency under the real scheduler: a local Airflow (``stix_ops.localstack``, like
``stix_ops.demo``; staging delay 0) gets kernels and STIX-CONF synced, then one TM file is placed
in the local SOC exchange, ``stix_tm_ingest`` is triggered and the time until the L1 light-curve
file of that day exists is measured (staging and processing follow by their asset schedules).
Goal: at most 2 min.

The figures are printed and written to the ``processing`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "benchmarks")]
DEFAULT_DATA = Path(os.environ.get("STIX_REFERENCE_DATA", ROOT.parent / "shared" / "stix-data")).resolve()
DAY = "2024-05-14T00:00:00"
L1_NAME = "solo_L1_stix-ql-lightcurve_20240514_V02U.fits"

_PIPELINE: list = []


def _worker_init(archive: str) -> None:
    from stix_lib.pipeline.orchestrator import Pipeline
    from stix_lib.settings import load_settings

    _PIPELINE[:] = [Pipeline.from_settings(load_settings(), fits_dir=Path(archive))]


def _tm_step(tm_file: str) -> dict:
    from stix_lib.pipeline.report import FileReport

    report = FileReport(tm_file)
    lb = _PIPELINE[0].tm_to_lb(Path(tm_file), report)
    return {"tm_file": tm_file, "lb_files": [str(p) for p in lb], "report": report.to_dict()}


def _lb_step(lb_files: list[str]) -> list[dict]:
    from stix_lib.pipeline.tasks import lb_group_step

    return lb_group_step(_PIPELINE[0], lb_files, end_level="L1")


def process_day(files: list[Path], archive: Path, workers: int) -> float:
    """The DAG's two mapped steps over ``files`` into ``archive``; returns the wall time."""
    from stix_lib.pipeline.tasks import lb_groups

    started = time.perf_counter()
    if workers <= 1:
        _worker_init(str(archive))
        tm_results = [_tm_step(str(p)) for p in files]
        reports = [_lb_step(group) for group in lb_groups(tm_results)]
    else:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_worker_init, initargs=(str(archive),)) as pool:
            tm_results = pool.map(_tm_step, [str(p) for p in files], chunksize=1)
            reports = pool.map(_lb_step, lb_groups(tm_results), chunksize=1)
    elapsed = time.perf_counter() - started
    bad = [r["source"] for group in reports for r in group if r.get("file_errors")]
    bad += [r["tm_file"] for r in tm_results if r["report"].get("unusable")]
    if bad:
        raise RuntimeError(f"processing errors: {bad}")
    return elapsed


def parallel_vs_serial(root: Path, reference: Path, workers: int) -> list[str]:
    """Part (a); Markdown lines."""
    from stix_lib.kernels import build_kernel_set
    from stix_lib.settings import load_settings
    from stix_lib.simulate import SimulationConfig, simulate

    os.environ.update(
        STIX_DATA_ROOT=str(root / "data"), STIX_REFERENCE_DATA=str(reference),
        STIX_IDB_DIR=str(reference / "idb"), STIX_CONF_DIR=str(reference / "stix-conf"),
    )  # fmt: skip
    settings = load_settings()
    settings.ensure_folders()
    build_kernel_set(settings.spice_dir, "2024-05-01", "2024-06-01", "2024-05-20")
    sim = simulate(SimulationConfig(start=DAY, duration=86400.0, out_dir=root / "sim", idb_dir=reference / "idb",
                                    scenario="flare", seed=14, files=24))  # fmt: skip
    files = sorted(Path(p) for p in sim.files)
    size = sum(p.stat().st_size for p in files) / 1e6
    parallel = process_day(files, root / "parallel", workers)
    serial = process_day(files, root / "serial", 1)
    names = {
        k: sorted(str(p.relative_to(root / k)) for p in (root / k).rglob("*.fits")) for k in ("parallel", "serial")
    }
    if names["parallel"] != names["serial"]:
        raise RuntimeError("parallel and serial runs produced different files")
    per_level = {lvl: sum(n.startswith(lvl + "/") for n in names["serial"]) for lvl in ("LB", "L0", "L1")}
    return [
        "### (a) One simulated day, 24 TM files: parallel vs serial",
        "",
        f"- input: {len(files)} TM files, {sim.packet_count} packets, {size:.1f} MB (scenario flare)",
        f"- products (each run): {per_level}",
        "",
        "| run | wall s |",
        "|---|---|",
        f"| parallel, {workers} worker processes (fork, start-up included) | {parallel:.1f} |",
        f"| serial | {serial:.1f} |",
        "",
        f"Speed-up {serial / parallel:.2f}x on {os.cpu_count()} cores.",
    ]


def latency(root: Path, reference: Path, timeout: float) -> list[str]:
    """Part (b); Markdown lines."""
    from stix_lib.settings import load_settings
    from stix_lib.simulate import SimulationConfig, simulate
    from stix_ops.demo import build_conf_repo, build_kernel_zips, demo_env, write_rid_lut
    from stix_ops.localstack import LocalStack, StackConfig

    for name in [n for n in os.environ if n.startswith("STIX_")]:  # part (a)'s settings stay out of the stack
        del os.environ[name]
    env = demo_env(root, reference)
    settings = load_settings(environ=env)
    settings.ensure_folders()
    exchange = root / "soc-exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    build_kernel_zips(root / "soc-from_soc" / "spice", root / "kernel-build")
    write_rid_lut(settings.rid_lut_file)
    build_conf_repo(root / "upstream" / "STIX-CONF", reference / "stix-conf")
    sim = simulate(SimulationConfig(start="2024-05-14T10:00:00", duration=3600.0, out_dir=root / "sim",
                                    idb_dir=reference / "idb", scenario="flare", seed=5, files=1))  # fmt: skip
    stack = LocalStack(StackConfig(home=root / "airflow-home", extra_env=env))
    with stack:
        stack.prepare()
        stack.start()
        stack.wait_healthy()
        dags = ("stix_spice_sync", "stix_conf_sync", "stix_tm_ingest", "stix_tm_staging", "stix_level_processing")
        stack.wait_for_dags(dags)
        for dag_id in dags[:2]:
            stack.unpause(dag_id)
            stack.wait_until_idle({dag_id: stack.trigger(dag_id)}, settle=2.0)
        for dag_id in dags[2:]:
            stack.unpause(dag_id)
        stack.wait_until_idle({}, settle=4.0)
        target = Path(settings.fits_archive_dir)
        started = time.monotonic()
        shutil.copyfile(sim.files[0], exchange / Path(sim.files[0]).name)
        stack.trigger("stix_tm_ingest")
        seconds = None
        while time.monotonic() - started < timeout:
            if any(target.rglob(L1_NAME)):
                seconds = time.monotonic() - started
                break
            time.sleep(0.5)
    result = f"{seconds:.1f} s" if seconds is not None else f"not reached within {timeout:.0f} s"
    return [
        "### (b) Latency: TM file placed in the SOC exchange -> its L1 products (real scheduler)",
        "",
        "LocalStack (SQLite, LocalExecutor), staging delay 0, one 1 h TM file; trigger stix_tm_ingest,",
        "staging and processing follow by their asset schedules; measured until the day's L1",
        f"light-curve file exists: **{result}** (goal <= 120 s).",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print and store the results."""
    from results_file import write_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes of the parallel run")
    parser.add_argument("--no-latency", action="store_true", help="skip part (b), the local Airflow")
    parser.add_argument("--timeout", type=float, default=600.0, help="latency limit in seconds")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="stix-data folder (STIX_REFERENCE_DATA)")
    args = parser.parse_args(argv)
    command = f"PYTHONPATH=plugins .venv/bin/python benchmarks/bench_processing.py {' '.join(argv or sys.argv[1:])}"
    lines = [
        "## Processing: parallel day, latency to L1",
        "",
        f"- command: `{command.rstrip()}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-processing-") as tmp:
        lines += parallel_vs_serial(Path(tmp) / "a", args.data, args.workers)
        print("\n".join(lines), flush=True)
        if not args.no_latency:
            lines += ["", *latency(Path(tmp) / "b", args.data, args.timeout)]
    text = "\n".join(lines)
    print(text)
    write_section("processing", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
