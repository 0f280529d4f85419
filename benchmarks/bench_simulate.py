"""Simulator benchmark: one day of nominal telemetry (HK + all quick-look, no science requests).

Run from the repository root::

    .venv/bin/python benchmarks/bench_simulate.py [--repeat 3] [--scenario flare] [--with-bsd]

Each run simulates 2021-08-01 (one day, IDB 2.26.35) into a fresh temporary folder with
:func:`stix_lib.dev.simulate.simulate` (HK maxi every 64 s, light curves, background, variance,
spectra, flare flag, TM status, the daily calibration accumulation; scenario ``flare`` adds the
flare, RCR changes and the flare-list entry but no science requests) and writes the XML file and
the manifest. Target: under 30 s per simulated day. The figures go to stdout only (Markdown);
The figures are printed and written to the ``simulate`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("STIX_REFERENCE_DATA", ROOT.parent / "shared" / "stix-data"))


def run_once(idb_dir: Path, scenario: str, seed: int) -> tuple[float, float, int, int]:
    """Simulate one day; returns (wall s, CPU s, packets, bytes written)."""
    from stix_lib.dev.simulate import SimulationConfig, simulate

    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        config = SimulationConfig("2021-08-01T00:00:00", 86400.0, Path(tmp), idb_dir, scenario=scenario, seed=seed)
        wall, cpu = time.perf_counter(), time.process_time()
        result = simulate(config)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = sum(p.stat().st_size for p in result.files)
        return wall, cpu, result.packet_count, size


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (best is reported)")
    parser.add_argument("--scenario", default="flare", choices=["quiet", "flare"], help="nominal scenario")
    parser.add_argument("--with-bsd", action="store_true", help="also time scenario 'all' (science requests)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="stix-data folder (STIX_REFERENCE_DATA)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import numpy

    import stix_lib

    idb_dir = args.data / "idb"
    scenarios = [args.scenario] + (["all"] if args.with_bsd else [])
    lines = ["## Simulator: one day of telemetry", ""]
    command = f".venv/bin/python benchmarks/bench_simulate.py {' '.join(argv or sys.argv[1:])}".rstrip()
    lines.append(f"- command: `{command}`")
    lines.append(
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs (shared), Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, stix_lib {stix_lib.__version__}"
    )
    lines.append(f"- simulated: 2021-08-01, one day, best of {args.repeat} runs, one process")
    lines += ["", "| scenario | packets | MB of XML | wall s | CPU s | target (< 30 s/day) |"]
    lines.append("|---|---:|---:|---:|---:|---|")
    status = 0
    for scenario in scenarios:
        runs = [run_once(idb_dir, scenario, seed) for seed in range(args.repeat)]
        wall, cpu, packets, size = min(runs)
        met = wall < 30.0
        if scenario != "all" and not met:
            status = 1
        target = ("met" if met else "MISSED") if scenario != "all" else "(not a target)"
        lines.append(f"| {scenario} | {packets} | {size / 1e6:.1f} | {wall:.2f} | {cpu:.2f} | {target} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += ["", f"- peak memory (max RSS of the benchmark process): {peak:.0f} MB"]
    print("\n".join(lines))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from results_file import write_section

    write_section("simulate", "\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
