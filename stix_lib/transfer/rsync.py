"""rsync wrapper: list a source, pull named files, mirror a tree.

Files land through rsync's temp directory and are renamed into place, so a reader of the
destination never sees a half-transferred file. Remote sources go over SSH with strict host-key
checking against a pinned ``known_hosts`` file and key-only authentication.
"""

from __future__ import annotations

import fnmatch
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TEMP_DIR_NAME = ".rsync-tmp"
PARTIAL_DIR_NAME = ".rsync-partial"


class TransferError(RuntimeError):
    """rsync failed; the message carries the command's stderr."""


@dataclass(frozen=True)
class SSHEndpoint:
    """An SSH account to reach a remote rsync source or target.

    Attributes
    ----------
    host, port, user
        Where to connect.
    key_file
        Private key (password authentication is disabled).
    known_hosts_file
        Pinned host key(s); strict host-key checking is always on.
    connect_timeout
        Seconds before giving up on the TCP/SSH handshake.
    """

    host: str
    user: str
    key_file: Path
    known_hosts_file: Path
    port: int = 22
    connect_timeout: int = 30

    def ssh_command(self) -> str:
        """The ``-e`` argument for rsync."""
        parts = [
            "ssh",
            "-p", str(self.port),
            "-i", str(self.key_file),
            "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "PasswordAuthentication=no",
            "-o", "KbdInteractiveAuthentication=no",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts_file}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"ConnectTimeout={self.connect_timeout}",
        ]  # fmt: skip
        return shlex.join(parts)

    def spec(self, path: str) -> str:
        """``user@host:path`` for rsync."""
        return f"{self.user}@{self.host}:{path}"


@dataclass(frozen=True)
class RemoteFile:
    """A file seen at the source."""

    name: str
    size: int


def _run(args: list[str], timeout: int, stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            args, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise TransferError(f"rsync timed out after {timeout} s: {shlex.join(args)}") from exc
    if done.returncode != 0:
        raise TransferError(
            f"rsync exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()} "
            f"(command: {shlex.join(args)})"
        )
    return done.stdout


def _base(ssh: SSHEndpoint | None, io_timeout: int) -> list[str]:
    args = ["rsync", f"--timeout={io_timeout}"]
    if ssh is not None:
        args += ["-e", ssh.ssh_command()]
    return args


def _source(source: str, ssh: SSHEndpoint | None) -> str:
    src = source.rstrip("/") + "/"
    return ssh.spec(src) if ssh else src


def list_source(
    source: str, pattern: str, *, ssh: SSHEndpoint | None = None, timeout: int = 300
) -> list[RemoteFile]:
    """List regular files directly in ``source`` whose names match ``pattern``.

    Parameters
    ----------
    source
        Directory (local path, or remote path on ``ssh``).
    pattern
        Shell glob on the file name, e.g. ``*PktTmRaw*.xml``.
    ssh
        Remote endpoint; None for a local directory.
    timeout
        Seconds for the whole listing.
    """
    out = _run(_base(ssh, timeout) + ["--list-only", _source(source, ssh)], timeout)
    files: list[RemoteFile] = []
    for line in out.splitlines():
        # "-rw-r--r--          1,234 2024/01/01 10:00:00 name"
        parts = line.split(None, 4)
        if len(parts) < 5 or not parts[0].startswith("-"):
            continue
        name = parts[4]
        if "/" in name or name.startswith(".") or not fnmatch.fnmatchcase(name, pattern):
            continue
        files.append(RemoteFile(name=name, size=int(parts[1].replace(",", "").replace(".", ""))))
    return sorted(files, key=lambda f: f.name)


def pull(
    source: str,
    names: Sequence[str],
    dest: Path,
    *,
    ssh: SSHEndpoint | None = None,
    timeout: int = 3600,
    io_timeout: int = 300,
) -> list[Path]:
    """Copy the named files from ``source`` into ``dest`` atomically.

    Data is written under ``<dest>/../.rsync-tmp`` and renamed into ``dest`` only when complete;
    an interrupted transfer leaves its partial data in ``<dest>/.rsync-partial`` (hidden, never
    matched by file globs) and resumes from it next time.

    Returns
    -------
    list of Path
        The files now present in ``dest`` for ``names``.
    """
    if not names:
        return []
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    temp_dir = dest.parent / f"{TEMP_DIR_NAME}-{dest.name}"
    temp_dir.mkdir(parents=True, exist_ok=True)
    args = _base(ssh, io_timeout) + [
        "--times",
        "--files-from=-",
        "--from0",
        f"--temp-dir={temp_dir}",
        f"--partial-dir={PARTIAL_DIR_NAME}",
        "--no-inc-recursive",
        _source(source, ssh),
        str(dest) + "/",
    ]
    _run(args, timeout, stdin="\0".join(names))
    return [dest / name for name in names if (dest / name).is_file()]


def mirror(
    source: Path,
    target: str,
    *,
    ssh: SSHEndpoint | None = None,
    exclude: Sequence[str] = (".*", "*.tmp", "*.part"),
    timeout: int = 3600,
    io_timeout: int = 300,
) -> list[str]:
    """Mirror the tree ``source`` to ``target`` with deletions (``rsync -a --delete``).

    Temp names (``exclude``) are neither copied nor deleted at the target.

    Returns
    -------
    list of str
        rsync's itemized changes (one line per created, updated or deleted entry).
    """
    args = _base(ssh, io_timeout) + ["-a", "--delete", "--itemize-changes"]
    for pattern in exclude:
        args.append(f"--exclude={pattern}")
    target_spec = ssh.spec(target.rstrip("/") + "/") if ssh else target.rstrip("/") + "/"
    out = _run(args + [str(source).rstrip("/") + "/", target_spec], timeout)
    return [line for line in out.splitlines() if line.strip()]
