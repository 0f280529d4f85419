"""Benchmark the SPICE kernel-set builder (``stix-pipeline kernels build``).

Run: ``.venv/bin/python benchmarks/bench_kernels.py``; writes the ``kernels`` section of RESULTS.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = (
    ("one month, tree only", "2024-03-01", "2024-04-01", "2024-03-20", False),
    ("one month, with SOC zips", "2024-03-01", "2024-04-01", "2024-03-20", True),
    ("one year, with SOC zips", "2024-01-01", "2025-01-01", "2024-12-01", True),
)


def main() -> int:
    """Time each case (best of 3) and record the table."""
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    lines = ["## SPICE kernel builder", "", "- command: `.venv/bin/python benchmarks/bench_kernels.py`", "",
             "| case | best of 3, wall s | files | MB |", "|---|---:|---:|---:|"]  # fmt: skip
    for label, start, end, flown, zips in CASES:
        best, files, size = float("inf"), 0, 0.0
        for _ in range(3):
            with tempfile.TemporaryDirectory() as tmp:
                began = time.perf_counter()
                build_kernel_set(Path(tmp) / "k", start, end, flown, make_zips=zips)
                best = min(best, time.perf_counter() - began)
                paths = [p for p in Path(tmp).rglob("*") if p.is_file()]
                files, size = len(paths), sum(p.stat().st_size for p in paths) / 1e6
        lines.append(f"| {label} | {best:.3f} | {files} | {size:.1f} |")
    print("\n".join(lines))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from results_file import write_section

    write_section("kernels", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
