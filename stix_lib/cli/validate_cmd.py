"""``stix-pipeline validate``: check products against reference products and stixpy.

Each FITS file is compared with the reference product of the same level and type (HDU names,
column names, dtypes, units, primary keywords), value by value over their common time range
(every DATA and CONTROL value: integers exact, floats to 1e-6, times to 1 ms; the documented
V01 -> current changes applied, :mod:`stix_lib.validate.values`) and loaded with stixpy
(``Product``; plus ``TimeSeries`` for QL light curve, background, variance and HK maxi). The V01
references' ``*_err`` columns matching current ``*_comp_err`` ones are an expected rename, not a
failure. The text output ends with one table line per file. With ``--conservation`` the counts
and triggers of science count products (L0/L1 of rpd, cpd, scpd, vis, spec) must also equal the
sums of their decoded packets, per time bin and energy channel (:mod:`stix_lib.validate.conservation`;
the LB file is found through the file's parents in the archive that holds it).

Exit status: 0 when every file passes, 1 when any file fails, 2 when the reference folder is
unusable.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stix_lib.settings import Settings

NAME = "validate"
HELP = "validate FITS products against reference products (layout, keywords) and stixpy loading"

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``validate``."""
    parser.add_argument("files", nargs="+", type=Path, metavar="FITS", help="product file(s) to validate")
    parser.add_argument(
        "--reference",
        type=Path,
        metavar="DIR",
        help="folder of reference products (default: <reference_data>/reference/l1)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-stixpy", "--no_stixpy", action="store_true", help="skip loading with stixpy")
    parser.add_argument(
        "--conservation",
        action="store_true",
        help="also check science counts/triggers against the sums of their packets (LB in the same archive)",
    )
    parser.add_argument(
        "--layout-only", "--layout_only", action="store_true", help="skip the value-by-value comparison"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Validate ``args.files``; print a per-file report (text or JSON)."""
    from stix_lib.validate import ProductValidator

    reference = args.reference or Path(settings.reference_data) / "reference" / "l1"
    try:
        validator = ProductValidator(reference, use_stixpy=not args.no_stixpy, compare_values=not args.layout_only)
    except FileNotFoundError as exc:
        print(f"stix-pipeline validate: {exc}")
        return EXIT_UNUSABLE
    reports = validator.validate_all(args.files)
    if args.conservation:
        from stix_lib.idb.manager import IDBManager
        from stix_lib.validate.conservation import add_conservation_findings

        idb_manager = IDBManager(Path(settings.idb_dir))
        for report in reports:
            add_conservation_findings(report, idb_manager)
    ok = all(r.ok for r in reports)
    if args.json:
        document = {"reference": str(reference), "ok": ok, "files": [r.as_dict() for r in reports]}
        print(json.dumps(document, indent=2))
    else:
        for report in reports:
            print(report.as_text())
        print(summary_table(reports))
        failed = sum(not r.ok for r in reports)
        print(f"{len(reports) - failed} passed, {failed} failed")
    return EXIT_OK if ok else EXIT_FAILED


def summary_table(reports: list) -> str:
    """One line per file: type, rows of reference and product, rows matched, values compared, result."""
    head = f"{'product':<26} {'ref rows':>8} {'rows':>8} {'matched':>8} {'values':>11} {'differ':>7}  result  file"
    lines = [head, "-" * len(head)]
    for report in reports:
        stats = report.values
        counts = (
            ("-", "-", "-", "-", "-")
            if stats is None or not stats.rows_matched and not stats.values
            else (stats.rows_reference, stats.rows_product, stats.rows_matched, stats.values, stats.mismatches)
        )
        kind = (report.product_type or "?").split(" ")[-1]
        result = "PASS" if report.ok else "FAIL"
        lines.append(
            f"{kind:<26} {counts[0]!s:>8} {counts[1]!s:>8} {counts[2]!s:>8} {counts[3]!s:>11} {counts[4]!s:>7}  "
            f"{result:<6}  {report.path.name}"
        )
    return "\n".join(lines)
