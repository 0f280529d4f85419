"""System packages ``make demo`` / ``make up`` need, checked (and installed) before anything else runs.

Runs with the system Python alone (standard library only, no virtualenv yet): ``python3 -m
stix_ops.preflight``. Every missing package is installed with ``apt-get`` (as root, or through
``sudo -n`` when that works without a password); when that is impossible or fails, it stops at
once with one line naming the packages and the command to install them.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    """A Debian package and how to tell it is there: a program on ``PATH`` or an importable module."""

    package: str
    program: str = ""
    module: str = ""

    def present(self, path: str | None) -> bool:
        """Whether the program is on ``path`` (default ``$PATH``) / the module importable."""
        if self.program and shutil.which(self.program, path=path) is None:
            return False
        return not self.module or importlib.util.find_spec(self.module) is not None


#: What the demo stack runs: the virtualenv, rsync (TM ingest, SOC sync, NAS mirror), git
#: (STIX-CONF), the SSH client (rsync/SFTP to real SOC, SOAR and NAS hosts).
REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("python3-venv", module="ensurepip"),
    Requirement("rsync", program="rsync"),
    Requirement("openssh-client", program="ssh"),
    Requirement("git", program="git"),
)


def missing_packages(path: str | None = None, requirements: Iterable[Requirement] = REQUIREMENTS) -> list[str]:
    """Packages of ``requirements`` not present (programs looked up on ``path``, default ``$PATH``)."""
    return [r.package for r in requirements if not r.present(path)]


def install_commands(packages: Sequence[str], path: str | None = None, is_root: bool | None = None) -> list[list[str]]:
    """The ``apt-get update`` and ``apt-get install`` commands for ``packages``, with ``sudo -n`` when not root.

    Returns an empty list when they cannot run here (no ``apt-get``, or not root and no ``sudo``).
    """
    root = os.geteuid() == 0 if is_root is None else is_root
    if shutil.which("apt-get", path=path) is None:
        return []
    prefix = [] if root else ["sudo", "-n"]
    if not root and shutil.which("sudo", path=path) is None:
        return []
    quiet = ["-y", "-qq", "--no-install-recommends"]
    return [[*prefix, "apt-get", "update", "-qq"], [*prefix, "apt-get", "install", *quiet, *packages]]


def advice(packages: Sequence[str]) -> str:
    """The one line an operator gets when the packages could not be installed."""
    names = " ".join(packages)
    return f"missing system package(s): {names} — install with: sudo apt-get install -y {names}"


Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def preflight(
    path: str | None = None, install: bool = True, run: Runner = subprocess.run, is_root: bool | None = None
) -> str | None:
    """Check (and if allowed, install) the system packages; return None when all are there, else one line.

    Parameters
    ----------
    path
        ``PATH`` to look programs up on (default ``$PATH``).
    install
        Try to install missing packages with ``apt-get``.
    run
        ``subprocess.run`` (replaceable in tests).
    is_root
        Override the effective-uid check (tests).
    """
    missing = missing_packages(path)
    if not missing:
        return None
    commands = install_commands(missing, path, is_root) if install else []
    if commands:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        print(f"preflight: installing {' '.join(missing)} ...", file=sys.stderr, flush=True)
        for command in commands:
            done = run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
            if done.returncode != 0:
                reason = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
                return f"{advice(missing)} ({' '.join(command[:3])} failed: {reason[0]})"
        missing = missing_packages(path)
    return advice(missing) if missing else None


def main(argv: list[str] | None = None) -> int:
    """Command line: exit 0 when everything is there (after installing), else 1 with one line on stderr."""
    parser = argparse.ArgumentParser(prog="python3 -m stix_ops.preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--no-install", action="store_true", help="only check; never run apt-get")
    args = parser.parse_args(argv)
    problem = preflight(install=not args.no_install and os.environ.get("STIX_PREFLIGHT_INSTALL", "1") != "0")
    if problem:
        print(f"preflight: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
