"""Peak memory of TM -> LB -> L0 -> L1 against the size of one telemetry file (issue 16, item 8).

Run from the repository root::

    .venv/bin/python benchmarks/bench_memory.py [--sizes 50 200 400] [--no-write]

For each size (MB of EDDS XML) a file is built from the real moc_test quick-look packets and
synthetic HK maxi packets (:func:`bench_telemetry.build_packets`, times shifted to 2020-05 so the
packets lie inside the mission window), then ``stix-pipeline process -e L1`` runs in a fresh
process on an empty archive (real 2020 SPICE kernels, STIX-CONF snapshot, real IDBs). Reported:
the maximum RSS of that process (``VmHWM`` of that process), the wall and CPU time and the ratio of peak
RSS to file size, and first the same for a run without any file (interpreter and libraries).
Calibration spectra are kept at a few a day (:data:`CALIBRATION_PER_DAY`; ``--all-calibration``
keeps every replica: see :func:`_packets`). Target of issue 16: peak bounded by a constant,
<= 400 MB for a 400 MB file.
The figures go to the ``memory`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_telemetry import DEFAULT_DATA, build_packets, shifted, write_tm_xml  # noqa: E402
from results_file import write_section  # noqa: E402

#: moc_test is from 2019-11-27; shifted by this many seconds its packets fall in May 2020.
SHIFT_TO_2020 = 160 * 86400
#: Calibration spectra (21/6/41) kept per SCET day: those of one moc_test cycle (4 accumulations).
CALIBRATION_PER_DAY = 4
#: XML bytes of one element around the packet hex (tags, packetID, new lines).
_ELEMENT_OVERHEAD = 80


def _xml_bytes(packets: list[bytes]) -> int:
    """About the size of :func:`write_tm_xml`'s file of ``packets``."""
    return sum(2 * (76 + len(p)) + _ELEMENT_OVERHEAD for p in packets)


def _packets(n_ql: int, data: Path, all_calibration: bool) -> list[bytes]:
    """The benchmark packets: replicated moc_test QL + HK maxi, shifted to 2020.

    Replicas of a calibration packet keep their accumulation time (inside the packet), so without
    a cap every replica lands in the same daily calibration product, thousands of them a day where
    the instrument sends a few: unless ``all_calibration``, only the first
    :data:`CALIBRATION_PER_DAY` calibration packets of each day are kept.
    """
    packets, _, _ = build_packets(data, n_ql)
    packets = [shifted(p, SHIFT_TO_2020, int.from_bytes(p[2:4], "big") & 0x3FFF) for p in packets]
    if all_calibration:
        return packets
    kept: list[bytes] = []
    per_day: dict[int, int] = {}
    for p in packets:
        if p[7:9] == bytes([21, 6]) and p[16] == 41:
            day = int.from_bytes(p[10:14], "big") // 86400
            per_day[day] = per_day.get(day, 0) + 1
            if per_day[day] > CALIBRATION_PER_DAY:
                continue
        kept.append(p)
    return kept


def build_file(path: Path, megabytes: float, data: Path, all_calibration: bool = False) -> int:
    """An EDDS XML file of about ``megabytes`` MB; returns its packet count."""
    n_ql = 2000
    for _ in range(4):  # HK packets depend on the span, not on n_ql: converge on the size
        packets = _packets(n_ql, data, all_calibration)
        size = _xml_bytes(packets)
        if abs(size - megabytes * 1e6) < 0.02 * megabytes * 1e6:
            break
        n_ql = max(1, int(n_ql * megabytes * 1e6 / size))
    write_tm_xml(path, packets)
    return len(packets)


def build_long_file(path: Path, megabytes: float, data: Path, block_mb: float) -> int:
    """About ``megabytes`` MB at a constant data rate: a two-day block of ``block_mb`` MB repeated,
    each repeat two days later (header times and sequence counts moved on); returns the packet count."""
    n_ql = 2000
    for _ in range(4):
        block = _packets(n_ql, data, False)
        size = _xml_bytes(block)
        if abs(size - block_mb * 1e6) < 0.02 * block_mb * 1e6:
            break
        n_ql = max(1, int(n_ql * block_mb * 1e6 / size))
    packets = []
    for k in range(max(1, round(megabytes / block_mb))):
        packets += [shifted(p, k * 2 * 86400, (int.from_bytes(p[2:4], "big") & 0x3FFF) + k * len(block)) for p in block]
    write_tm_xml(path, packets)
    return len(packets)


def measure(tm: Path | None, work: Path, data: Path) -> dict[str, float]:
    """Peak RSS (MB), wall and CPU time (s) of ``stix-pipeline process`` of one file (``None``: none) to L1."""
    tm_dir = work / "tm"
    tm_dir.mkdir(parents=True, exist_ok=True)
    if tm is not None:
        os.replace(tm, tm_dir / tm.name)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
        STIX_DATA_ROOT=str(work / "data"),
        STIX_IDB_DIR=str(data / "idb"),
        STIX_CONF_DIR=str(data / "stix-conf"),
        STIX_SPICE_DIR=str(data / "spice" / "kernels"),
    )
    argv = ["process", "-t", str(tm_dir), "-f", str(work / "fits"), "-e", "L1", "--log_level", "WARNING"]
    # VmHWM, not ru_maxrss: Linux carries the spawning process's peak RSS over exec into ru_maxrss,
    # so the packets this benchmark holds would count in the child's figure
    code = (
        "import re; from pathlib import Path; from stix_lib.cli.main import main; "
        f"main({argv!r}); "
        "print(re.search(r'VmHWM:\\s*(\\d+)', Path('/proc/self/status').read_text()).group(1))"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    peak = int(out.split()[-1])
    return {"peak_mb": peak / 1024, "seconds": seconds, "cpu": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[50.0, 200.0, 400.0], help="file sizes in MB")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--block-mb", type=float, default=12.5, help="MB per two days of the constant-rate files (0: none)"
    )
    parser.add_argument(
        "--all-calibration", action="store_true", help="keep every replicated calibration packet (see _packets)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stix-bench-memory-") as tmp:
        baseline = measure(None, Path(tmp) / "work", args.data)
    print(f"no file: peak RSS {baseline['peak_mb']:.0f} MB")
    rows = []
    blocks: list[float | None] = [None, args.block_mb] if args.block_mb > 0 else [None]
    for block_mb in blocks:
        for size in sorted(args.sizes):
            with tempfile.TemporaryDirectory(prefix="stix-bench-memory-") as tmp:
                tm = Path(tmp) / f"bench_{int(size)}MB.PktTmRaw.xml"
                if block_mb is None:
                    packets = build_file(tm, size, args.data, args.all_calibration)
                else:
                    packets = build_long_file(tm, size, args.data, block_mb)
                actual = tm.stat().st_size / 1e6
                result = measure(tm, Path(tmp) / "work", args.data)
            days = "2" if block_mb is None else f"{2 * max(1, round(size / block_mb))}"
            rows.append((actual, packets, days, result))
            print(f"{actual:.0f} MB over {days} days, {packets} packets: peak RSS {result['peak_mb']:.0f} MB")
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        "## Memory: peak RSS of TM -> L1 against file size (`benchmarks/bench_memory.py`)",
        "",
        f"Command: `python benchmarks/bench_memory.py --sizes {' '.join(f'{s:g}' for s in args.sizes)}`; "
        "one file, `stix-pipeline process -e L1` in a fresh process, peak = its `VmHWM` (max RSS).",
        "",
        f"Load average (1/5/15 min) at the end: {load}.",
        "",
        "| file | days of packets | packets | peak RSS | peak / file size | wall time | CPU (user+sys) |",
        "|---|---|---|---|---|---|---|",
        f"| none (baseline) | | 0 | {baseline['peak_mb']:.0f} MB | | {baseline['seconds']:.0f} s "
        f"| {baseline['cpu']:.0f} s |",
    ]
    lines += [
        f"| {mb:.0f} MB | {days} | {n:,} | {r['peak_mb']:.0f} MB | {r['peak_mb'] / mb:.1f} | {r['seconds']:.0f} s "
        f"| {r['cpu']:.0f} s |"
        for mb, n, days, r in rows
    ]
    lines += [
        "",
        "- TM -> LB reads and converts a file in batches of `stix_lib.lb.convert.BATCH_BYTES` (32 MB) of packets;",
        "  merging a batch into a daily LB file reads that file's packets in 512 kB pieces (a file with at most",
        "  1 MB of DATA in one read: `stix_lib.lb.fits_io.iter_lb_chunks`) and writes its DATA table in 4 MB",
        "  pieces (`data_table_parts`).",
        "- LB -> L0 -> L1 holds a few days per packet type (`stix_lib.pipeline.stream`) and builds the L0 of one",
        "  LB file (one type, one day) at a time, decoding its packets 512 kB at a time and keeping only the",
        "  de-duplicated rows of each chunk (`stix_lib.products.l0.chunked`): memory follows the chunk and the",
        "  product, not the LB file.",
        "- Rows with 2 days: the packets of every size are packed into two days (denser, not longer, with size):",
        "  the daily LB files grow with the file (up to ~70 MB of packets a day at 400 MB).",
        f"  Other rows: a two-day block of {args.block_mb:g} MB repeated two days later each time (same data rate,",
        "  longer delivery): the peak grows little.",
        "- Calibration spectra: the replicas of a moc_test calibration packet keep its accumulation time and so",
        "  all add to one daily spectrum; capped at "
        + ("every replica (`--all-calibration`)" if args.all_calibration else f"{CALIBRATION_PER_DAY} a day")
        + " (the summed-grid spread of L0 calibration works in bounded chunks).",
    ]
    if not args.no_write:
        write_section("memory", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
