"""``stix-pipeline config``: show the resolved settings."""

from __future__ import annotations

import argparse
import json

from stix_lib.settings import Settings

NAME = "config"
HELP = "show the resolved settings (defaults, settings file, STIX_* environment)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``config``."""
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the settings."""
    data = settings.as_dict()
    if args.json:
        print(json.dumps({"settings": data, "sources": list(settings.sources)}, indent=2))
    else:
        width = max(map(len, data))
        for key, value in data.items():
            print(f"{key:<{width}}  {value}")
        print(f"# sources: {', '.join(settings.sources)}")
    return 0
