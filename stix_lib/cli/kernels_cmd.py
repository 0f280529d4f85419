"""``stix-pipeline kernels``: build synthetic Solar Orbiter SPICE kernel sets.

``stix-pipeline kernels build --out DIR --start ISO --end ISO [--flown-until ISO] [--zip]``
writes a kernel tree (``ck, fk, lsk, mk, pck, sclk, spk``) into ``DIR`` — see
:mod:`stix_lib.dev.synthetic_kernels` — and, with ``--zip``, one SOC-style zip per meta kernel into
``DIR/zip`` (or ``--zip-dir``); ``unzip -o <zip> -d <spice_dir>`` recreates the tree. ``--out``
is required on purpose: the configured ``spice_dir`` may hold real SOC kernels.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stix_lib.settings import Settings

NAME = "kernels"
HELP = "build synthetic Solar Orbiter SPICE kernel sets (LSK, PCK, FK, SCLK, SPK, CK, meta kernels)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``kernels`` actions and their options."""
    actions = parser.add_subparsers(dest="kernels_action", metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="write a kernel set covering [--start, --end]",
        description="Write a synthetic kernel set: predicted kernels cover [start, end], "
        "flown ones [start, flown-until].",
    )
    build.add_argument("--out", required=True, type=Path, metavar="DIR", help="kernel root to write")
    build.add_argument("--start", required=True, metavar="ISO", help="first UTC instant covered")
    build.add_argument("--end", required=True, metavar="ISO", help="last UTC instant covered")
    build.add_argument("--flown-until", metavar="ISO", help="end of the flown kernels (default: --end)")
    build.add_argument("--zip", action="store_true", help="also write SOC-style zips, one per meta kernel")
    build.add_argument("--zip-dir", type=Path, metavar="DIR", help="folder for the zips (default: DIR/zip)")
    build.add_argument("--kernel-version", type=int, default=1, metavar="N", help="version in file names (1..99)")
    build.add_argument("--roll", type=float, default=0.0, metavar="DEG", help="spacecraft roll about the Sun line")
    build.add_argument("--clock-drift-ppm", type=float, default=0.0, metavar="PPM", help="spacecraft clock drift")
    build.add_argument("--json", action="store_true", help="print the manifest as JSON")


def _build(args: argparse.Namespace) -> int:
    from stix_lib.dev.synthetic_kernels import KernelSetOptions, build_kernel_set

    options = KernelSetOptions(roll_deg=args.roll, clock_drift_ppm=args.clock_drift_ppm)
    try:
        manifest = build_kernel_set(
            args.out,
            args.start,
            args.end,
            args.flown_until,
            version=args.kernel_version,
            options=options,
            make_zips=args.zip,
            zip_dir=args.zip_dir,
        )
    except ValueError as exc:
        print(f"stix-pipeline kernels build: {exc}", file=sys.stderr)
        return 2
    description = manifest.to_dict() | {"root": str(manifest.root), "zip_paths": [str(z) for z in manifest.zips]}
    if args.json:
        print(json.dumps(description, indent=2, sort_keys=True))
    else:
        print(f"kernel set written to {manifest.root}")
        print(f"  predicted {manifest.names.predicted_mk}: {description['start']} .. {description['end']}")
        print(f"  flown     {manifest.names.flown_mk}: {description['start']} .. {description['flown_until']}")
        for path in manifest.zips:
            print(f"  zip       {path}")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen ``kernels`` action."""
    if getattr(args, "kernels_action", None) == "build":
        return _build(args)
    print("usage: stix-pipeline kernels build --out DIR --start ISO --end ISO [--flown-until ISO] [--zip]")
    return 2
