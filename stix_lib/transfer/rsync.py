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


class HostKeyError(TransferError):
    """The SSH server's host key is not the pinned one (or no pinned key matches the host)."""


#: What OpenSSH prints when strict host-key checking refuses a server.
_HOST_KEY_MARKERS = (
    "Host key verification failed",
    "REMOTE HOST IDENTIFICATION HAS CHANGED",
    "No ED25519 host key is known",
    "No RSA host key is known",
    "No ECDSA host key is known",
)


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
            "-o", "ServerAliveInterval=30",
            "-o", "ServerAliveCountMax=4",
        ]  # fmt: skip
        return shlex.join(parts)

    def spec(self, path: str) -> str:
        """``user@host:path`` for rsync."""
        return f"{self.user}@{self.host}:{path}"

    def describe(self) -> str:
        """``user@host:port`` for messages."""
        return f"{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class RemoteFile:
    """A file seen at the source.

    Attributes
    ----------
    name, size
        File name and size in bytes.
    mtime
        Modification date and time as rsync lists it (``YYYY/MM/DD hh:mm:ss`` in the source's
        local time zone): only for comparing two listings of the same source.
    """

    name: str
    size: int
    mtime: str = ""


#: rsync exit code "partial transfer due to vanished source files".
VANISHED = 24


def _run(
    args: list[str],
    timeout: int,
    stdin: str | None = None,
    ssh: SSHEndpoint | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> str:
    try:
        done = subprocess.run(
            args, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise TransferError(f"rsync timed out after {timeout} s: {shlex.join(args)}") from exc
    if done.returncode not in ok_codes:
        message = done.stderr.strip() or done.stdout.strip()
        if ssh is not None and any(marker in message for marker in _HOST_KEY_MARKERS):
            ssh_says = " ".join(
                line.strip()
                for line in message.splitlines()
                if "fingerprint" in line or "Host key" in line or line.startswith("No ")
            )
            raise HostKeyError(
                f"SSH host key of {ssh.describe()} does not match the pinned host key "
                f"(strict host-key checking refused the server; if the server key really changed, "
                f"update the connection's host_key/known_hosts). ssh: {ssh_says or message}"
            )
        raise TransferError(f"rsync exited {done.returncode}: {message} (command: {shlex.join(args)})")
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
    out = _run(_base(ssh, timeout) + ["--list-only", _source(source, ssh)], timeout, ssh=ssh)
    files: list[RemoteFile] = []
    for line in out.splitlines():
        # "-rw-r--r--          1,234 2024/01/01 10:00:00 name"
        parts = line.split(None, 4)
        if len(parts) < 5 or not parts[0].startswith("-"):
            continue
        name = parts[4]
        if "/" in name or name.startswith(".") or not fnmatch.fnmatchcase(name, pattern):
            continue
        size = int(parts[1].replace(",", "").replace(".", ""))
        files.append(RemoteFile(name=name, size=size, mtime=f"{parts[2]} {parts[3]}"))
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
    matched by file globs) and resumes from it next time. A file that vanished at the source since
    it was listed is not an error: it is simply missing from the result.

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
    _run(args, timeout, stdin="\0".join(names), ssh=ssh, ok_codes=(0, VANISHED))
    return [dest / name for name in names if (dest / name).is_file()]


def sync_tree(
    source: str,
    dest: Path,
    *,
    ssh: SSHEndpoint | None = None,
    exclude: Sequence[str] = (".*", "*.tmp", "*.part"),
    timeout: int = 3600,
    io_timeout: int = 300,
) -> list[str]:
    """Copy the tree ``source`` into ``dest`` (``rsync -a``, no deletions; runbook C3).

    Every file is written to a temp name and renamed into place; with ``--delay-updates`` all
    renames happen at the end of the run, so a reader never sees a half-written file and sees
    the new files of one run together. Temp names (``exclude``) at the source are not copied.

    Returns
    -------
    list of str
        rsync's itemized changes of files created or updated (``>f...`` lines).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    args = _base(ssh, io_timeout) + ["-a", "--delay-updates", "--itemize-changes"]
    for pattern in exclude:
        args.append(f"--exclude={pattern}")
    out = _run(args + [_source(source, ssh), str(dest) + "/"], timeout, ssh=ssh)
    return [line for line in out.splitlines() if line.startswith(">f")]


def mirror(
    source: Path,
    target: str,
    *,
    ssh: SSHEndpoint | None = None,
    exclude: Sequence[str] = (".*", "*.tmp", "*.part"),
    copy_links: bool = False,
    timeout: int = 3600,
    io_timeout: int = 300,
) -> list[str]:
    """Mirror the tree ``source`` to ``target`` with deletions (``rsync -a --delete``).

    Temp names (``exclude``) are neither copied nor deleted at the target. Files are written to
    temp names at the target and renamed into place.

    Parameters
    ----------
    copy_links
        Copy the files symlinks point to instead of the links (``-L``, as the runbook's NAS sync).

    Returns
    -------
    list of str
        rsync's itemized changes (one line per created, updated or deleted entry).
    """
    args = _base(ssh, io_timeout) + ["-a", "--delete", "--itemize-changes"]
    if copy_links:
        args.append("--copy-links")
    for pattern in exclude:
        args.append(f"--exclude={pattern}")
    target_spec = ssh.spec(target.rstrip("/") + "/") if ssh else target.rstrip("/") + "/"
    out = _run(args + [str(source).rstrip("/") + "/", target_spec], timeout, ssh=ssh)
    return [line for line in out.splitlines() if line.strip()]
