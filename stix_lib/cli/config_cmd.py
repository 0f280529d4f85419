"""``stix-pipeline config``: show the resolved settings; ``--check-ssh-dir`` checks key permissions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stix_lib.settings import Settings

NAME = "config"
HELP = "show the resolved settings (defaults, settings file, STIX_* environment)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``config``."""
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--check-ssh-dir",
        type=Path,
        metavar="DIR",
        help="instead: check the SSH secrets folder (private keys 0600 and owned by this user, nothing "
        "group/other-writable); exit 1 with one line per problem",
    )
    parser.add_argument(
        "--owner-uid",
        type=int,
        metavar="UID",
        help="with --check-ssh-dir: the user that must own the keys (default: me)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the settings (or check an SSH secrets folder)."""
    if args.check_ssh_dir is not None:
        from stix_lib.transfer.sshkeys import ssh_dir_problems

        problems = ssh_dir_problems(args.check_ssh_dir, uid=args.owner_uid)
        for line in problems:
            print(f"ERROR: {line}")
        if not problems:
            print(f"{args.check_ssh_dir}: SSH key permissions ok")
        return 1 if problems else 0
    data = settings.as_dict()
    if args.json:
        print(json.dumps({"settings": data, "sources": list(settings.sources)}, indent=2))
    else:
        width = max(map(len, data))
        for key, value in data.items():
            print(f"{key:<{width}}  {value}")
        print(f"# sources: {', '.join(settings.sources)}")
    return 0
