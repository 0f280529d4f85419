"""Quiet day (no deliveries): DAG runs and stack CPU, cron-copy design (old) vs event-driven (new).

Run from the repository root (heavy: wrap in ``flock /tmp/stix-heavy.lock``)::

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_quiet_day.py [--old-rev aefbe78] \
        [--quiet-minutes 30] [--align 15] [--designs old,new] [--no-stack]

Each design runs with its own code: old = ``git archive <old-rev>`` in a temporary folder (its
``dags/``, ``plugins/``, ``stix_lib/``), new = this tree.

(a) **Runs per day from the clocks**: each design's DAG files are parsed (with that design's
code) into a DagBag, serialized as the scheduler stores them, and Airflow's own timetables list
the runs they create over one UTC day
(:mod:`stix_ops.runcount`). ``stix_reprocess`` is paused outside reprocessing campaigns and is
listed but not added up. On a quiet day asset-triggered runs add nothing — (b) checks that.

(b) **Real stacks side by side, quiet window**: one local Airflow per design (api-server,
scheduler, dag-processor, triggerer; SQLite, LocalExecutor), started together over empty local SOC
exchanges with every DAG but ``stix_reprocess``, ``stix_soar_publish`` and ``stix_conf_sync``
(outside services) unpaused. After the unpause burst (catchup off: each clock schedule starts its
latest run once) has settled (a daily staging run of the burst marked done), both stacks are watched
over the same wall window of ``--quiet-minutes``, opened just before a UTC boundary of ``--align``
minutes so the cron runs due there fall inside it. Time is not compressed: the old design's clocks
run for real in the window; the runs created (by DAG) and the CPU seconds per process group
(scheduler, its workers and task processes, triggerer, dag-processor, api-server) are counted and
scaled to a day by the window's length.

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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "benchmarks")]
PAUSED = {"stix_reprocess"}  # paused outside reprocessing campaigns, in both designs
#: Also paused on the benchmark stack: calendar jobs that need outside services (SOAR RID API,
#: STIX-CONF upstream) and retry for minutes without them; identical in both designs, counted in (a).
STACK_PAUSED = PAUSED | {"stix_soar_publish", "stix_conf_sync"}


def source_tree(rev: str | None, into: Path) -> Path:
    """The repository tree of a git revision (``git archive`` into ``into``), or this one (``rev`` None).

    Each design runs with its own ``dags/``, ``plugins/`` and ``stix_lib/``: the old DAG files need
    the operators and modules of their time.
    """
    if rev is None:
        return ROOT
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def tree_env(tree: Path) -> dict[str, str]:
    """Environment that makes Python and Airflow use the code and DAGs of ``tree``."""
    return {
        "PYTHONPATH": os.pathsep.join([str(tree), str(tree / "plugins")]),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(tree / "plugins"),  # our timetables are plugins
        "AIRFLOW__CORE__DAGS_FOLDER": str(tree / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


_CLOCK_RUNS = """
import importlib.util, json, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag
spec = importlib.util.spec_from_file_location("runcount", sys.argv[2])
runcount = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runcount)
bag = DagBag(dag_folder=sys.argv[1])
if bag.import_errors:
    raise SystemExit(f"import errors: {bag.import_errors}")
day = pendulum.datetime(2026, 6, 1, tz="UTC")
print(json.dumps(runcount.timed_runs_per_dag(bag.dags.values(), day, day.add(days=1))))
"""


def clock_runs(tree: Path) -> dict[str, int]:
    """Timed runs per DAG over one UTC day, from the DAGs of ``tree`` parsed with that tree's code.

    A subprocess with ``tree`` first on the path parses them; Airflow's timetables of the
    serialized DAGs list the runs (:mod:`stix_ops.runcount` of this tree).
    """
    import json

    done = subprocess.run(
        [sys.executable, "-c", _CLOCK_RUNS, str(tree / "dags"), str(ROOT / "plugins" / "stix_ops" / "runcount.py")],
        env={**os.environ, **tree_env(tree)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"DAGs of {tree} not parsed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _proc_cpu(proc) -> float:  # noqa: ANN001 - psutil.Process
    """User + system CPU of ``proc`` and of its children it has reaped (0 once it is gone)."""
    import psutil

    try:
        t = proc.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return t.user + t.system + t.children_user + t.children_system


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of the processes ``pids`` and all their descendants (each counted once)."""
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
            if proc.pid not in seen:
                seen.add(proc.pid)
                total += _proc_cpu(proc)
    return total


#: Process groups of a LocalStack whose CPU is reported; ``workers`` are the scheduler's descendants
#: (LocalExecutor worker processes and the task processes they start), ``scheduler`` its own process.
GROUPS = ("scheduler", "workers", "triggerer", "dag-processor", "api-server")


def cpu_by_group(processes: dict) -> dict[str, float]:
    """CPU seconds so far per :data:`GROUPS` entry, from the stack's component processes."""
    import psutil

    out = dict.fromkeys(GROUPS, 0.0)
    for name, popen in processes.items():
        try:
            top = psutil.Process(popen.pid)
            below = top.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        if name == "scheduler":
            out["scheduler"] += _proc_cpu(top)
            out["workers"] += sum(_proc_cpu(p) for p in below)
        else:
            out[name] = out.get(name, 0.0) + _proc_cpu(top) + sum(_proc_cpu(p) for p in below)
    return out


#: DAGs whose runs last long by design and are not waited for before the window: the all-day watch,
#: and staging, whose sensor pokes every 5 min for up to 25 min (both designs alike).
LONG_RUNNING = {"stix_pipeline_watch", "stix_tm_staging"}


def _wait_settled(stack, timeout: float, settle: float) -> None:  # noqa: ANN001 - LocalStack
    """Wait until no run is queued or running for ``settle`` s, except the long-running ones."""
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


def end_burst_sensor_runs(stack) -> None:  # noqa: ANN001 - LocalStack
    """Mark the staging runs of the unpause burst done.

    Used where staging has a daily clock (new design): its sensor would poke for 25 min into the
    window, while on a real day that one run ends at 03:45. With a 30-min clock (old design) a
    staging run pokes at any time of day, so the burst run is left to poke like any other.
    """
    for run in stack.runs("stix_tm_staging"):
        if run["state"] not in ("success", "failed"):
            stack.api("PATCH", f"dags/stix_tm_staging/dagRuns/{run['dag_run_id']}", json={"state": "success"})


def start_stack(tree: Path, work: Path) -> Any:
    """A running LocalStack with the code and DAGs of ``tree`` over an empty local SOC exchange."""
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
        **tree_env(tree),
    }
    load_settings(environ=env).ensure_folders()
    stack = LocalStack(StackConfig(home=work / "airflow-home", extra_env=env, parallelism=2))
    stack.prepare()
    stack.start()
    return stack


def unpause_all(stack, tree: Path) -> None:  # noqa: ANN001 - LocalStack
    """Wait for the stack, then unpause every DAG of ``tree`` but :data:`STACK_PAUSED`."""
    stack.wait_healthy(components=("scheduler", "dag_processor", "triggerer"))
    dag_ids = sorted(p.stem for p in (tree / "dags").glob("*.py"))
    stack.wait_for_dags(dag_ids)
    for dag_id in dag_ids:
        if dag_id not in STACK_PAUSED:
            stack.unpause(dag_id)


def next_boundary(now: float, minutes: int, lead: float = 20.0) -> float:
    """The next ``minutes``-aligned UTC clock time at least ``lead`` s after ``now``, minus ``lead`` s.

    The window opens just before a cron boundary so the runs due at the boundary fall inside it.
    """
    step = minutes * 60
    boundary = (int(now + 2 * lead) // step + 1) * step
    return boundary - lead


def quiet_window(stacks: dict[str, Any], minutes: float, align: int, end_by: float | None = None) -> dict[str, dict]:
    """Watch all ``stacks`` over the same wall window; runs created in it and CPU per group.

    ``end_by`` (epoch s): shorten the window so it ends by then (at least 15 min, else an error).
    """
    before = {name: {r["dag_id"] + r["dag_run_id"] for r in s.runs()} for name, s in stacks.items()}
    start = next_boundary(time.time(), align) if align else time.time()
    if end_by is not None:
        minutes = min(minutes, (end_by - start) / 60)
        if minutes < 15:  # a 15-min window holds one run of each 15-min clock, whatever its phase
            raise RuntimeError(f"only {minutes:.1f} min left for the window before --end-by")
    print(f"window opens {time.strftime('%H:%M:%S', time.gmtime(start))} UTC for {minutes:g} min", flush=True)
    time.sleep(max(0.0, start - time.time()))
    cpu0 = {name: cpu_by_group(s.processes) for name, s in stacks.items()}
    t0, load0 = time.monotonic(), os.getloadavg()[0]
    time.sleep(minutes * 60)
    cpu1 = {name: cpu_by_group(s.processes) for name, s in stacks.items()}
    elapsed, load1 = time.monotonic() - t0, os.getloadavg()[0]
    out = {}
    for name, s in stacks.items():
        new = [r for r in s.runs() if r["dag_id"] + r["dag_run_id"] not in before[name]]
        cpu = {g: cpu1[name][g] - cpu0[name][g] for g in GROUPS}
        out[name] = {
            "window_s": elapsed,
            "opened": time.strftime("%H:%M:%S", time.gmtime(start)),
            "cpu": cpu,
            "cpu_s": sum(cpu.values()),
            "runs": len(new),
            "by_type": dict(Counter(r["run_type"] for r in new)),
            "by_dag": dict(Counter(r["dag_id"] for r in new)),
            "startup_runs": len(before[name]),
            "load": (load0, load1),
        }
    return out


def stacks_side_by_side(
    trees: dict[str, Path],
    work: Path,
    minutes: float,
    align: int,
    staging_runs_per_day: dict[str, int],
    end_by: float | None = None,
) -> dict[str, dict]:
    """Start one stack per design at the same time, settle both, then one common quiet window."""
    stacks: dict[str, Any] = {}
    try:
        for name, tree in trees.items():
            stacks[name] = start_stack(tree, work / f"stack-{name}")
        for name, stack in stacks.items():
            unpause_all(stack, trees[name])
        time.sleep(30)  # watchers registered (dag-processor re-parse), unpause runs queued
        for name, stack in stacks.items():
            _wait_settled(stack, timeout=900, settle=20)
            if staging_runs_per_day.get(name, 0) <= 1:
                end_burst_sensor_runs(stack)
        return quiet_window(stacks, minutes, align, end_by)
    finally:
        for stack in stacks.values():
            stack.stop()


def stack_lines(stacks: dict[str, dict], clocks: dict[str, dict[str, int]], args_text: str) -> list[str]:
    """Markdown of part (b)."""
    first = next(iter(stacks.values()))
    script = "env PYTHONPATH=.:plugins .venv/bin/python benchmarks/bench_quiet_day.py"
    command = f"flock /tmp/stix-heavy.lock {script} {args_text}"
    lines = [
        "",
        f"(b) Real stacks side by side over one wall window (`{command.strip()}`): one local Airflow per design "
        "(SQLite, LocalExecutor, 2 slots; api-server, scheduler, dag-processor, triggerer), started together,",
        "empty SOC exchange, all DAGs unpaused but stix_reprocess, stix_soar_publish, stix_conf_sync (need",
        "outside services; 1 + 1 + 1 runs/day in both designs). After the unpause burst settled (the",
        "new design's daily staging run, whose sensor pokes for 25 min, marked done), both are watched over the same "
        f"{first['window_s'] / 60:.1f} min from {first['opened']} UTC (any 15 min hold one run of each",
        "15-min clock, whatever the phase). Time is not compressed: the old",
        "design's 15-min, 30-min and hourly clocks run for real in the window, and CPU per day is the",
        "window's CPU x (1 day / window). Clocks slower than the window (30-min staging, hourly",
        "processing, 6-hourly NAS mirror, daily jobs) are in it only if their time falls inside: compare",
        "the runs in the window with the pro-rata column. CPU: user + system of each",
        "process group and the children it reaped (`workers`: the scheduler's LocalExecutor workers and",
        f"their task processes). Load average (1 min) {first['load'][0]:.2f} at the start, "
        f"{first['load'][1]:.2f} at the end.",
        "",
        "| design | runs in window (by DAG) | runs in window pro rata from (a) | "
        + " | ".join(f"CPU s {g}" for g in GROUPS)
        + " | CPU s window | CPU s per day |",
        "|---|---|---:|" + "---:|" * (len(GROUPS) + 2),
    ]
    per_day = {}
    for name, s in stacks.items():
        dags = ", ".join(f"{k.removeprefix('stix_')} {v}" for k, v in sorted(s["by_dag"].items())) or "none"
        total = sum(v for k, v in clocks[name].items() if k not in PAUSED)
        pro_rata = total * s["window_s"] / 86400
        per_day[name] = s["cpu_s"] * 86400 / s["window_s"]
        groups = " | ".join(f"{s['cpu'][g]:.1f}" for g in GROUPS)
        lines.append(
            f"| {name} | {s['runs']} ({dags}) | {pro_rata:.1f} | {groups} | {s['cpu_s']:.1f} | {per_day[name]:.0f} |"
        )
    if {"old", "new"} <= set(per_day):
        old, new = stacks["old"], stacks["new"]
        ratio = per_day["old"] / per_day["new"]
        by_group = ", ".join(
            f"{g} {old['cpu'][g] / new['cpu'][g]:.1f}x" for g in GROUPS if new["cpu"][g] > 0
        )
        lines += ["", f"Ratio old/new, whole stack: **{ratio:.2f}x** ({by_group})."]
    return lines


def _end_by(text: str) -> float | None:
    """Epoch seconds of ``HH:MM`` UTC today, or None."""
    if not text:
        return None
    hours, minutes = (int(x) for x in text.split(":"))
    now = time.gmtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday, hours, minutes, 0, 0, 0, 0)) - time.timezone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-rev", default="aefbe78", help="git revision of the cron-copy design (%(default)s)")
    parser.add_argument("--quiet-minutes", type=float, default=30.0, help="window length (%(default)s)")
    parser.add_argument("--align", type=int, default=15, help="open the window just before a UTC boundary of "
                        "this many minutes, 0: at once (%(default)s)")  # fmt: skip
    parser.add_argument("--end-by", default="", help="HH:MM UTC today: shorten the window to end by then")
    parser.add_argument("--designs", default="old,new", help="stack runs to make (default: %(default)s)")
    parser.add_argument("--no-stack", action="store_true", help="only (a), no Airflow stack")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="stix-quiet-") as tmp:
        trees = {"old": source_tree(args.old_rev, Path(tmp) / "old-tree"), "new": source_tree(None, Path(tmp))}
        clocks = {name: clock_runs(tree) for name, tree in trees.items()}
        stacks = {}
        if not args.no_stack:
            names = [d.strip() for d in args.designs.split(",") if d.strip()]
            stacks = stacks_side_by_side(
                {n: trees[n] for n in names},
                Path(tmp),
                args.quiet_minutes,
                args.align,
                {n: clocks[n].get("stix_tm_staging", 0) for n in names},
                _end_by(args.end_by),
            )
            for name, result in stacks.items():
                print(name, result, flush=True)

    dag_ids = sorted(set(clocks["old"]) | set(clocks["new"]))
    lines = [
        "## Quiet day: DAG runs without a delivery, old (cron copies) vs new (event-driven)",
        "",
        f"`benchmarks/bench_quiet_day.py` (old design: DAGs and code of `{args.old_rev}`). (a) Runs per UTC day",
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
        lines += stack_lines(stacks, clocks, " ".join(argv if argv is not None else sys.argv[1:]))
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from results_file import write_section

        write_section("quiet_day", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
