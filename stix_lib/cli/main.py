"""Entry point of ``stix-pipeline``: global options plus one module per subcommand.

A subcommand module exposes ``NAME`` (str), ``HELP`` (str), ``add_arguments(parser)`` and
``run(args, settings) -> int``; list it in :data:`SUBCOMMANDS` to register it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from stix_lib import __version__
from stix_lib.settings import SettingsError, load_settings

#: Modules (under ``stix_lib.cli``) that implement subcommands, in help order.
SUBCOMMANDS: tuple[str, ...] = (
    "config_cmd",
    "db_cmd",
    "inspect_cmd",
    "kernels_cmd",
    "process_cmd",
    "publish_cmd",
    "reprocess_cmd",
    "simulate_cmd",
    "status_cmd",
    "validate_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="stix-pipeline",
        description="STIX ground pipeline: decode telemetry, build and publish STIX products.",
    )
    parser.add_argument("--version", action="version", version=f"stix-pipeline {__version__}")
    parser.add_argument("--config", metavar="FILE", help="settings file (TOML); default $STIX_CONFIG")
    parser.add_argument(
        "--log_level",
        "--log-level",
        default="INFO",
        choices=["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"],
        help="logging level (default INFO)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        module = importlib.import_module(f"stix_lib.cli.{module_name}")
        sub_parser = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``stix-pipeline``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    logging.basicConfig(
        level=getattr(args, "log_level", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"stix-pipeline: {exc}", file=sys.stderr)
        return 2
    return int(args._run(args, settings) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
