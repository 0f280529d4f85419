"""Quiet day (no deliveries): DAG runs and stack CPU, cron-copy design (old) vs event-driven (new).

Run from the repository root (heavy: wrap in ``flock /tmp/stix-heavy.lock``)::

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_quiet_day.py [--old-rev aefbe78] \
        [--quiet-minutes 10] [--designs new,old] [--no-stack]

(a) **Runs per day from the clocks**: each design's DAG files (old: ``git show <old-rev>:dags/…``
into a temporary folder; new: ``dags/``) are parsed into a DagBag, serialized as the scheduler
stores them, and Airflow's own timetables list the runs they create over one UTC day
(:mod:`stix_ops.runcount`). ``stix_reprocess`` is paused outside reprocessing campaigns and is
listed but not added up. On a quiet day asset-triggered runs add nothing — (b) checks that.

(b) **Real stack, quiet period**: a local Airflow (api-server, scheduler, dag-processor, triggerer;
SQLite, LocalExecutor) runs each design's DAG files over an empty local SOC exchange with every DAG
but ``stix_reprocess``, ``stix_soar_publish`` and ``stix_conf_sync`` (outside services) unpaused.
After the unpause burst (catchup off: each clock schedule starts its latest run once) has settled,
the stack is watched for ``--quiet-minutes``: the runs created in that window (by run type) and
the CPU seconds of all stack processes (their children included)
are counted. Time is not compressed; the window is real.

Results go to the ``quiet_day`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "benchmarks")]
PAUSED = {"stix_reprocess"}  # paused outside reprocessing campaigns, in both designs
#: Also paused on the benchmark stack: calendar jobs that need outside services (SOAR RID API,
#: STIX-CONF upstream) and retry for minutes without them; identical in both designs, counted in (a).
STACK_PAUSED = PAUSED | {"stix_soar_publish", "stix_conf_sync"}


def dags_folder(rev: str | None, into: Path) -> Path:
    """``dags/`` of the working tree (``rev`` None) or of a git revision, extracted into ``into``."""
    if rev is None:
        return ROOT / "dags"
    into.mkdir(parents=True, exist_ok=True)
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{rev}:dags"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in names:
        if name.endswith(".py"):
            text = subprocess.run(
                ["git", "show", f"{rev}:dags/{name}"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
            (into / name).write_text(text)
    return into


def clock_runs(folder: Path) -> dict[str, int]:
    """Timed runs per DAG over one UTC day, from the DAGs of ``folder``."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from stix_ops.runcount import timed_runs_per_dag

    bag = DagBag(dag_folder=str(folder))
    if bag.import_errors:
        raise SystemExit(f"import errors in {folder}: {bag.import_errors}")
    day = pendulum.datetime(2026, 6, 1, tz="UTC")
    return timed_runs_per_dag(bag.dags.values(), day, day.add(days=1))


def _cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    seen: set[int] = set()
    for pid in pids:
        try:
            top = psutil.Process(pid)
            procs = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


#: DAGs whose run lasts all day by design (a deferred watch): not waited for.
LONG_RUNNING = {"stix_pipeline_watch"}


def _wait_settled(stack, timeout: float, settle: float) -> None:  # noqa: ANN001 - LocalStack
    """Wait until no run is queued or running for ``settle`` s, except the all-day watch runs."""
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        busy = [r for r in stack.runs() if r["state"] not in ("success", "failed") and r["dag_id"] not in LONG_RUNNING]
        if busy:
            quiet_since = None
        else:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle:
                return
        time.sleep(2)
    raise RuntimeError(f"runs not settled after {timeout:.0f} s")


def stack_quiet_period(folder: Path, work: Path, minutes: float) -> dict:
    """Run the DAGs of ``folder`` on a fresh local stack; count runs and CPU over the quiet window."""
    from stix_lib.settings import load_settings
    from stix_ops.dev.localstack import LocalStack, StackConfig

    exchange, from_soc = work / "soc-exchange", work / "soc-from_soc"
    exchange.mkdir(parents=True)
    from_soc.mkdir(parents=True)
    env = {
        "STIX_DATA_ROOT": str(work / "data"),
        "STIX_TM_SOURCE": str(exchange),
        "STIX_TM_SOURCE_LOCAL": "true",
        "STIX_FROM_SOC_SOURCE": str(from_soc),
        "STIX_FROM_SOC_SOURCE_LOCAL": "true",
        "STIX_CONF_REPO_URL": str(work / "no-upstream"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
    }
    load_settings(environ=env).ensure_folders()
    config = StackConfig(home=work / "airflow-home", extra_env=env, parallelism=2)
    # the monitor reaches this stack's REST API (its passes then sample instead of opening an API incident)
    env.update({"STIX_AIRFLOW_API_URL": config.api_url, "STIX_AIRFLOW_API_PASSWORD": config.admin_password})
    stack = LocalStack(config)
    with stack:
        stack.prepare()
        stack.start()
        stack.wait_healthy(components=("scheduler", "dag_processor", "triggerer"))
        dag_ids = sorted(p.stem for p in folder.glob("*.py"))
        stack.wait_for_dags(dag_ids)
        for dag_id in dag_ids:
            if dag_id not in STACK_PAUSED:
                stack.unpause(dag_id)
        time.sleep(30)  # watchers registered (dag-processor re-parse), unpause runs queued
        _wait_settled(stack, timeout=900, settle=20)
        before = {r["dag_run_id"] + r["dag_id"] for r in stack.runs()}
        pids = [p.pid for p in stack.processes.values()]
        cpu0, t0 = _cpu_seconds(pids), time.monotonic()
        time.sleep(minutes * 60)
        cpu1, elapsed = _cpu_seconds(pids), time.monotonic() - t0
        new = [r for r in stack.runs() if r["dag_run_id"] + r["dag_id"] not in before]
    return {
        "window_s": elapsed,
        "cpu_s": cpu1 - cpu0,
        "runs": len(new),
        "by_type": dict(Counter(r["run_type"] for r in new)),
        "by_dag": dict(Counter(r["dag_id"] for r in new)),
        "startup_runs": len(before),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-rev", default="aefbe78", help="git revision of the cron-copy design (%(default)s)")
    parser.add_argument("--quiet-minutes", type=float, default=10.0)
    parser.add_argument("--designs", default="new,old", help="stack runs to make (default: %(default)s)")
    parser.add_argument("--no-stack", action="store_true", help="only (a), no Airflow stack")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))  # our timetables are plugins

    with tempfile.TemporaryDirectory(prefix="stix-quiet-") as tmp:
        folders = {"old": dags_folder(args.old_rev, Path(tmp) / "old-dags"), "new": dags_folder(None, Path(tmp))}
        clocks = {name: clock_runs(folder) for name, folder in folders.items()}
        stacks = {}
        if not args.no_stack:
            for name in [d.strip() for d in args.designs.split(",") if d.strip()]:
                stacks[name] = stack_quiet_period(folders[name], Path(tmp) / f"stack-{name}", args.quiet_minutes)
                print(name, stacks[name], flush=True)

    dag_ids = sorted(set(clocks["old"]) | set(clocks["new"]))
    lines = [
        "## Quiet day: DAG runs without a delivery, old (cron copies) vs new (event-driven)",
        "",
        f"`benchmarks/bench_quiet_day.py` (old design: DAG files of `{args.old_rev}`). (a) Runs per UTC day",
        "created by each DAG's clock, listed by Airflow's own timetables from the serialized DAGs;",
        "asset-triggered runs add none on a quiet day. `stix_reprocess` is paused outside campaigns (not added).",
        "",
        "| DAG | old runs/day | new runs/day |",
        "|---|---:|---:|",
    ]
    for dag_id in dag_ids:
        old, new = clocks["old"].get(dag_id, "-"), clocks["new"].get(dag_id, "-")
        mark = " (paused)" if dag_id in PAUSED else ""
        lines.append(f"| {dag_id}{mark} | {old} | {new} |")
    totals = {n: sum(v for k, v in c.items() if k not in PAUSED) for n, c in clocks.items()}
    lines.append(f"| **total (unpaused)** | **{totals['old']}** | **{totals['new']}** |")
    lines += [
        "",
        "Level processing runs on staging and kernel events plus one daily safety run (it polled hourly",
        "before); the STIX-CONF public copy is part of the daily conf sync run.",
    ]
    if stacks:
        lines += [
            "",
            "(b) Real stack (SQLite, LocalExecutor, 2 slots), empty SOC exchange, all DAGs unpaused but",
            "stix_reprocess, stix_soar_publish, stix_conf_sync (need outside services; same in both designs);",
            "window after the unpause burst settled. CPU: all stack processes and their children.",
            "",
            "| design | window min | runs in window (by type) | CPU s in window | CPU s per hour |",
            "|---|---:|---|---:|---:|",
        ]
        for name, s in stacks.items():
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(s["by_type"].items())) or "none"
            per_hour = s["cpu_s"] / s["window_s"] * 3600
            lines.append(
                f"| {name} | {s['window_s'] / 60:.1f} | {s['runs']} ({kinds}) | {s['cpu_s']:.1f} | {per_hour:.0f} |"
            )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from results_file import write_section

        write_section("quiet_day", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
