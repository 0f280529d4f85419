"""Folder listings for the folder watchers: one snapshot ``{relative path: (size, mtime)}`` per poll.

A snapshot keys every regular, non-hidden file whose name matches a shell glob by its path relative
to the watched folder; the value ``(size, mtime)`` changes while a file is still being written, so a
growing file shows up as changed again at a later poll. :func:`changed_files` compares two
snapshots. Listings are local (``os.scandir`` in a worker thread) or remote over SFTP
(:class:`SftpLister`, asyncssh, pinned host key from an Airflow SSH connection).
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: ``{relative path: [size in bytes, mtime in epoch seconds]}`` (lists, so a snapshot is JSON as-is).
Snapshot = dict[str, list[float]]


def changed_files(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """Names in ``current`` that are new or whose ``(size, mtime)`` differs from ``previous``.

    Removed files are not changes (nothing to fetch). With ``previous`` unknown (``None``: first
    poll with no stored state) every listed file counts as changed, so files delivered while nobody
    watched are announced once.
    """
    if previous is None:
        return sorted(current)
    return sorted(name for name, key in current.items() if list(previous.get(name) or ()) != list(key))


def _wanted(name: str, pattern: str) -> bool:
    return not name.startswith(".") and fnmatch.fnmatchcase(name, pattern)


def list_local(directory: str | os.PathLike[str], pattern: str, *, max_depth: int = 0) -> Snapshot:
    """Snapshot of a local folder (``max_depth`` levels of sub-folders below it; 0 = only the folder).

    A missing folder is an empty snapshot (the share may not be mounted yet); other errors propagate.
    Hidden files and folders (``.name``, e.g. rsync temp folders) are skipped; symlinks are not followed.
    """
    root = Path(directory)
    found: Snapshot = {}

    def walk(folder: Path, prefix: str, depth: int) -> None:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth < max_depth:
                    walk(Path(entry.path), f"{prefix}{entry.name}/", depth + 1)
            elif entry.is_file(follow_symlinks=False) and _wanted(entry.name, pattern):
                info = entry.stat(follow_symlinks=False)
                found[prefix + entry.name] = [info.st_size, info.st_mtime]

    walk(root, "", 0)
    return found


async def alist_local(directory: str | os.PathLike[str], pattern: str, *, max_depth: int = 0) -> Snapshot:
    """:func:`list_local` in a worker thread (a slow NFS listing never blocks the triggerer loop)."""
    return await asyncio.to_thread(list_local, directory, pattern, max_depth=max_depth)


class SftpLister:
    """Lists a remote folder over SFTP with one SSH connection kept open between polls.

    Parameters
    ----------
    endpoint
        :class:`~stix_lib.transfer.rsync.SSHEndpoint` (host, port, user, key file, pinned
        ``known_hosts`` file). Strict host-key checking: a server whose key is not the pinned one
        is refused (``asyncssh.HostKeyNotVerifiable``).
    """

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint
        self._conn: Any = None
        self._sftp: Any = None

    async def _connect(self) -> None:
        import asyncssh

        e = self.endpoint
        self._conn = await asyncio.wait_for(
            asyncssh.connect(
                e.host,
                port=e.port,
                username=e.user,
                client_keys=[str(e.key_file)],
                known_hosts=str(e.known_hosts_file),
                agent_path=None,
                password=None,
                kbdint_auth=False,
                keepalive_interval=30,
                keepalive_count_max=4,
            ),
            timeout=e.connect_timeout,
        )
        self._sftp = await self._conn.start_sftp_client()

    async def close(self) -> None:
        """Close the SFTP session and the SSH connection (idempotent)."""
        if self._sftp is not None:
            self._sftp.exit()
        if self._conn is not None:
            self._conn.close()
            try:
                await self._conn.wait_closed()
            except Exception:  # noqa: BLE001 - closing a broken connection must not raise
                pass
        self._conn = self._sftp = None

    async def list(self, directory: str, pattern: str, *, max_depth: int = 0) -> Snapshot:
        """Snapshot of ``directory`` on the server; reconnects after a broken connection.

        A missing folder is an empty snapshot. Errors (refused host key, lost connection) propagate
        after the connection was closed, so the next call starts afresh.
        """
        import asyncssh

        if self._sftp is None:
            try:
                await self._connect()
            except asyncssh.HostKeyNotVerifiable as exc:
                from stix_lib.transfer.rsync import HostKeyError

                raise HostKeyError(
                    f"SSH host key of {self.endpoint.describe()} does not match the pinned host key "
                    f"(strict host-key checking refused the server; if the server key really changed, update the "
                    f"connection's host_key/known_hosts). asyncssh: {exc}"
                ) from exc
        found: Snapshot = {}

        async def walk(folder: str, prefix: str, depth: int) -> None:
            try:
                entries = await self._sftp.readdir(folder)
            except asyncssh.SFTPNoSuchFile:
                return
            for entry in entries:
                name = entry.filename
                if name.startswith("."):
                    continue
                kind = stat.S_IFMT(entry.attrs.permissions or 0)
                if kind == stat.S_IFDIR:
                    if depth < max_depth:
                        await walk(f"{folder.rstrip('/')}/{name}", f"{prefix}{name}/", depth + 1)
                elif kind == stat.S_IFREG and _wanted(name, pattern):
                    found[prefix + name] = [int(entry.attrs.size or 0), float(entry.attrs.mtime or 0)]

        try:
            await walk(directory, "", 0)
        except BaseException:
            await self.close()
            raise
        return found
