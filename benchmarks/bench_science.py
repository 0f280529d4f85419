"""Science benchmark: a simulated flare day with ten science requests, TM -> LB -> L0 -> L1.

Run from the repository root::

    .venv/bin/python benchmarks/bench_science.py [--repeat 2] [--cache DIR] [--no-write]

Telemetry: the simulator (scenario ``bsd``, IDB 2.26.35) for 2021-08-01 as two 12-hour halves
with one flare each, so the day holds ten requests (rpd, cpd, scpd, vis, spec twice) besides the
housekeeping and quick-look packets, in four delivery files per half. Each measurement runs the
orchestrator (``Pipeline.run``, one worker) in a fresh Python process on a fresh archive (real
IDBs, STIX-CONF snapshot, the real 2020 SPICE kernels: 2021 is past their orbit, so the L1
position keywords are ``SPICE_ER``); the best of ``--repeat`` runs is reported with its peak memory (maximum RSS of the
process). Telemetry generation is not timed. The figures are printed and written to the
``science`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("STIX_REFERENCE_DATA", ROOT.parent / "shared" / "stix-data"))
HALVES = ("2021-08-01T00:00:00", "2021-08-01T12:00:00")


def simulate_day(data: Path, out: Path) -> tuple[list[Path], int]:
    """The day's delivery files (cached in ``out``) and its number of science requests."""
    from stix_lib.dev.simulate.simulator import SimulationConfig, simulate

    files: list[Path] = []
    requests = 0
    for number, start in enumerate(HALVES):
        folder = out / f"half{number}"
        manifest = folder / "manifest.json"
        if not manifest.exists():
            config = SimulationConfig(
                start=start, duration=12 * 3600.0, out_dir=folder, idb_dir=data / "idb", scenario="bsd", seed=7 + number
            )
            simulate(config)
        manifest = next(folder.glob("*.json"))
        requests += len(json.loads(manifest.read_text()).get("requests", []))
        files += sorted(folder.glob("*.xml"))
    return files, requests


def child(data: Path, tm_files: list[Path]) -> None:
    """Process ``tm_files`` into a fresh archive; print the figures as JSON."""
    sys.path.insert(0, str(ROOT))
    from stix_lib.conf.energy_channels import ScienceEnergyChannels
    from stix_lib.idb.manager import IDBManager
    from stix_lib.pipeline import Pipeline
    from stix_lib.products.writer import ProductWriter
    from stix_lib.spice import SpiceKernels

    with tempfile.TemporaryDirectory(prefix="bench-science-") as tmp:
        archive = Path(tmp) / "fits"
        kernels = SpiceKernels(data / "spice" / "kernels", work_dir=Path(tmp) / "mk")
        writer = ProductWriter(archive, energy_channels=ScienceEnergyChannels(data / "stix-conf"), kernels=kernels)
        pipeline = Pipeline(writer, IDBManager(data / "idb"))
        began = time.perf_counter()
        run = pipeline.run(tm_files, end_level="L1")
        wall = time.perf_counter() - began
        science = {level: [p for p in run.written(level) if "-sci-" in Path(p).name or "-21-6-" in Path(p).name]
                   for level in ("LB", "L0", "L1")}  # fmt: skip
        packets = sum(Path(p).read_text().count("<Packet>") for p in tm_files)
        print(
            json.dumps(
                {
                    "wall": wall,
                    "packets": packets,
                    "files": {level: len(run.written(level)) for level in ("LB", "L0", "L1")},
                    "science_l0": len([p for p in science["L0"] if "-sci-" in Path(p).name]),
                    "science_l1": len([p for p in science["L1"] if "-sci-" in Path(p).name]),
                    "errors": sum(len(r.file_errors) + len(r.packet_errors) for r in run.files),
                    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            )
        )


def measure(data: Path, tm_files: list[Path]) -> dict:
    """One fresh-process run: its figures plus the load average before it."""
    load = os.getloadavg()[0]
    command = [sys.executable, str(Path(__file__).resolve()), "--data", str(data), "--child", "1", *map(str, tm_files)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["load"] = load
    return result


def report(result: dict, requests: int, repeat: int) -> str:
    """The markdown section."""
    import numpy

    import stix_lib

    files = result["files"]
    return "\n".join(
        [
            "## Science requests (`benchmarks/bench_science.py`)",
            "",
            f"- command: `.venv/bin/python benchmarks/bench_science.py --repeat {repeat}`",
            f"- date: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
            f"- machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other work), Python "
            f"{platform.python_version()}, numpy {numpy.__version__}, stix_lib {stix_lib.__version__}",
            f"- load average (1 min) before the reported run: {result['load']:.2f}",
            "- input: simulated flare day 2021-08-01 (two 12 h halves, scenario `bsd`, IDB 2.26.35), "
            f"{requests} science requests, {result['packets']:,} packets in 8 delivery files",
            "- TM -> LB -> L0 -> L1, one worker, fresh process and archive, best of the runs; peak memory = "
            "maximum RSS of the process",
            "",
            "| requests | packets | LB / L0 / L1 files | science L0 / L1 | wall s | packets/s | peak MB | errors |",
            "|---:|---:|---|---|---:|---:|---:|---:|",
            f"| {requests} | {result['packets']:,} | {files['LB']} / {files['L0']} / {files['L1']} | "
            f"{result['science_l0']} / {result['science_l1']} | {result['wall']:.2f} | "
            f"{result['packets'] / result['wall']:,.0f} | {result['maxrss_mb']:.0f} | {result['errors']} |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--child``, one measurement)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs (best is reported)")
    parser.add_argument("--cache", type=Path, help="keep the simulated telemetry here between runs")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="stix-data folder (STIX_REFERENCE_DATA)")
    parser.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("tm", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.data, args.tm)
        return 0
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-science-tm-") as tmp:
        cache = args.cache or Path(tmp)
        tm_files, requests = simulate_day(args.data, cache)
        runs = [measure(args.data, tm_files) for _ in range(max(1, args.repeat))]
    best = min(runs, key=lambda r: r["wall"])
    text = report(best, requests, args.repeat)
    print(text)
    if not args.no_write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from results_file import write_section

        write_section("science", text)
    return 0 if best["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
