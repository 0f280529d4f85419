"""Turn SSH account details (as an Airflow SSH connection holds them) into an :class:`SSHEndpoint`.

OpenSSH needs files: the private key and a ``known_hosts`` file with the pinned host key.
:func:`ssh_endpoint` writes both into a private temporary folder (mode 0700, files 0600), yields
the endpoint and removes the folder afterwards, whatever happens. Nothing is written when a key
file path is given and no host-key line has to be added.

Accepted inputs, named after the extras of Airflow's SSH provider:

* private key: ``key_file`` (a path) or ``private_key`` (the key text); passphrase-protected keys
  are refused (rsync runs ssh in batch mode, nothing could type the passphrase);
* pinned host key: ``host_key`` (``"<type> <base64>"``, or bare base64 which the SSH provider
  reads as ``ssh-rsa``) and/or ``known_hosts`` (path of an existing known_hosts file). At least one
  is required: strict host-key checking is not optional.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stix_lib.transfer.rsync import SSHEndpoint

#: Host-key algorithms OpenSSH accepts in known_hosts.
KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
)


class SSHConfigError(ValueError):
    """SSH account details that cannot be used; the message names the source and the reason."""


def parse_host_key(text: str, *, source: str = "host_key") -> tuple[str, str]:
    """Split a pinned host key into ``(type, base64 key)``.

    Parameters
    ----------
    text
        ``"ssh-ed25519 AAAA..."`` (an optional trailing comment is dropped) or a bare base64 RSA key.
    source
        Named in error messages (e.g. ``"connection stix_soc extra host_key"``).

    Raises
    ------
    SSHConfigError
        Unknown key type or invalid base64.
    """
    parts = text.strip().split()
    if not parts:
        raise SSHConfigError(f"{source}: empty host key")
    if len(parts) == 1:
        key_type, blob = "ssh-rsa", parts[0]
    else:
        key_type, blob = parts[0], parts[1]
    if key_type not in KEY_TYPES:
        raise SSHConfigError(f"{source}: unknown host key type {key_type!r} (expected one of {', '.join(KEY_TYPES)})")
    try:
        decoded = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SSHConfigError(f"{source}: host key is not valid base64 ({exc})") from exc
    # the key blob starts with its own type name (uint32 length + name)
    if len(decoded) < 4 or decoded[4 : 4 + int.from_bytes(decoded[:4], "big")].decode("ascii", "replace") != key_type:
        raise SSHConfigError(f"{source}: host key blob is not a {key_type} key")
    return key_type, blob


def known_hosts_line(host: str, port: int, key_type: str, blob: str) -> str:
    """A ``known_hosts`` line for ``host:port`` (OpenSSH writes ``[host]:port`` for ports ≠ 22)."""
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {key_type} {blob}\n"


def _private_file(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content if content.endswith("\n") else content + "\n")
    return path


def check_private_key_file(path: Path, *, source: str = "SSH settings") -> None:
    """Refuse a private key that is missing, not a regular file, or readable by others.

    OpenSSH ignores such a key ("UNPROTECTED PRIVATE KEY FILE"); paramiko (SFTP) would use it. Both
    transports get the same rule, checked before any connection is made.

    Raises
    ------
    SSHConfigError
        ``path`` does not exist, is not a regular file, or has group/other permission bits set.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise SSHConfigError(f"{source}: key_file {path} does not exist or cannot be read: {exc}") from exc
    if not stat.S_ISREG(mode):
        raise SSHConfigError(f"{source}: key_file {path} is not a regular file")
    if mode & 0o077:
        raise SSHConfigError(
            f"{source}: key_file {path} is accessible by group/others (mode {stat.S_IMODE(mode):04o}); "
            f"run 'chmod 600 {path}'"
        )


def ssh_dir_problems(folder: Path, *, uid: int | None = None) -> list[str]:
    """Permission problems of a mounted SSH secrets folder (keys + known_hosts), one line each.

    Private keys (files whose text starts with ``-----BEGIN`` and names a ``PRIVATE KEY``) must be
    owned by ``uid`` (default: the current user) with no group/other permission bits; no file may
    be writable by group/others (a writable ``known_hosts`` would let anyone change the pinned host
    keys). An empty result means the folder is fine.
    """
    uid = os.geteuid() if uid is None else uid
    if not folder.is_dir():
        return [f"{folder}: not a directory"]
    problems = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        info = path.stat()
        mode = stat.S_IMODE(info.st_mode)
        try:
            head = path.read_bytes()[:100]
        except OSError as exc:
            problems.append(f"{path}: cannot be read ({exc})")
            continue
        if head.startswith(b"-----BEGIN") and b"PRIVATE KEY" in head:
            if mode & 0o077:
                problems.append(f"{path}: private key accessible by group/others (mode {mode:04o}); chmod 600 it")
            if info.st_uid != uid:
                problems.append(f"{path}: private key owned by uid {info.st_uid}, not by the pipeline user {uid}")
        elif mode & 0o022:
            problems.append(f"{path}: writable by group/others (mode {mode:04o}); chmod go-w it")
    return problems


@contextmanager
def ssh_endpoint(
    *,
    host: str,
    login: str,
    port: int | None = None,
    key_file: str | os.PathLike[str] | None = None,
    private_key: str | None = None,
    passphrase: str | None = None,
    host_key: str | None = None,
    known_hosts: str | os.PathLike[str] | None = None,
    connect_timeout: int = 30,
    source: str = "SSH settings",
) -> Iterator[SSHEndpoint]:
    """Yield an :class:`SSHEndpoint` backed by private temporary key and known_hosts files.

    Parameters
    ----------
    host, login, port
        The account (port default 22).
    key_file, private_key
        Exactly one: a private-key path or the key text.
    passphrase
        Must be empty: encrypted keys cannot be used non-interactively.
    host_key, known_hosts
        The pinned host key and/or a known_hosts file; at least one.
    connect_timeout
        SSH ``ConnectTimeout`` in seconds.
    source
        What the details came from, for error messages (e.g. ``"connection stix_soc"``).

    Raises
    ------
    SSHConfigError
        Missing host, login, key or host key; both or neither key forms; a passphrase; unreadable
        files.
    """
    if not host:
        raise SSHConfigError(f"{source}: no host")
    if not login:
        raise SSHConfigError(f"{source}: no login (user name)")
    if passphrase:
        raise SSHConfigError(
            f"{source}: passphrase-protected private keys are not supported (rsync runs ssh in batch mode)"
        )
    if bool(key_file) == bool(private_key):
        raise SSHConfigError(f"{source}: give exactly one of extra 'key_file' (path) or 'private_key' (key text)")
    if not host_key and not known_hosts:
        raise SSHConfigError(
            f"{source}: no pinned host key: set extra 'host_key' (\"ssh-ed25519 AAAA...\") or 'known_hosts' (file "
            "path); strict host-key checking is mandatory"
        )
    port = int(port or 22)
    if key_file:
        check_private_key_file(Path(key_file), source=source)
    pinned_line = ""
    if host_key:
        pinned_line = known_hosts_line(host, port, *parse_host_key(host_key, source=f"{source} host_key"))
    known_text = ""
    if known_hosts:
        try:
            known_text = Path(known_hosts).read_text(encoding="utf-8")
        except OSError as exc:
            raise SSHConfigError(f"{source}: cannot read known_hosts file {known_hosts}: {exc}") from exc
        if not known_text.strip():
            raise SSHConfigError(f"{source}: known_hosts file {known_hosts} is empty")
    folder = Path(tempfile.mkdtemp(prefix="stix-ssh-"))
    try:
        folder.chmod(0o700)
        key_path = Path(key_file) if key_file else _private_file(folder, "id_key", str(private_key))
        if known_text and not pinned_line:
            known_path = Path(known_hosts)  # type: ignore[arg-type]
        else:
            joined = known_text + ("" if not known_text or known_text.endswith("\n") else "\n") + pinned_line
            known_path = _private_file(folder, "known_hosts", joined)
        yield SSHEndpoint(
            host=host,
            port=port,
            user=login,
            key_file=key_path,
            known_hosts_file=known_path,
            connect_timeout=int(connect_timeout),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
