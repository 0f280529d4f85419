"""``stix-pipeline simulate``: write simulated STIX telemetry (SOC/EDDS XML) and its manifest.

Two modes:

* ``--start ISO --duration 1d --out DIR``: simulate a period (scenario, seed and delivery
  options below); writes the XML files and ``DIR/simulate-manifest.json``. Periods longer than
  a day (up to a year and beyond) are generated one UTC day at a time, each day delivered in its
  own ``--files`` file(s), so memory stays that of one day.
* ``--from-reference REF --out DIR``: re-encode real STIXCore L1 products (``REF`` holds
  ``solo_L1_*.fits``) into telemetry under ``DIR/tm/`` and fit a SPICE clock to their OBT/UTC
  pairs under ``DIR/spice/``.

Exit status: 0 on success, 2 for unusable options or inputs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stix_lib.settings import Settings, parse_duration

NAME = "simulate"
HELP = "simulate STIX telemetry (EDDS XML files + manifest), or re-encode reference L1 products"

EXIT_OK, EXIT_USAGE = 0, 2


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be non-negative, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``simulate``."""
    parser.add_argument("--start", help="UTC start, ISO 8601 (e.g. 2021-08-01T00:00:00)")
    parser.add_argument("--duration", default="1d", help="length of the period (30min, 6h, 1d; default 1d)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--scenario", default="all", choices=["quiet", "flare", "bsd", "all"], help="what happens (default all)"
    )
    parser.add_argument("--seed", type=_seed, default=0, help="random seed; same seed, same bytes (default 0)")
    parser.add_argument(
        "--files", type=_positive, default=1, help="number of XML files (per UTC day for periods over a day; default 1)"
    )
    parser.add_argument(
        "--duplicates", type=_fraction, default=0.0, metavar="P", help="fraction re-sent in another file"
    )
    parser.add_argument("--shuffle", action="store_true", help="deliver packets out of order")
    parser.add_argument("--corrupt", type=_fraction, default=0.0, metavar="P", help="fraction of packets damaged")
    parser.add_argument("--idb_dir", "--idb-dir", type=Path, help="IDB root (default: the idb_dir setting)")
    parser.add_argument(
        "--from-reference",
        "--from_reference",
        dest="from_reference",
        type=Path,
        metavar="REF",
        help="re-encode the STIXCore L1 products in REF (writes DIR/tm and DIR/spice)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the simulation and print what was written."""
    idb_dir = Path(args.idb_dir or settings.idb_dir)
    try:
        if args.from_reference is not None:
            from stix_lib.dev.simulate.reference import encode_reference

            result = encode_reference(Path(args.from_reference), Path(args.out), idb_dir)
            print(f"wrote {len(result.tm_files)} TM file(s) under {Path(args.out) / 'tm'}")
            for product, count in sorted(result.packets_by_product.items()):
                print(f"  {product:<28} {count:>6} packet(s)")
            print(f"SPICE kernels under {result.spice_dir}")
            for skipped, reason in sorted(result.skipped.items()):
                print(f"  not encoded: {skipped}: {reason}")
            return EXIT_OK
        if not args.start:
            print("stix-pipeline simulate: --start is required (or --from-reference)", file=sys.stderr)
            return EXIT_USAGE
        from stix_lib.dev.simulate.simulator import SimulationConfig, simulate

        config = SimulationConfig(
            start=args.start,
            duration=parse_duration(args.duration).total_seconds(),
            out_dir=Path(args.out),
            idb_dir=idb_dir,
            scenario=args.scenario,
            seed=args.seed,
            files=args.files,
            shuffle=args.shuffle,
            duplicates=args.duplicates,
            corrupt=args.corrupt,
        )
        sim = simulate(config)
    except (ValueError, FileNotFoundError) as exc:
        print(f"stix-pipeline simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    manifest = sim.manifest
    print(f"wrote {len(sim.files)} file(s), {manifest['total_packets']} packet(s) to {config.out_dir}")
    for label, count in manifest["packets_by_type"].items():
        print(f"  {label:<34} {count:>6}")
    if manifest["duplicates"]:
        print(f"  duplicates: {len(manifest['duplicates'])}")
    if manifest["corrupted"]:
        print(f"  corrupted: {len(manifest['corrupted'])}")
    print(f"manifest: {sim.manifest_path}")
    return EXIT_OK
