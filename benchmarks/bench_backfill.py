"""Reprocessing benchmark: a period of daily TM deliveries through the README's backfill route vs one process.

Run from the repository root (one TM file per day in ``--tm``, e.g. a simulated year)::

    PYTHONPATH=plugins .venv/bin/python benchmarks/bench_backfill.py --tm /work/year-data/tm

Three measurements on the same files, each under the shared heavy lock (``--lock``, taken per part so
that other short heavy runs can interleave):

* **single** — one ``stix-pipeline process`` over all files (TM -> LB -> L0 -> L1 -> L2) with the
  processing version of the campaign, so its archive has the same file names as the backfill's.
* **local** — LocalStack (SQLite, LocalExecutor, ``--parallelism`` task slots): the files in the
  ledger (``staged``), then ``stix-pipeline reprocess --from FIRST --to LAST --version V
  --max-active-runs M --run-per R`` (the REST API backfill) under the real scheduler, until every
  backfill run has finished.
* **prod** — the same on ProdStack (PostgreSQL metadata and pipeline DB, Redis, CeleryExecutor,
  two Celery workers).

Wall time (from the CLI call to the last run's end, and Airflow's own first-start -> last-end), CPU
of the stack during the backfill (user+sys of every process of the stack's trees, reaped children
included: components, task processes, PostgreSQL and Redis), peak RSS per process group (sampled
every second), the load average, and the ratio backfill/single. Every backfill archive is compared
with the single-process archive (:func:`stix_lib.validate.archive_diff.archive_differences`): the
same products are required. Each part stores its figures in ``<work>/<part>.json``; the Markdown
section ``backfill`` of ``benchmarks/RESULTS.md`` is written from all parts found.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "benchmarks")]
DEFAULT_DATA = Path(os.environ.get("STIX_REFERENCE_DATA", ROOT.parent / "shared" / "stix-data")).resolve()
PARTS = ("single", "local", "prod")
VERSION = 3
REPROCESS_DAGS = ("stix_reprocess.py", "stix_reprocess_monthly.py")


@contextmanager
def heavy_lock(path: Path | None):
    """Hold ``flock(path)`` (the machine's shared heavy-run lock) while the block runs."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- input -------------------------------------------------------------------------------------------


def tm_files(folder: Path, days: int | None) -> list[Path]:
    """The ``*PktTmRaw*.xml`` files of ``folder`` by name (one delivery per day), the first ``days``."""
    files = sorted(folder.glob("*PktTmRaw*.xml"))
    return files[:days] if days else files


def obt_ranges(files: list[Path], cache: Path) -> dict[Path, Any]:
    """Each file's OBT range, as ingest records it in the ledger (kept in ``cache`` for the next part)."""
    from stix_lib.tm.obt_range import ObtRange, read_obt_range

    known = json.loads(cache.read_text()) if cache.exists() else {}
    ranges = {
        path: ObtRange(*known[str(path)]) if str(path) in known else read_obt_range(path) for path in files
    }
    fields = ("packets", "packet_errors", "synchronised", "start", "end")
    cache.write_text(json.dumps({str(p): [getattr(r, f) for f in fields] for p, r in ranges.items()}))
    return ranges


def utc_days(ranges: dict[Path, Any]) -> tuple[date, date]:
    """First and last UTC day touched by the files (nominal clock, the simulator's)."""
    from stix_lib.time.nominal_clock import scet_to_utc

    starts = [r.start for r in ranges.values() if r.start is not None]
    ends = [r.end for r in ranges.values() if r.end is not None]
    first, last = scet_to_utc([min(starts) >> 16, max(ends) >> 16])
    return first.astype("datetime64[D]").item(), last.astype("datetime64[D]").item()


def settings_env(data_root: Path, spice: Path, reference: Path) -> dict[str, str]:
    """The ``STIX_*`` settings of a run (the campaign's version for the single process too)."""
    return {
        "STIX_DATA_ROOT": str(data_root),
        "STIX_REFERENCE_DATA": str(reference),
        "STIX_IDB_DIR": str(reference / "idb"),
        "STIX_CONF_DIR": str(reference / "stix-conf"),
        "STIX_SPICE_DIR": str(spice),
    }


# -- measuring ---------------------------------------------------------------------------------------


class TreeMonitor:
    """CPU and peak RSS of process trees (the stack's components, task processes, services).

    CPU: user+sys of every live process of the trees plus the children they reaped, so a task
    process that ended counts in its parent. Peak RSS per group (a top process, or ``<name> children``
    for everything below it), sampled every ``interval`` seconds in a thread.
    """

    def __init__(self, roots: dict[str, int], interval: float = 1.0) -> None:
        self.roots = roots
        self.interval = interval
        self.peak_mb: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _members(self) -> list[tuple[str, Any]]:
        import psutil

        found = []
        for name, pid in self.roots.items():
            try:
                top = psutil.Process(pid)
                found.append((name, top))
                found += [(f"{name} children", p) for p in top.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return found

    def cpu_seconds(self) -> float:
        """user+sys of the trees now (reaped children included)."""
        import psutil

        total = 0.0
        for _, proc in self._members():
            try:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                continue
        return total

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(self.interval):
            for group, proc in self._members():
                try:
                    rss = proc.memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    continue
                self.peak_mb[group] = max(self.peak_mb.get(group, 0.0), rss)

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_single(files: list[Path], work: Path, env: dict[str, str]) -> dict[str, Any]:
    """One ``stix-pipeline process`` over ``files``; wall, CPU and peak RSS of the process (``wait4``)."""
    tm_dir = work / "single-tm"
    shutil.rmtree(work / "single", ignore_errors=True)
    shutil.rmtree(tm_dir, ignore_errors=True)
    tm_dir.mkdir(parents=True)
    for path in files:
        (tm_dir / path.name).symlink_to(path.resolve())
    out = work / "single" / "fits"
    command = [sys.executable, "-m", "stix_lib.cli.main", "process", "-t", str(tm_dir), "-f", str(out), "--json"]
    full_env = {**os.environ, **env}
    load = os.getloadavg()
    started = time.monotonic()
    with open(work / "single.log", "wb") as log:
        proc = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"stix-pipeline process failed ({proc.returncode}), see {work / 'single.log'}")
    return {
        "command": "stix-pipeline process -t <files> -f <out> --json",
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": {"stix-pipeline process": usage.ru_maxrss / 1024},
        "load_before": load,
        "load_after": os.getloadavg(),
        "archive": str(out),
        "products": sum(1 for _ in out.rglob("*.fits")),
    }


def _ledger(url: str, ranges: dict[Path, Any]) -> None:
    from stix_lib.db import connect
    from stix_lib.db.schema import TMState
    from stix_lib.stages.ingest import record_tm_file

    engine = connect(url)
    for path, obt in ranges.items():
        record_tm_file(engine, path, TMState.STAGED, obt=obt)
    engine.dispose()


def _backfill(stack: Any, roots: dict[str, int], first: date, last: date, args: argparse.Namespace) -> dict[str, Any]:
    """Create the backfill with ``stix-pipeline reprocess`` and wait for its runs; the figures."""
    from stix_lib.cli.reprocess_cmd import DAG_IDS

    dag_id = DAG_IDS[args.run_per]
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    expected = months if args.run_per == "month" else (last - first).days + 1
    command = [
        sys.executable, "-m", "stix_lib.cli.main", "reprocess", "--from", first.isoformat(), "--to", last.isoformat(),
        "--version", str(VERSION), "--max-active-runs", str(args.max_active_runs), "--run-per", args.run_per,
    ]  # fmt: skip
    monitor = TreeMonitor(roots)
    load = os.getloadavg()
    cpu_before = monitor.cpu_seconds()
    with monitor:
        started = time.monotonic()
        created = subprocess.run(command, env=stack.env(), capture_output=True, text=True, timeout=600, check=False)
        if created.returncode != 0:
            raise RuntimeError(f"stix-pipeline reprocess failed: {created.stdout}{created.stderr}")
        deadline = started + args.timeout
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = [r for r in stack.runs(dag_id) if r["run_type"] == "backfill"]
            if len(runs) >= expected and all(r["state"] in ("success", "failed") for r in runs):
                break
            time.sleep(2)
        else:
            raise RuntimeError(f"backfill not finished after {args.timeout:.0f} s: {[r['state'] for r in runs]}")
        wall = time.monotonic() - started
    cpu = monitor.cpu_seconds() - cpu_before
    starts = [datetime.fromisoformat(r["start_date"]) for r in runs if r.get("start_date")]
    ends = [datetime.fromisoformat(r["end_date"]) for r in runs if r.get("end_date")]
    airflow_wall = (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")
    tis = stack.api("GET", f"dags/{dag_id}/dagRuns/~/taskInstances", params={"limit": 10000})["task_instances"]
    return {
        "command": " ".join(["stix-pipeline", *command[3:]]),
        "dag_id": dag_id,
        "tasks": len(tis),
        "task_seconds": sum(float(ti.get("duration") or 0.0) for ti in tis),
        "runs": len(runs),
        "states": sorted({r["state"] for r in runs}),
        "wall_s": wall,
        "airflow_wall_s": airflow_wall,
        "cpu_s": cpu,
        "peak_rss_mb": monitor.peak_mb,
        "load_before": load,
        "load_after": os.getloadavg(),
        "cli_output": created.stdout.strip(),
    }


def run_stack(part: str, ranges: dict[Path, Any], first: date, last: date, work: Path, env: dict[str, str],
              args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    """The backfill on LocalStack (``local``) or ProdStack (``prod``, two Celery workers)."""
    from stix_lib.settings import load_settings
    from stix_ops.dev.localstack import LocalStack, StackConfig

    root = work / part
    shutil.rmtree(root, ignore_errors=True)
    dags = root / "dags"
    dags.mkdir(parents=True)
    for name in REPROCESS_DAGS:
        (dags / name).symlink_to(ROOT / "dags" / name)
    env = settings_env(root / "data", Path(env["STIX_SPICE_DIR"]), args.data)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    settings = load_settings(environ=env)
    settings.ensure_folders()
    if part == "local":
        stack = LocalStack(StackConfig(home=root / "airflow-home", parallelism=args.parallelism, extra_env=env))
        try:
            stack.prepare()
            stack.start(components=("api-server", "scheduler", "dag-processor"))  # no deferrable task: no triggerer
            stack.wait_healthy()
            stack.wait_for_dags(["stix_reprocess_monthly", "stix_reprocess"])
            _ledger(settings.pipeline_db_url, ranges)
            roots = {name: proc.pid for name, proc in stack.processes.items()}
            result = _backfill(stack, roots, first, last, args)
            result["executor"] = f"LocalExecutor, parallelism {args.parallelism}, SQLite"
        finally:
            stack.stop()
    else:
        from stix_ops.dev.prodstack import PIPELINE_DB, ProdStack

        with ProdStack(root, extra_env=env, workers=2) as prod:
            stack = prod.start()
            stack.wait_for_dags(["stix_reprocess_monthly", "stix_reprocess"])
            _ledger(prod.postgres.url(PIPELINE_DB), ranges)
            roots = {name: proc.pid for name, proc in stack.processes.items()}
            roots["redis"] = prod.redis.process.pid
            pid_file = prod.postgres.root / "data" / "postmaster.pid"
            roots["postgres"] = int(pid_file.read_text().split()[0])
            result = _backfill(stack, roots, first, last, args)
            result["executor"] = "CeleryExecutor, 2 workers (concurrency 4 each), PostgreSQL, Redis"
    out = Path(settings.data_root) / "reprocess" / f"V{VERSION:02d}"
    result["archive"] = str(out)
    result["products"] = sum(1 for _ in out.rglob("*.fits"))
    return result


def compare(single: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Differences between the single-process archive and a backfill's (must be none)."""
    from stix_lib.validate.archive_diff import archive_differences

    return archive_differences(Path(single["archive"]), Path(result["archive"]))


# -- report ------------------------------------------------------------------------------------------


def _rss(peaks: dict[str, float]) -> str:
    top = sorted(peaks.items(), key=lambda kv: -kv[1])[:4]
    return ", ".join(f"{name} {mb:.0f}" for name, mb in top)


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    """The ``backfill`` section of RESULTS.md from the stored parts."""
    single = results.get("single")
    lines = [
        "## Reprocessing: backfill (real scheduler) vs one `stix-pipeline process`",
        "",
        f"- command: `{meta['command']}`",
        f"- input: {meta['files']} TM files (one delivery per day, {meta['first']} .. {meta['last']}), "
        f"{meta['packets']} packets, {meta['mb']:.0f} MB, from `{meta['tm']}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores; each part under the heavy lock, one after the "
        "other in one session; CPU = user+sys of the process (single) or of every process of the stack "
        "(components, task processes, PostgreSQL/Redis) during the backfill",
        "- backfill wall: from the `stix-pipeline reprocess` call until every backfill run has finished",
        "",
        "| route | command | runs | wall s | CPU s | wall / single | peak RSS MB (largest processes) "
        "| load before/after |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for key in sorted(results, key=lambda k: (k != "single", k)):
        r = results[key]
        ratio = f"{r['wall_s'] / single['wall_s']:.2f}" if single and key != "single" else "1"
        tasks = r.get("tasks", "?")
        runs = f"{r['runs']} runs, {tasks} tasks ({'/'.join(r['states'])})" if "runs" in r else "1 process"
        route = "one process" if key == "single" else f"{key}: {r['executor']}"
        load = f"{r['load_before'][0]:.2f} / {r['load_after'][0]:.2f}"
        lines.append(
            f"| {route} | `{r['command']}` | {runs} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {ratio} | "
            f"{_rss(r['peak_rss_mb'])} | {load} |"
        )
    lines.append("")
    for key, r in results.items():
        if key != "single":
            found = r.get("differences")
            same = "not compared" if found is None else f"DIFFERENCES: {found}" if found else "identical products"
            lines.append(
                f"- {key}: {r['products']} FITS files vs {single['products'] if single else '?'} of the single "
                f"process, {same} (archive_differences); Airflow's own first start -> last end "
                f"{r['airflow_wall_s']:.0f} s; task durations "
                f"summed {r.get('task_seconds', float('nan')):.0f} s over {r.get('tasks', '?')} tasks"
            )
    local = results.get("local")
    if single and local and local.get("tasks"):
        per_task = (local["cpu_s"] - single["cpu_s"]) / local["tasks"]
        days = (date.fromisoformat(meta["last"]) - date.fromisoformat(meta["first"])).days + 1
        estimate = 2 * days * per_task + 2 * single["cpu_s"]
        lines += [
            "",
            f"Overhead of the monthly route on LocalStack: (stack CPU - single CPU) / tasks = {per_task:.1f} s CPU per "
            f"task (task start-up plus the scheduler, api-server and dag-processor meanwhile). The per-day route "
            f"(`--run-per day`) would make {days} runs, {2 * days} tasks, and process every delivery twice (each "
            f"ends at the next midnight): about {estimate:.0f} s of CPU, >= {estimate / 2:.0f} s wall on 2 cores, "
            f"{estimate / 2 / single['wall_s']:.0f}x the single process (estimate from these figures, not measured).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for, store each, write the section."""
    from results_file import write_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tm", type=Path, required=True, help="folder of TM files, one delivery per day")
    parser.add_argument("--days", type=int, help="only the first N files")
    parser.add_argument("--parts", default=",".join(PARTS), help="which of single,local,prod (default all)")
    parser.add_argument("--run-per", choices=("month", "day"), default="month", help="backfill route (default month)")
    parser.add_argument("--max-active-runs", type=int, default=2, help="backfill runs at a time (default 2)")
    parser.add_argument("--parallelism", type=int, default=2, help="LocalExecutor task slots (default 2)")
    parser.add_argument("--timeout", type=float, default=6 * 3600.0, help="seconds to wait for a backfill")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-backfill"), help="work folder (kept)")
    parser.add_argument("--lock", type=Path, default=Path("/tmp/stix-heavy.lock"), help="heavy lock per part")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="stix-data folder (STIX_REFERENCE_DATA)")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/RESULTS.md")
    parser.add_argument("--no-compare", action="store_true", help="skip comparing the archives (minutes for a year)")
    parser.add_argument("--report-only", action="store_true", help="only write the section from <work>/results.json")
    args = parser.parse_args(argv)
    stored = args.work / "results.json"
    if args.report_only:
        results = json.loads(stored.read_text())
        text = markdown({k: v for k, v in results.items() if k != "meta"}, results["meta"])
        print(text)
        if not args.no_write:
            write_section("backfill", text)
        return 0
    for name in [n for n in os.environ if n.startswith("STIX_")]:  # only the benchmark's settings count
        del os.environ[name]
    # every process it starts (CLI, stack components, tasks) imports this tree's stix_lib and stix_ops
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")])
    args.work.mkdir(parents=True, exist_ok=True)
    files = tm_files(args.tm, args.days)
    ranges = obt_ranges(files, args.work / "obt-ranges.json")
    first, last = utc_days(ranges)
    spice = args.work / "spice"
    if not spice.is_dir():
        from stix_lib.dev.synthetic_kernels import build_kernel_set

        build_kernel_set(spice, (first - timedelta(days=5)).isoformat(), (last + timedelta(days=5)).isoformat())
    meta = {
        "command": "PYTHONPATH=plugins .venv/bin/python benchmarks/bench_backfill.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "files": len(files), "first": first.isoformat(), "last": last.isoformat(), "tm": str(args.tm),
        "packets": sum(r.packets for r in ranges.values()), "mb": sum(p.stat().st_size for p in files) / 1e6,
    }  # fmt: skip
    print(f"{len(files)} files, {first} .. {last}, {meta['packets']} packets", flush=True)
    env = {**settings_env(args.work / "single", spice, args.data), "STIX_PROCESSING_VERSION": str(VERSION)}
    results = json.loads(stored.read_text()) if stored.exists() else {}
    if results.get("meta", {}).get("tm") != meta["tm"] or results.get("meta", {}).get("files") != meta["files"]:
        results = {}
    results["meta"] = meta
    for part in [p for p in PARTS if p in args.parts.split(",")]:
        with heavy_lock(args.lock):
            print(f"{part}: start {time.strftime('%H:%M:%S')}", flush=True)
            if part == "single":
                result = run_single(files, args.work, env)
            else:
                result = run_stack(part, ranges, first, last, args.work, env, args)
        if part != "single" and "single" in results and not args.no_compare:
            result["differences"] = compare(results["single"], result)[:20]
        key = part if part == "single" or args.run_per == "month" else f"{part}-per-day"
        if stored.exists():  # parts stored meanwhile by another invocation on the same files
            results = {**json.loads(stored.read_text()), **{k: v for k, v in results.items() if k != "meta"}}
        results[key] = result
        stored.write_text(json.dumps(results, indent=2, default=str))
        print(json.dumps({k: v for k, v in result.items() if k != "cli_output"}, default=str), flush=True)
    text = markdown({k: v for k, v in results.items() if k != "meta"}, meta)
    print(text)
    if not args.no_write:
        write_section("backfill", text)
    print(f"peak RSS of this driver {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
