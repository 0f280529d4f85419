"""Event latency: a day of 24 TM deliveries, each from its arrival at the SOC exchange to L1 (real scheduler).

Run from the repository root (heavy: wrap in ``flock /tmp/stix-heavy.lock``)::

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_event_latency.py [--cadence 25] [--files 24]

A local Airflow (``stix_ops.dev.localstack``: api-server, scheduler, dag-processor, triggerer;
SQLite, LocalExecutor) runs the real DAG files with the demo settings (staging delay 0, local SOC
exchange, production ``watch_interval`` of 10 s). Kernels and STIX-CONF are synced first, the
ingest / staging / processing DAGs are unpaused and their unpause runs left to finish. Then the
24 hourly TM files of a simulated day (2024-05-14, scenario ``flare``) are delivered one every
``--cadence`` seconds the way the SOC does it (written under a temporary name, then renamed: the
rename is the file's complete arrival). Nothing is triggered by hand: the triggerer's exchange
watcher starts ``stix_tm_ingest``, its asset event starts ``stix_tm_staging``, whose event starts
``stix_level_processing``.

Per file, from Airflow's records: the processing run whose ``tm_to_lb`` task mapped that file
(``rendered_map_index``), and the end of that run's last ``lb_to_l1`` task = the file's L1 products
written. Latency = that end minus the file's arrival (the benchmark's clock at the rename; same
host clock as Airflow's). Goal (issue 19): at most 60 s for every file.

Results go to the ``event_latency`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "benchmarks")]
DEFAULT_DATA = Path(os.environ.get("STIX_REFERENCE_DATA", ROOT.parent / "shared" / "stix-data")).resolve()
DAY = "2024-05-14T00:00:00"
SYNC_DAGS = ("stix_spice_sync", "stix_conf_sync")
EVENT_DAGS = ("stix_tm_ingest", "stix_tm_staging", "stix_level_processing")
GOAL_S = 60.0


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _deliver(source: Path, exchange: Path) -> float:
    """Copy ``source`` into the exchange under a temporary name, rename it; return the rename time."""
    temp = exchange / f".{source.name}.part"
    shutil.copyfile(source, temp)
    os.replace(temp, exchange / source.name)
    return time.time()


def l1_times(stack) -> dict[str, tuple[str, float]]:  # noqa: ANN001 - LocalStack
    """``{tm file: (processing run id, end of the run's last lb_to_l1 task)}`` from Airflow's records."""
    found: dict[str, tuple[str, float]] = {}
    for run in stack.runs("stix_level_processing"):
        tis = stack.api(
            "GET", f"dags/stix_level_processing/dagRuns/{run['dag_run_id']}/taskInstances", params={"limit": 100}
        )["task_instances"]
        l1_ends = [_epoch(t["end_date"]) for t in tis if t["task_id"] == "lb_to_l1" and t.get("end_date")]
        if not l1_ends:
            continue
        for ti in tis:
            if ti["task_id"] == "tm_to_lb" and ti["state"] == "success" and ti.get("rendered_map_index"):
                found.setdefault(ti["rendered_map_index"], (run["dag_run_id"], max(l1_ends)))
    return found


def deliveries_to_l1(root: Path, reference: Path, files: list[Path], cadence: float, timeout: float) -> dict:
    """Deliver ``files`` at ``cadence`` to a fresh stack; per-file latency arrival -> L1 and stack figures."""
    from bench_processing import _prepare_stack_data
    from bench_quiet_day import _cpu_seconds

    from stix_ops.dev.localstack import LocalStack, StackConfig

    env, exchange = _prepare_stack_data(root, reference)
    stack = LocalStack(StackConfig(home=root / "airflow-home", extra_env=env, parallelism=4))
    with stack:
        stack.prepare()
        stack.start()
        stack.wait_healthy(components=("scheduler", "dag_processor", "triggerer"))
        stack.wait_for_dags(SYNC_DAGS + EVENT_DAGS)
        for dag_id in SYNC_DAGS:
            stack.unpause(dag_id)
        stack.wait_until_idle({}, settle=4.0)  # their unpause runs sync kernels and STIX-CONF
        for dag_id in EVENT_DAGS:
            stack.unpause(dag_id)
        stack.wait_until_idle({}, settle=15.0)  # unpause (safety) runs done, watchers registered
        pids = [p.pid for p in stack.processes.values()]
        cpu0, load0 = _cpu_seconds(pids), os.getloadavg()
        arrivals: dict[str, float] = {}
        for index, path in enumerate(files):
            if index:
                time.sleep(max(0.0, arrivals[files[index - 1].name] + cadence - time.time()))
            arrivals[path.name] = _deliver(path, exchange)
        deadline = time.monotonic() + timeout
        done: dict[str, tuple[str, float]] = {}
        while time.monotonic() < deadline:
            done = l1_times(stack)
            if set(arrivals) <= set(done):
                break
            time.sleep(5)
        stack.wait_until_idle({}, settle=4.0, timeout=timeout)
        done = l1_times(stack)
        cpu1, load1 = _cpu_seconds(pids), os.getloadavg()
        failed = [f"{t['dag_id']}.{t['task_id']}" for t in stack.failed_tasks()]
        runs = stack.runs()
    latency = {name: done[name][1] - arrivals[name] for name in arrivals if name in done}
    return {
        "latency": latency,
        "missing": sorted(set(arrivals) - set(done)),
        "processing_runs": len({done[n][0] for n in latency}),
        "failed": failed,
        "runs_by_dag": {d: sum(r["dag_id"] == d and r["run_type"] == "asset_triggered" for r in runs)
                        for d in EVENT_DAGS},  # fmt: skip
        "stack_cpu_s": cpu1 - cpu0,
        "wall_s": max(done[n][1] for n in latency) - min(arrivals.values()) if latency else 0.0,
        "load": (load0[0], load1[0]),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print and store the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cadence", type=float, default=25.0, help="seconds between deliveries (%(default)s)")
    parser.add_argument("--files", type=int, default=24, help="hourly TM files of the day (%(default)s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="wait for the last L1 (s)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="stix-data folder (STIX_REFERENCE_DATA)")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    from stix_lib.dev.simulate import SimulationConfig, simulate

    command = "PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_event_latency.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    with tempfile.TemporaryDirectory(prefix="bench-event-latency-") as tmp:
        config = SimulationConfig(start=DAY, duration=86400.0, out_dir=Path(tmp) / "sim", idb_dir=args.data / "idb",
                                  scenario="flare", seed=14, files=args.files)  # fmt: skip
        files = sorted(Path(p) for p in simulate(config).files)
        result = deliveries_to_l1(Path(tmp) / "stack", args.data, files, args.cadence, args.timeout)
    print(result, flush=True)
    values = sorted(result["latency"].values())
    over = sum(v > GOAL_S for v in values)
    per_file = ", ".join(f"{v:.0f}" for v in (result["latency"][n] for n in sorted(result["latency"])))
    stats = (
        f"{values[0]:.1f} / {statistics.median(values):.1f} / {values[-1]:.1f}" if values else "none reached L1"
    )
    lines = [
        "## Event latency: 24 deliveries, each from its arrival at the SOC exchange to L1 (real scheduler)",
        "",
        f"- command: `{command.rstrip()}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()};"
        f" load average (1 min) {result['load'][0]:.2f} before, {result['load'][1]:.2f} after",
        "- LocalStack (SQLite, LocalExecutor, 4 slots), demo settings (staging delay 0, watch_interval 10 s);",
        f"  {args.files} hourly TM files of 2024-05-14 (flare) delivered one every {args.cadence:g} s (write, rename);",
        "  nothing triggered by hand: watcher -> stix_tm_ingest -> stix_tm_staging -> stix_level_processing",
        "- latency per file = end of the last `lb_to_l1` task of the processing run that mapped the file",
        "  (Airflow's task records) minus the rename time",
        "",
        f"| files | reached L1 | latency min / median / max s | over {GOAL_S:.0f} s | event runs (ingest, staging,"
        " processing) | stack CPU s (user+sys) | wall s |",
        "|---:|---:|---|---:|---|---:|---:|",
        f"| {args.files} | {len(values)} | {stats} | {over} | "
        f"{', '.join(str(result['runs_by_dag'][d]) for d in EVENT_DAGS)} | {result['stack_cpu_s']:.0f} |"
        f" {result['wall_s']:.0f} |",
        "",
        f"Per file (s, in delivery order): {per_file}.",
    ]
    if result["missing"] or result["failed"]:
        lines.append(f"Not reached: {result['missing']}; failed tasks: {result['failed']}.")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from results_file import write_section

        write_section("event_latency", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
