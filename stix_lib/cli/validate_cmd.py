"""``stix-pipeline validate``: check products against reference products and stixpy.

Each FITS file is compared with the reference product of the same level and type (HDU names,
column names, dtypes, units, primary keywords) and loaded with stixpy (``Product``; plus
``TimeSeries`` for QL light curve, background, variance and HK maxi). The V01 references'
``*_err`` columns matching current ``*_comp_err`` ones are an expected rename, not a failure.

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


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Validate ``args.files``; print a per-file report (text or JSON)."""
    from stix_lib.validate import ProductValidator

    reference = args.reference or Path(settings.reference_data) / "reference" / "l1"
    try:
        validator = ProductValidator(reference, use_stixpy=not args.no_stixpy)
    except FileNotFoundError as exc:
        print(f"stix-pipeline validate: {exc}")
        return EXIT_UNUSABLE
    reports = validator.validate_all(args.files)
    ok = all(r.ok for r in reports)
    if args.json:
        document = {"reference": str(reference), "ok": ok, "files": [r.as_dict() for r in reports]}
        print(json.dumps(document, indent=2))
    else:
        for report in reports:
            print(report.as_text())
        failed = sum(not r.ok for r in reports)
        print(f"{len(reports) - failed} passed, {failed} failed")
    return EXIT_OK if ok else EXIT_FAILED
