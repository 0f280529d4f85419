"""Telemetry throughput benchmark: XML read bound, TM -> LB, TM -> decoded QL/HK parameters.

Run from the repository root::

    .venv/bin/python benchmarks/bench_telemetry.py [--packets 10000] [--repeat 3] [--no-write]

It builds an EDDS ``PktTmRaw`` XML file in a temporary folder by replicating the 16 real packets
of ``moc_test.PktTmRaw.xml`` (quick-look SSIDs 30-34, 41, 43) with shifted times and sequence
counts, spread over about two days of on-board time, interleaved with synthetic HK maxi packets
(3/25/2, 109 bytes, one per 64 s as in flight, encoded from the IDB layout), then measures:

* the machine bound: parsing the XML and unhexing every packet, nothing else (ElementTree
  ``iterparse`` + ``bytes.fromhex``), and the project's reader (``stix_lib.tm.read_packets``);
* TM -> LB: ``stix_lib.lb.tm_to_lb`` into an empty archive (packets/s, MB/s of XML);
* TM -> decoded raw parameters for the QL/HK packets (packets already in memory, one process);
* peak memory (``ru_maxrss`` of the process; ``tracemalloc`` peak of one TM -> LB run).

Targets: TM -> LB >= 25 % of the read + unhex bound; QL/HK decoding >= 20,000 packets/s.
Results go to ``benchmarks/RESULTS.md`` (unless ``--no-write``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("STIX_REFERENCE_DATA", ROOT.parent / "shared" / "stix-data"))


def write_tm_xml(path: Path, packets: list[bytes]) -> None:
    """Write CCSDS packets as an EDDS ``PktRawResponse`` file (zero 76-byte ground header)."""
    ground = bytes(76).hex()
    with path.open("w") as out:
        out.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
        out.write('<ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">\n<Response>\n<PktRawResponse>\n')
        for number, data in enumerate(packets, start=1):
            out.write(f'<PktRawResponseElement packetID="{number}">\n    <Packet>{ground}{data.hex()}</Packet>\n')
            out.write("</PktRawResponseElement>\n")
        out.write("</PktRawResponse>\n</Response>\n</ns2:ResponsePart>\n")


def shifted(packet: bytes, seconds: int, count: int) -> bytes:
    data = bytearray(packet)
    data[10:14] = (int.from_bytes(data[10:14], "big") + seconds).to_bytes(4, "big")
    data[2:4] = ((int.from_bytes(data[2:4], "big") & 0xC000) | (count & 0x3FFF)).to_bytes(2, "big")
    return bytes(data)


def build_packets(data_root: Path, n_ql: int) -> tuple[list[bytes], int, int]:
    """Replicated moc_test QL packets + synthetic HK maxi packets, in time order."""
    from stix_lib.decode import get_layout
    from stix_lib.decode.encoder import encode_packet
    from stix_lib.idb import IDBManager
    from stix_lib.tm import read_packets

    moc, _ = read_packets(data_root / "tm" / "moc_test.PktTmRaw.xml")
    base = [p.data for p in moc]
    first = min(int.from_bytes(p[10:14], "big") for p in base)
    cycles = -(-n_ql // len(base))
    # pack the cycles so that the telemetry covers about two days (like a SOC delivery of a few
    # days), while keeping the real spacing of the 16 packets inside a cycle (~5875 s)
    cycle_seconds = max(1, (2 * 86400 - 6000) // cycles)
    timed: list[tuple[int, bytes]] = []
    for cycle in range(cycles):
        for i, packet in enumerate(base):
            if len(timed) >= n_ql:
                break
            p = shifted(packet, cycle * cycle_seconds, cycle * len(base) + i)
            timed.append((int.from_bytes(p[10:14], "big"), p))
    span = cycles * cycle_seconds + 6000
    layout = get_layout(IDBManager(data_root / "idb").get_idb("2.26.32"), 3, 25, 2)
    template = encode_packet(layout, {"NIXD0025": 3950, "NIXD0002": 7, "NIXD0023": 5}, coarse=first)
    n_hk = span // 64
    for k in range(n_hk):
        timed.append((first + 64 * k, shifted(template, 64 * k, k)))
    timed.sort(key=lambda item: item[0])
    return [p for _, p in timed], n_ql, n_hk


def build_bsd_packets(data_root: Path, count: int) -> list[bytes]:
    """Synthetic 21/6/20 (raw pixel data) packets: 2 substructures x 400 pixels, mixed count codes."""
    from stix_lib.decode import get_layout
    from stix_lib.decode.encoder import encode_packet
    from stix_lib.idb import IDBManager

    layout = get_layout(IDBManager(data_root / "idb").get_idb("2.26.35"), 21, 6, 20)
    rng = np.random.default_rng(1)
    packets = []
    for i in range(count):
        codes = rng.integers(0, 3, 800)
        values = [1 if c == 0 else int(rng.integers(0, 256 if c == 1 else 65536)) for c in codes.tolist()]
        packets.append(
            encode_packet(
                layout,
                {"NIX00403": 2, "NIX00406": [400, 400], "NIXD0159": codes.tolist(), "NIX00065": values},
                coarse=700_000_000 + i,
            )
        )
    return packets


def best_of(repeat: int, func: Callable[[], object]) -> tuple[float, float, object]:
    """Best wall time and best CPU time of ``repeat`` runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = func()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return min(walls), min(cpus), result


def raw_read_bound(path: Path) -> int:
    """Parse the XML and unhex every packet, nothing else."""
    count = 0
    for _event, element in ElementTree.iterparse(path, events=("end",)):
        if element.tag == "Packet":
            bytes.fromhex(element.text or "")
            count += 1
        elif element.tag == "PktRawResponseElement":
            element.clear()
    return count


def lb_peak_rss(tm: Path, archive: Path, data_root: Path) -> float:
    """Max RSS (MB) of a fresh Python process that runs one TM -> LB conversion."""
    code = (
        "import resource, sys; from pathlib import Path; "
        "from stix_lib.idb import IDBManager; from stix_lib.lb import tm_to_lb; "
        f"tm_to_lb(Path({str(tm)!r}), Path({str(archive)!r}), IDBManager(Path({str(data_root / 'idb')!r}))); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return int(out.split()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=10000, help="quick-look packets (HK added on top)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="stix-data folder")
    parser.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    from stix_lib.decode import decode_packets
    from stix_lib.idb import IDBManager
    from stix_lib.lb import tm_to_lb
    from stix_lib.tm import read_packets

    manager = IDBManager(args.data / "idb")
    with tempfile.TemporaryDirectory(prefix="stix-bench-") as tmp:
        tmp_path = Path(tmp)
        packets, n_ql, n_hk = build_packets(args.data, args.packets)
        tm = tmp_path / "bench.PktTmRaw.xml"
        write_tm_xml(tm, packets)
        n = len(packets)
        mb = tm.stat().st_size / 1e6
        print(f"telemetry: {n} packets ({n_ql} QL + {n_hk} HK maxi), {mb:.1f} MB XML", flush=True)

        raw_wall, raw_cpu, count = best_of(args.repeat, lambda: raw_read_bound(tm))
        assert count == n
        read_wall, read_cpu, (read, errors) = best_of(args.repeat, lambda: read_packets(tm))
        assert len(read) == n and not errors

        runs = iter(range(10**6))

        def lb_run() -> object:
            return tm_to_lb(tm, tmp_path / f"archive{next(runs)}", manager, date="2000-01-01T00:00:00.000")

        lb_wall, lb_cpu, lb_result = best_of(args.repeat, lb_run)
        assert lb_result.ok and lb_result.packets_used == n  # type: ignore[union-attr]
        n_files = len(lb_result.written)  # type: ignore[union-attr]
        merge_archive = tmp_path / "archive0"  # already holds every packet: a full re-delivery

        def merge_run() -> object:
            return tm_to_lb(tm, merge_archive, manager, date="2000-01-01T00:00:00.000")

        merge_wall, merge_cpu, merge_result = best_of(args.repeat, merge_run)
        assert merge_result.written == [] and merge_result.duplicates == n  # type: ignore[union-attr]
        rss_mb = lb_peak_rss(tm, tmp_path / "archive-rss", args.data)

        def is_ql_hk(key) -> bool:
            return key[:2] == (3, 25) or (key[:2] == (21, 6) and key[2] in (30, 31, 32, 33, 34, 41, 43))

        decode_packets(read[:100], manager, select=is_ql_hk)  # warm the IDB / layout caches
        dec_wall, dec_cpu, decoded = best_of(args.repeat, lambda: decode_packets(read, manager, select=is_ql_hk))
        assert decoded.decoded_count == n and not decoded.errors  # type: ignore[union-attr]
        values = sum(int(sum(len(v) for v in g.values.values())) for g in decoded.groups.values())  # type: ignore[union-attr]

        bsd = build_bsd_packets(args.data, 200)
        bsd_wall, bsd_cpu, bsd_decoded = best_of(args.repeat, lambda: decode_packets(bsd, manager))
        assert bsd_decoded.decoded_count == len(bsd) and not bsd_decoded.errors  # type: ignore[union-attr]

        tracemalloc.start()
        tm_to_lb(tm, tmp_path / "archive-mem", manager)
        _, lb_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    lb_vs_bound = (raw_wall / lb_wall) * 100
    lb_vs_reader = (read_wall / lb_wall) * 100
    rows = [
        ("XML parse + unhex (bound)", raw_wall, raw_cpu),
        ("stix_lib.tm.read_packets", read_wall, read_cpu),
        ("TM -> LB (tm_to_lb, incl. read + FITS write)", lb_wall, lb_cpu),
        ("TM -> LB again into the same archive (read + merge, nothing new)", merge_wall, merge_cpu),
        ("decode QL/HK parameters (packets in memory)", dec_wall, dec_cpu),
    ]
    lines = [
        "| step | wall s | CPU s | packets/s (wall) | MB/s of XML (wall) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, wall, cpu in rows:
        lines.append(f"| {label} | {wall:.3f} | {cpu:.3f} | {n / wall:,.0f} | {mb / wall:.1f} |")
    ql_target = n / dec_wall >= 20000
    lb_target = lb_vs_bound >= 25
    summary = [
        f"- TM -> LB = **{lb_vs_bound:.0f} %** of the XML parse + unhex bound "
        f"({lb_vs_reader:.0f} % of the project reader); target >= 25 %: **{'met' if lb_target else 'MISSED'}**",
        f"- QL/HK decoding: **{n / dec_wall:,.0f} packets/s** wall ({n / dec_cpu:,.0f}/s CPU), "
        f"{values / dec_wall / 1e6:.1f} M values/s; target >= 20,000 packets/s on one core: "
        f"**{'met' if ql_target else 'MISSED'}**",
        f"- LB files written per run: {n_files}",
        f'- science (BSD) decoding, not a target ("correct first"): {len(bsd)} synthetic 21/6/20 packets '
        f"(800 pixels each, continuation-coded counts, {np.mean([len(p) for p in bsd]):.0f} bytes): "
        f"{len(bsd) / bsd_wall:,.0f} packets/s, {len(bsd) * 800 / bsd_wall / 1e6:.1f} M pixels/s",
        f"- peak memory of TM -> LB alone (fresh process, max RSS incl. interpreter and libraries): "
        f"{rss_mb:.0f} MB; tracemalloc peak of one TM -> LB run {lb_peak / 1e6:.0f} MB (XML {mb:.1f} MB); "
        f"whole benchmark process max RSS {maxrss_mb:.0f} MB",
    ]
    report = "\n".join(lines + [""] + summary)
    print(report)
    if not args.no_write:
        import numpy
        import scipy

        import stix_lib

        command = "cd /work/main && .venv/bin/python benchmarks/bench_telemetry.py " + " ".join(argv or sys.argv[1:])
        text = "\n".join(
            [
                "# Telemetry benchmark results",
                "",
                f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
                f"- command: `{command.strip()}`",
                f"- machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other work), "
                f"Python {platform.python_version()}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
                f"stix_lib {stix_lib.__version__}",
                f"- telemetry: {n} packets = {n_ql} replicated moc_test quick-look packets (SSIDs 30-34, 41, 43; "
                f"shifted times and sequence counts) + {n_hk} synthetic HK maxi packets (one per 64 s); "
                f"{mb:.1f} MB of XML",
                f"- timing: best of {args.repeat} runs, one process, single thread",
                "",
                report,
                "",
                "## Notes",
                "",
                "- The bound is ElementTree `iterparse` + `bytes.fromhex` with no checks. The project reader",
                "  (expat driven directly, with a fast path for the canonical SOC layout; DTDs refused, every",
                f"  packet checked) reads at {raw_wall / read_wall * 100:.0f} % of the bound's rate.",
                "- TM -> LB cost has a per-file part (about 1-2 ms per LB file, fsync included): the synthetic",
                "  telemetry spans about two days, i.e. 8 packet types x 3 SCET days = 24 files. Telemetry",
                "  spread over many more days per file gives more, smaller LB files and a lower rate.",
                "- Merging into existing files reads them with the project's own FITS table reader (the",
                "  re-delivery row).",
                "- Science packets are decoded repetition by repetition for groups with continuation-coded",
                "  counts (lock step over all packets), hence the lower rate.",
                "",
            ]
        )
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from results_file import write_section

        title = "## Telemetry: TM -> LB and decoding"
        write_section("telemetry", text.replace("# Telemetry benchmark results", title, 1))
    return 0


if __name__ == "__main__":
    np.seterr(all="raise")
    sys.exit(main())
