"""Products benchmark: telemetry -> LB -> L0 -> L1 with the orchestrator (``Pipeline.run``).

Run from the repository root::

    .venv/bin/python benchmarks/bench_products.py [--workers 2] [--repeat 2] [--cache DIR] [--no-write]

Scenarios (telemetry from the simulator, :func:`stix_lib.dev.simulate.simulate`, scenario ``flare``):

``day``
    One simulated day (2020-05-06): HK maxi every 64 s, all quick-look products, calibration
    spectra, TM status, in four delivery files.
``ql10k``
    10,000 quick-look packets (service 21: light curves, background, spectra, variance, flare
    flags, calibration spectra, TM status) of consecutive simulated days from 2020-05-01, in five
    delivery files.

Each measurement runs in a fresh Python process on a fresh archive (real 2020 SPICE kernels,
STIX-CONF snapshot, real IDBs), with 1 and with ``--workers`` processes; the best of
``--repeat`` runs is reported. Peak memory is the largest sum of the proportional set size
(PSS, shared pages split between processes) of the process and its workers, sampled every
100 ms; the maximum RSS of the main process and of the largest worker are given too. Reference:
STIXCore processes ~18 quick-look packets/s at 1.1 GB peak; target >= 1,800 packets/s and
<= 0.5 GB. Telemetry generation is not timed (``--cache`` keeps it between runs). The figures
are printed and written to the ``products`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("STIX_REFERENCE_DATA", ROOT.parent / "shared" / "stix-data"))
QL_PACKETS = 10_000
TARGET_RATE = 1_800
TARGET_MEMORY_MB = 512


def _write_tm(path: Path, packets: list[bytes]) -> None:
    ground = bytes(76)
    rows = "\n".join(
        f'<PktRawResponseElement packetID="{i}">\n    <Packet>{(ground + p).hex()}</Packet>\n</PktRawResponseElement>'
        for i, p in enumerate(packets, start=1)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">\n<Response>\n<PktRawResponse>\n'
        f"{rows}\n</PktRawResponse>\n</Response>\n</ns2:ResponsePart>\n"
    )


def prepare(cache: Path, idb_dir: Path) -> dict[str, list[Path]]:
    """Simulated telemetry of both scenarios (made once per cache folder)."""
    import numpy as np

    from stix_lib.dev.simulate import SimulationConfig, simulate
    from stix_lib.tm import read_packets
    from stix_lib.tm.headers import decode_headers

    day_dir, ql_dir = cache / "day", cache / "ql10k"
    if not any(day_dir.glob("*.xml")):
        simulate(SimulationConfig("2020-05-06T00:00:00", 86400.0, day_dir, idb_dir, scenario="flare", seed=1, files=4))
    if not any(ql_dir.glob("*.xml")):
        packets: list[bytes] = []
        day = 0
        with tempfile.TemporaryDirectory(prefix="bench-products-sim-") as tmp:
            while len(packets) < QL_PACKETS:
                start = np.datetime64("2020-05-01T00:00:00") + np.timedelta64(day, "D")
                result = simulate(
                    SimulationConfig(str(start), 86400.0, Path(tmp) / str(day), idb_dir, scenario="flare", seed=day)
                )
                for path in result.files:
                    found, _ = read_packets(path)
                    services = decode_headers([p.data for p in found])["service_type"]
                    packets += [p.data for p, s in zip(found, services, strict=True) if s == 21]
                day += 1
        per_file = QL_PACKETS // 5
        for number in range(5):
            _write_tm(ql_dir / f"ql10k_{number}.PktTmRaw.xml", packets[number * per_file : (number + 1) * per_file])
    return {"day": sorted(day_dir.glob("*.xml")), "ql10k": sorted(ql_dir.glob("*.xml"))}


def _sample_pss(stop: threading.Event, peak: list[float]) -> None:
    import psutil

    me = psutil.Process()
    while not stop.wait(0.1):
        total = 0.0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_full_info().pss
            except (psutil.Error, OSError):
                continue
        peak[0] = max(peak[0], total)


def child(scenario: str, tm_files: list[Path], workers: int, data: Path) -> dict:
    """One measured run in this (fresh) process; returns the figures."""
    import resource

    from stix_lib.conf.energy_channels import ScienceEnergyChannels
    from stix_lib.idb import IDBManager
    from stix_lib.lb.fits_io import read_lb
    from stix_lib.pipeline import Pipeline
    from stix_lib.products.writer import ProductWriter
    from stix_lib.spice import SpiceKernels

    with tempfile.TemporaryDirectory(prefix="bench-products-") as tmp:
        kernels = SpiceKernels(data / "spice" / "kernels", work_dir=Path(tmp) / "mk")
        kernels.load()
        writer = ProductWriter(
            Path(tmp) / "archive", energy_channels=ScienceEnergyChannels(data / "stix-conf"), kernels=kernels
        )
        pipeline = Pipeline(writer, IDBManager(data / "idb"), workers=workers)
        load = os.getloadavg()[0]
        peak = [0.0]
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_pss, args=(stop, peak), daemon=True)
        sampler.start()
        wall, cpu = time.perf_counter(), time.process_time()
        report = pipeline.run(tm_files)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stop.set()
        sampler.join()
        lb_files = report.written("LB")
        packets = sum(len(read_lb(Path(p))) for p in lb_files)
        return {
            "scenario": scenario,
            "workers": workers,
            "wall": wall,
            "cpu_main": cpu,
            "packets": packets,
            "files": {level: len(report.written(level)) for level in ("LB", "L0", "L1")},
            "ok": report.ok,
            "peak_pss_mb": peak[0] / 2**20,
            "maxrss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "maxrss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "load": load,
        }


def measure(scenario: str, tm_files: list[Path], workers: int, data: Path, repeat: int) -> dict:
    """Best of ``repeat`` fresh-process runs."""
    runs = []
    for _ in range(repeat):
        command = [sys.executable, __file__, "--child", scenario, "--workers", str(workers), "--data", str(data)]
        command += [str(p) for p in tm_files]
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["wall"])
    best["peak_pss_mb"] = max(r["peak_pss_mb"] for r in runs)
    return best


def markdown(results: list[dict], command: str, load_after: float | None = None) -> str:
    """The results section (``load_after``: 1-minute load average when the measurements ended)."""
    import numpy

    import stix_lib

    lines = [
        "## Products: TM -> LB -> L0 -> L1",
        "",
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other work), Python "
        f"{platform.python_version()}, numpy {numpy.__version__}, stix_lib {stix_lib.__version__}",
        "- telemetry: simulator scenario `flare`; `day` = 2020-05-06 (HK + QL + calibration + TM status, "
        "4 files); `ql10k` = 10,000 service-21 packets of consecutive days from 2020-05-01 (5 files)",
        "- each run: fresh process, fresh archive, real 2020 SPICE kernels; best wall time of the runs; "
        "peak memory = largest PSS sum of the process tree (100 ms sampling)",
        f"- load average (1 min) before the measurements: {results[0]['load']:.2f}"
        + (f", after them: {load_after:.2f}" if load_after is not None else "")
        + " (the 2 cores are shared: figures vary with the other work)",
        "",
        "| scenario | workers | packets | LB / L0 / L1 files | wall s | packets/s | peak PSS MB "
        "| max RSS main / worker MB |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in results:
        files = " / ".join(str(r["files"][level]) for level in ("LB", "L0", "L1"))
        lines.append(
            f"| {r['scenario']} | {r['workers']} | {r['packets']:,} | {files} | {r['wall']:.2f} | "
            f"{r['packets'] / r['wall']:,.0f} | {r['peak_pss_mb']:.0f} | "
            f"{r['maxrss_main_mb']:.0f} / {r['maxrss_worker_mb']:.0f} |"
        )
    lines.append("")
    for r in (r for r in results if r["scenario"] == "ql10k"):
        rate = r["packets"] / r["wall"]
        lines.append(
            f"- ql10k with {r['workers']} process(es): **{rate:,.0f} packets/s** "
            f"({rate / 18:,.0f}x STIXCore's ~18/s; target >= {TARGET_RATE:,}: "
            f"{'met' if rate >= TARGET_RATE else 'not met'}), peak {r['peak_pss_mb']:.0f} MB "
            f"(target <= {TARGET_MEMORY_MB}: {'met' if r['peak_pss_mb'] <= TARGET_MEMORY_MB else 'not met'})"
        )
    lines += [
        "",
        "Notes: every product file is written atomically with one `fsync` (~0.7-2 ms a file here), under",
        "its folder's lock, in the writer's own thread. A run writes each daily file once (parts of",
        "neighbouring days are merged in memory first). With workers, packet types (in runs of 8 days)",
        "are processed in parallel processes; TM -> LB stays",
        "sequential (delivery order decides between differing duplicates). Before the optimisation round",
        "of 2026-11-24 (commit e73c41f) the same script gave 1,230 (1 process) and 1,756 (2 processes)",
        "ql10k packets/s on this machine at load 1.2.",
        "",
        "Realism of `ql10k`: its 10,000 packets span 40 days because the simulator's quick-look density",
        "is that of real operations, not because packets are sparse. Per day it makes 37.5 light-curve,",
        "15.8 background and 5.9 variance packets; the real STIXCore L1 products of 2020-05-06",
        "(`reference/l1`) hold 39, 17 and 7 (580 / 678 / 4,073 samples per packet). Spectra (27.6 vs 1),",
        "flare flags (15.8 vs 2) and TM status (22.7 vs 1) are denser than that real day, and 128",
        "calibration-spectrum packets per day carry the accumulations. The scenario is thus not sparser",
        "than real operations and was kept; at the real density of 2020-05-06 the same 10,000 packets",
        "would span more days, i.e. more and smaller files, so a real-density figure would be lower, not",
        "higher, than the one above.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or one measured child run with ``--child``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="processes of the parallel measurement")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (best is reported)")
    parser.add_argument("--cache", type=Path, help="keep the simulated telemetry here between runs")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="stix-data folder (STIX_REFERENCE_DATA)")
    parser.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("tm", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.child:
        print(json.dumps(child(args.child, args.tm, args.workers, args.data)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-products-tm-") as tmp:
        telemetry = prepare(args.cache or Path(tmp), args.data / "idb")
        results = []
        for scenario in ("day", "ql10k"):
            for workers in sorted({1, max(1, args.workers)}):
                results.append(measure(scenario, telemetry[scenario], workers, args.data, args.repeat))
    command = f".venv/bin/python benchmarks/bench_products.py {' '.join(argv if argv is not None else sys.argv[1:])}"
    text = markdown(results, command.rstrip(), os.getloadavg()[0])
    print(text)
    if not args.no_write:
        from results_file import write_section

        write_section("products", text)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
