"""Start-up and per-task overhead: this tree against a base checkout, measured side by side.

Run from the repository root::

    .venv/bin/python benchmarks/bench_startup.py [--base-commit REV | --base DIR] [--repeat 5] [--ql-dir DIR]

The base is a checkout (``--base``) or a commit checked out into a temporary git worktree
(``--base-commit``, default :data:`BASE_COMMIT`, the last commit before the start-up work of
issue 20). ``--ql-dir`` defaults to ``build/bench-products/ql10k`` when ``bench_products.py
--cache build/bench-products`` made it (the ql10k row is left out otherwise).

Every case runs in a fresh Python process, alternately from the base and from this tree, so both
see the same machine load; CPU is user + sys of the child (``resource.getrusage(RUSAGE_CHILDREN)``),
which a shared machine disturbs far less than wall time. The median of ``--repeat`` runs is
reported with the ratio base / this tree. Cases:

``help``
    ``stix-pipeline --help`` (builds the parser of every subcommand).
``first packet``
    ``stix-pipeline process`` on the real moc_test telemetry, stopped when the first packet has
    been read (CPU and wall from interpreter start to that point).
``moc_test TM -> L1``
    the whole run on moc_test (33 packets, 7 LB/L0/L1 files).
``10k delivery TM -> L1``
    the TM files of ``--ql-dir`` (the 10,000-packet delivery of ``bench_delivery.py --cache DIR``:
    DIR/delivery10k, or the ``ql10k`` set of ``bench_products.py``), one process; ``-e L1``.
``DAG files``
    every file of ``dags/`` executed in one process after ``import airflow.sdk`` (what the DAG
    processor and each task pay for our code at parse time).
``task: empty / TM -> LB / LB -> L1``
    the STIX part of the Airflow tasks of ``stix_level_processing`` on moc_test: a process
    imports ``airflow.sdk`` (as every task process does; its CPU is the "empty" row) and then runs
    the task code of :mod:`stix_lib.pipeline.tasks` (settings, database, pipeline, step); the CPU
    after the ``airflow.sdk`` import is what a STIX task costs above an empty one. The LB -> L1
    process starts from the LB files a TM -> LB process wrote before (not measured).

Byte code is cached (``PYTHONDONTWRITEBYTECODE`` is cleared and each tree is warmed once).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from child_env import tree_env  # noqa: E402
from results_file import write_section  # noqa: E402

#: Commit compared with by default: the tree before the start-up work (issue 20).
BASE_COMMIT = "aefbe78"
DEFAULT_QL_DIR = ROOT / "build" / "bench-products" / "ql10k"
DEFAULT_DATA = Path(os.environ.get("STIX_REFERENCE_DATA", ROOT.parent / "shared" / "stix-data"))

FIRST_PACKET_PROBE = """
import os, resource, sys, time
import stix_lib.tm.xml_reader as reader
original = reader.read_packets
def first_packet(*args, **kwargs):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"FIRST {usage.ru_utime + usage.ru_stime} {time.time()}", flush=True)
    os._exit(0)
reader.read_packets = first_packet
reader.iter_packet_batches = first_packet  # the streaming reader of TM -> LB (imported from here on first use)
from stix_lib.cli.main import main
sys.exit(main(sys.argv[1:]))
"""

TASK_PROBE = """
import json, resource, sys
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
import airflow.sdk  # every task process has it
before = cpu()
step, tm_file, result_file = sys.argv[1:4]
if step != "empty":
    from stix_lib.db import connect
    from stix_lib.pipeline.build import build_pipeline
    from stix_lib.pipeline.tasks import lb_group_step, lb_groups, tm_to_lb_step
    from stix_lib.settings import load_settings
    settings = load_settings()
    settings.ensure_folders()
    if step == "tm_to_lb":
        result = tm_to_lb_step(build_pipeline(settings), settings, connect(settings.pipeline_db_url), tm_file)
        open(result_file, "w").write(json.dumps(result))
    else:  # the LB -> L1 tasks of the LB files the TM -> LB task wrote, one after the other
        for group in lb_groups([json.load(open(result_file))]):
            lb_group_step(build_pipeline(settings), group)
print("TASK", before, cpu() - before)
"""


DAG_PROBE = """
import resource, runpy, sys
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
import airflow.sdk
before = cpu()
for path in sys.argv[1:]:
    runpy.run_path(path)
print("TASK", before, cpu() - before)
"""


def _env(tree: Path, data: Path, work: Path) -> dict[str, str]:
    return tree_env(
        tree, data, work,
        STIX_MISSION_TIME_MARGIN_BEFORE_LAUNCH="120d",  # moc_test is ground-test data of 2019-11-27
        AIRFLOW_HOME=str(work / "airflow"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )  # fmt: skip


def _child(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """CPU (user + sys) and wall seconds of one child process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.stdout


def _cases(data: Path, ql_dir: Path | None) -> list[tuple[str, callable]]:
    python = sys.executable
    moc = data / "tm" / "moc_test.PktTmRaw.xml"

    def cli(*args: str):
        def run(tree: Path, work: Path) -> tuple[float, float]:
            cpu, wall, _ = _child([python, "-m", "stix_lib.cli.main", *args], _env(tree, data, work), work)
            return cpu, wall

        return run

    def process(tm_dir_of, *extra: str):
        def run(tree: Path, work: Path) -> tuple[float, float]:
            args = ["process", "-t", str(tm_dir_of(work)), "-f", str(work / "fits"), *extra]
            cpu, wall, _ = _child([python, "-m", "stix_lib.cli.main", *args], _env(tree, data, work), work)
            return cpu, wall

        return run

    def moc_dir(work: Path) -> Path:
        folder = work / "tm"
        folder.mkdir(exist_ok=True)
        (folder / moc.name).write_bytes(moc.read_bytes())
        return folder

    def first_packet(tree: Path, work: Path) -> tuple[float, float]:
        start = time.time()
        args = ["process", "-t", str(moc_dir(work)), "-f", str(work / "fits")]
        _, _, out = _child([python, "-c", FIRST_PACKET_PROBE, *args], _env(tree, data, work), work)
        _, cpu, stamp = next(line for line in out.splitlines() if line.startswith("FIRST")).split()
        return float(cpu), float(stamp) - start

    def task(step: str):
        def run(tree: Path, work: Path) -> tuple[float, float]:
            env = _env(tree, data, work)
            command = [python, "-c", TASK_PROBE, "?", str(moc_dir(work) / moc.name), str(work / "tm_to_lb.json")]
            if step == "lb_to_l1":  # its input: what a TM -> LB task wrote (not measured)
                _child([*command[:3], "tm_to_lb", *command[4:]], env, work)
            command[3] = step
            _, wall, out = _child(command, env, work)
            _, sdk, task = next(line for line in out.splitlines() if line.startswith("TASK")).split()
            return float(sdk) if step == "empty" else float(task), wall

        return run

    def dag_files(tree: Path, work: Path) -> tuple[float, float]:
        files = sorted(str(p) for p in (tree / "dags").glob("*.py"))
        _, wall, out = _child([python, "-c", DAG_PROBE, *files], _env(tree, data, work), work)
        return float(next(line for line in out.splitlines() if line.startswith("TASK")).split()[2]), wall

    cases = [
        ("help (`stix-pipeline --help`)", cli("--help")),
        ("first packet (`stix-pipeline process`, moc_test)", first_packet),
        ("moc_test TM -> L1 (`stix-pipeline process`)", process(moc_dir)),
    ]
    if ql_dir is not None:
        name = f"{ql_dir.name} TM -> L1 (`stix-pipeline process -e L1`)"
        cases.append((name, process(lambda _work: ql_dir, "-e", "L1")))
    cases += [
        ("DAG files: parse all of dags/, CPU above `import airflow.sdk`", dag_files),
        ("task: empty (interpreter + `import airflow.sdk`)", task("empty")),
        ("task: TM -> LB, CPU above the empty task (moc_test)", task("tm_to_lb")),
        ("task: LB -> L1, CPU above the empty task (moc_test, 7 packet types)", task("lb_to_l1")),
    ]
    return cases


def measure(base: Path, data: Path, ql_dir: Path | None, repeat: int) -> list[dict]:
    """Median CPU and wall of every case for the base and this tree, alternating."""
    results = []
    trees = {"base": base, "new": ROOT}
    for name, run in _cases(data, ql_dir):
        samples: dict[str, list[tuple[float, float]]] = {"base": [], "new": []}
        for index in range(repeat + 1):  # the first round only warms byte code and caches
            for label in ("base", "new") if index % 2 else ("new", "base"):
                with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
                    figures = run(trees[label], Path(tmp))
                if index:
                    samples[label].append(figures)
        row = {"case": name}
        for label, values in samples.items():
            row[f"{label}_cpu"] = statistics.median(v[0] for v in values)
            row[f"{label}_wall"] = statistics.median(v[1] for v in values)
        print(json.dumps(row), flush=True)
        results.append(row)
    return results


def markdown(results: list[dict], command: str, base_commit: str, load: tuple[float, float]) -> str:
    """The ``startup`` section of RESULTS.md."""
    lines = [
        "## Start-up and per-task overhead (this tree vs a base commit, side by side)",
        "",
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other work),"
        f" Python {platform.python_version()}",
        f"- base: {base_commit}; load average (1 min) before: {load[0]:.2f}, after: {load[1]:.2f}",
        "- each figure: median of the runs, fresh process each, base and this tree alternating; CPU = user + sys of"
        " the child (wall is disturbed by the other work on the machine)",
        "",
        "| case | base CPU s | new CPU s | CPU base/new | base wall s | new wall s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in results:
        ratio = row["base_cpu"] / row["new_cpu"] if row["new_cpu"] > 0 else float("nan")
        lines.append(
            f"| {row['case']} | {row['base_cpu']:.2f} | {row['new_cpu']:.2f} | {ratio:.2f}x"
            f" | {row['base_wall']:.2f} | {row['new_wall']:.2f} |"
        )
    return "\n".join(lines) + "\n\n" + NOTES


NOTES = """Notes:

- What a run imports is what it uses: building the parser imports no astropy, scipy, SQLAlchemy or
  SPICE (subcommands import their code in `run()`; `stix_lib.products`, `publish`, `cal` and
  `spice` export their names lazily, `stix_lib.lazy_exports`). A TM -> L1 run (and so an Airflow
  LB -> L1 task) imports neither astropy nor scipy.interpolate any more: header cards (also long
  strings with `CONTINUE`), FITS units and the serialized-columns YAML are written by
  `stix_lib.fits.cards` / `stix_lib.fits.column_meta` (PyYAML with libyaml), and the IDB spline
  curves call scipy's compiled FITPACK (`scipy.interpolate._dfitpack`, loaded on its own by
  `stix_lib.decode.spline`) with the arguments `splrep`/`splev` pass it. Each is tested bit for
  bit against astropy / scipy themselves (`tests/unit/fits/test_cards.py`, `test_column_meta.py`,
  `tests/unit/decode/test_spline.py`: every CAP spline curve of the four real IDBs at every 16-bit
  raw value); anything unusual (unknown unit, quotes in a long string, numpy values in column meta)
  still goes to astropy. `tests/integration/cli/test_startup_imports.py` guards the imports
  through `sys.modules`, without timing.
- Products of base and this tree are identical (`stix_lib.validate.archive_diff.archive_differences`,
  0 differences on moc_test, the simulated day of `bench_products.py` and the 10k / 30k / 100k
  deliveries of `bench_delivery.py`).
- Byte code: this machine's shell exports `PYTHONDONTWRITEBYTECODE=1`, with which every process
  recompiles the ~100 stix_lib modules it imports (~0.3 s CPU per start-up); the benchmark clears
  it. Deployments (Docker image: `pip install` compiles) are not affected.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="checkout of the tree to compare with")
    parser.add_argument("--base-commit", default=BASE_COMMIT, help=f"commit to compare with (default {BASE_COMMIT})")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared stix-data folder")
    parser.add_argument("--ql-dir", type=Path, help="ql10k TM files (bench_products.py --cache DIR: DIR/ql10k)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    ql_dir = args.ql_dir or (DEFAULT_QL_DIR if any(DEFAULT_QL_DIR.glob("*.xml")) else None)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-startup-base-") as tmp:
        base = args.base
        if base is None:
            base = Path(tmp) / "base"
            git = ["git", "-C", str(ROOT), "worktree"]
            subprocess.run([*git, "add", "--detach", str(base), args.base_commit], check=True, capture_output=True)
        try:
            results = measure(base.resolve(), args.data, ql_dir, args.repeat)
            base_commit = subprocess.run(
                ["git", "-C", str(base), "log", "-1", "--format=%h %s"], capture_output=True, text=True
            ).stdout.strip()
        finally:
            if args.base is None:
                subprocess.run([*git, "remove", "--force", str(base)], capture_output=True)
    command = "python benchmarks/bench_startup.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(results, command, base_commit, (load_before, os.getloadavg()[0]))
    print(text)
    if not args.no_write:
        write_section("startup", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
