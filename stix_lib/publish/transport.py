"""Delivering files to the SOAR target: locally or over SFTP, always atomically at the target.

A :class:`Transport` writes a file under a hidden temporary name in the target folder
(``.<name>.part``) and renames it to ``<name>`` only when all bytes are there, so whatever picks
files up at the target never sees a partial file. A ``.part`` file left by an interrupted run is
stale — runs are serialised by :mod:`stix_lib.publish.runlock` — and :meth:`Transport.remove_stale_parts`
deletes them at the start of a run. Re-delivering a name replaces the file atomically.

* :class:`LocalTransport` — a folder on this host: copy, ``fsync``, ``os.replace``, ``fsync`` of the
  folder.
* :class:`SftpTransport` — a folder on an SSH host (paramiko): the host key must match the pinned
  key in the endpoint's ``known_hosts`` file (unknown or changed keys are rejected, never added),
  key authentication only; upload with size confirmation, then the OpenSSH ``posix-rename``
  extension (atomic replace). The remote folder must exist.
"""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
import stat
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Any

from stix_lib.publish.fitsedit import fsync_dir
from stix_lib.transfer.rsync import SSHEndpoint

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"


class TransportError(RuntimeError):
    """A delivery failed; the message names the target."""


class HostKeyRejected(TransportError):
    """The SSH server's host key is unknown or differs from the pinned key."""


def part_name(name: str) -> str:
    """Temporary name of ``name`` during upload."""
    return f".{name}{PART_SUFFIX}"


def is_part_name(name: str) -> bool:
    """Whether ``name`` is a temporary upload name."""
    return name.startswith(".") and name.endswith(PART_SUFFIX)


def _check_name(name: str) -> None:
    if not name or "/" in name or name in {".", ".."} or name.startswith("."):
        raise ValueError(f"not a deliverable file name: {name!r}")


class Transport(ABC):
    """Where delivered files go. Use as a context manager (``open`` … ``close``)."""

    def open(self) -> Transport:
        """Connect (no-op for local targets)."""
        return self

    def close(self) -> None:  # noqa: B027 - optional hook
        """Disconnect."""

    def __enter__(self) -> Transport:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abstractmethod
    def describe(self) -> str:
        """Human-readable target (for logs and reports)."""

    @abstractmethod
    def deliver(self, source: Path, name: str) -> str:
        """Copy ``source`` to ``<target>/<name>`` atomically; return the target path.

        Raises
        ------
        TransportError
            If the file could not be delivered (no partial file is left under ``name``).
        """

    @abstractmethod
    def remove_stale_parts(self) -> list[str]:
        """Delete leftover ``.<name>.part`` files in the target folder; return their names."""

    @abstractmethod
    def list_names(self) -> list[str]:
        """Names of the delivered (non-hidden) files in the target folder."""


class LocalTransport(Transport):
    """Deliver into a local folder (created when missing).

    Parameters
    ----------
    target_dir
        The delivery folder.
    """

    def __init__(self, target_dir: Path) -> None:
        self.target_dir = Path(target_dir)

    def describe(self) -> str:
        """The folder."""
        return str(self.target_dir)

    def open(self) -> LocalTransport:
        """Create the folder if needed."""
        self.target_dir.mkdir(parents=True, exist_ok=True)
        return self

    def deliver(self, source: Path, name: str) -> str:
        """Copy, flush and rename into place."""
        _check_name(name)
        self.target_dir.mkdir(parents=True, exist_ok=True)
        target = self.target_dir / name
        temp = self.target_dir / part_name(name)
        try:
            with Path(source).open("rb") as src, temp.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(temp, target)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise TransportError(f"copy of {source} to {target} failed: {exc}") from exc
        fsync_dir(self.target_dir)
        return str(target)

    def remove_stale_parts(self) -> list[str]:
        """Delete ``.*.part`` files."""
        if not self.target_dir.is_dir():
            return []
        removed = []
        for entry in sorted(self.target_dir.iterdir()):
            if is_part_name(entry.name) and entry.is_file():
                entry.unlink(missing_ok=True)
                removed.append(entry.name)
        return removed

    def list_names(self) -> list[str]:
        """Visible files."""
        if not self.target_dir.is_dir():
            return []
        return sorted(p.name for p in self.target_dir.iterdir() if p.is_file() and not p.name.startswith("."))


class SftpTransport(Transport):
    """Deliver into a folder on an SSH host over SFTP (paramiko), host key pinned.

    Parameters
    ----------
    endpoint
        Host, port, user, private key and the ``known_hosts`` file holding the pinned host key.
    target_dir
        Remote folder (must exist).
    io_timeout
        Seconds a single network operation may block.
    """

    def __init__(self, endpoint: SSHEndpoint, target_dir: str, *, io_timeout: float = 300.0) -> None:
        self.endpoint = endpoint
        self.target_dir = str(target_dir)
        self.io_timeout = io_timeout
        self._client: Any = None
        self._sftp: Any = None

    def describe(self) -> str:
        """``user@host:port:/dir``."""
        return f"{self.endpoint.describe()}:{self.target_dir}"

    def open(self) -> SftpTransport:
        """Connect with strict host-key checking and open the SFTP session.

        Raises
        ------
        HostKeyRejected
            Unknown or changed host key.
        TransportError
            Connection, authentication or a missing remote folder.
        """
        import paramiko

        if self._sftp is not None:
            return self
        known_hosts = Path(self.endpoint.known_hosts_file)
        if not known_hosts.is_file():
            raise HostKeyRejected(f"no known_hosts file {known_hosts} with the pinned key of {self.describe()}")
        client = paramiko.SSHClient()
        client.load_host_keys(str(known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                hostname=self.endpoint.host,
                port=self.endpoint.port,
                username=self.endpoint.user,
                key_filename=str(self.endpoint.key_file),
                timeout=self.endpoint.connect_timeout,
                banner_timeout=self.endpoint.connect_timeout,
                auth_timeout=self.endpoint.connect_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self.io_timeout)
            attributes = sftp.stat(self.target_dir)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyRejected(
                f"SSH host key of {self.endpoint.describe()} differs from the pinned key in {known_hosts}: {exc}"
            ) from exc
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise HostKeyRejected(f"{self.endpoint.describe()} has no pinned host key in {known_hosts}") from exc
            raise TransportError(f"SSH to {self.describe()} failed: {exc}") from exc
        except OSError as exc:
            client.close()
            raise TransportError(f"SFTP to {self.describe()} failed: {exc}") from exc
        if not stat.S_ISDIR(attributes.st_mode or 0):
            client.close()
            raise TransportError(f"{self.describe()} is not a folder")
        self._client, self._sftp = client, sftp
        return self

    def close(self) -> None:
        """Close the SFTP session and the connection."""
        if self._sftp is not None:
            self._sftp.close()
        if self._client is not None:
            self._client.close()
        self._client = self._sftp = None

    def _session(self) -> Any:
        if self._sftp is None:
            self.open()
        return self._sftp

    def _remote(self, name: str) -> str:
        return posixpath.join(self.target_dir, name)

    def deliver(self, source: Path, name: str) -> str:
        """Upload to ``.<name>.part`` (size confirmed), then ``posix-rename`` over ``<name>``."""
        _check_name(name)
        sftp = self._session()
        target, temp = self._remote(name), self._remote(part_name(name))
        try:
            sftp.put(str(source), temp, confirm=True)
            sftp.posix_rename(temp, target)
        except (OSError, EOFError) as exc:
            try:
                sftp.remove(temp)
            except (OSError, EOFError):
                pass
            raise TransportError(f"upload of {source} to {self.endpoint.describe()}:{target} failed: {exc}") from exc
        return target

    def remove_stale_parts(self) -> list[str]:
        """Delete ``.*.part`` files in the remote folder."""
        sftp = self._session()
        removed = []
        for entry in sorted(sftp.listdir_attr(self.target_dir), key=lambda e: e.filename):
            if is_part_name(entry.filename) and stat.S_ISREG(entry.st_mode or 0):
                sftp.remove(self._remote(entry.filename))
                removed.append(entry.filename)
        return removed

    def list_names(self) -> list[str]:
        """Visible regular files in the remote folder."""
        sftp = self._session()
        return sorted(
            e.filename
            for e in sftp.listdir_attr(self.target_dir)
            if stat.S_ISREG(e.st_mode or 0) and not e.filename.startswith(".")
        )
