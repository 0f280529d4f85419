"""Folder watchers for event-driven scheduling (``AssetWatcher`` triggers run by the triggerer).

A watcher lists a folder every ``poke_interval`` seconds and fires one
:class:`~airflow.triggers.base.TriggerEvent` (→ one asset event → one run of the DAGs scheduled on
the asset) when at least one file matching the pattern is new or changed — by its key ``(size,
mtime)``, so a file still being written fires again at a later poll, when the consumer (ingest)
can take it. A quiet folder fires nothing.

The last listing is kept in the watched asset's state store (Airflow 3.3 ``asset_state_store``),
so a restarted triggerer compares with what it saw before and announces files delivered while it
was down; without a stored listing (first start) the first poll announces every file once — the
consumer deduplicates (ingest by its ledger). Listing errors (host unreachable, refused host key,
unmounted share) are logged and retried with a back-off; the watcher never dies of them, and the
consumers' daily safety run reports them by mail.

* :class:`LocalFolderTrigger` — a local (or mounted) folder;
* :class:`SSHFolderTrigger` — a folder on an SSH host (SFTP; key and pinned host key of an Airflow
  SSH connection, strict checking, as the rsync ingest);
* :class:`ExchangeFolderTrigger` — the SOC exchange folders named by the pipeline settings
  (``tm`` → ``tm_source``, ``from_soc`` → ``from_soc_source``), local or over SSH as the settings
  say; resolved in the triggerer at run time, so DAG files never read settings at parse time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from stix_ops.triggers.listing import SftpLister, Snapshot, alist_local, changed_files

log = logging.getLogger(__name__)

#: Key of the last listing in the watched asset's state store.
STATE_KEY = "folder_listing"
#: At most this many names are carried in an event (the count is always complete).
EVENT_NAMES = 50
#: Longest pause between attempts after listing errors (seconds).
MAX_BACKOFF = 300.0

_EXCHANGE_SOURCES = ("tm", "from_soc")
#: Sub-folder levels listed below ``from_soc_source`` (``spice/``, ``soop/...``).
FROM_SOC_DEPTH = 3


class FolderWatchTrigger(BaseEventTrigger):
    """Base of the folder watchers: poll loop, change detection, stored listing (see module doc).

    Subclasses implement :meth:`list_folder` (and :meth:`close` when they hold a connection).

    Parameters
    ----------
    directory
        Folder to watch.
    pattern
        Shell glob on file names (hidden files never count).
    max_depth
        Sub-folder levels listed below ``directory`` (0: the folder only).
    poke_interval
        Seconds between listings.
    """

    def __init__(self, *, directory: str, pattern: str = "*", max_depth: int = 0, poke_interval: float = 10.0) -> None:
        super().__init__()
        self.directory = str(directory)
        self.pattern = pattern
        self.max_depth = int(max_depth)
        self.poke_interval = float(poke_interval)

    def _kwargs(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "pattern": self.pattern,
            "max_depth": self.max_depth,
            "poke_interval": self.poke_interval,
        }

    def describe(self) -> str:
        """Where the watcher looks, for logs and event payloads."""
        return self.directory

    async def list_folder(self) -> Snapshot:
        """One listing of the folder (see :mod:`stix_ops.triggers.listing`)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections (nothing for local folders)."""

    async def cleanup(self) -> None:  # called by the triggerer when the trigger stops
        await self.close()

    # -- stored listing ----------------------------------------------------------------------
    async def load_listing(self) -> Snapshot | None:
        """The listing stored by an earlier run of this watcher, or None (none, or no store)."""
        if self.asset_state_store is None:
            return None
        try:
            value = await self.asset_state_store.aget(STATE_KEY)
        except Exception as exc:  # noqa: BLE001 - a broken store must not stop watching
            log.warning("cannot read the stored listing of %s: %s", self.describe(), exc)
            return None
        return value if isinstance(value, dict) else None

    async def save_listing(self, listing: Snapshot) -> None:
        """Store the listing for a restarted watcher (failures are logged, watching goes on)."""
        if self.asset_state_store is None:
            return
        try:
            await self.asset_state_store.aset(STATE_KEY, listing)
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot store the listing of %s: %s", self.describe(), exc)

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll forever; yield an event whenever a matching file is new or changed."""
        previous = await self.load_listing()
        backoff = self.poke_interval
        log.info(
            "watching %s for %s every %g s (%s)",
            self.describe(),
            self.pattern,
            self.poke_interval,
            f"{len(previous)} files known from the stored listing" if previous is not None else "no stored listing",
        )
        try:
            while True:
                try:
                    current = await self.list_folder()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - logged, retried; the daily safety run mails it
                    log.error("listing %s failed (next try in %.0f s): %s", self.describe(), backoff, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(MAX_BACKOFF, backoff * 2)
                    continue
                backoff = self.poke_interval
                changed = changed_files(previous, current)
                if changed or current != previous:
                    await self.save_listing(current)
                previous = current
                if changed:
                    log.info("%d new or changed file(s) at %s: %s", len(changed), self.describe(), changed[:5])
                    yield TriggerEvent(
                        {
                            "source": self.describe(),
                            "changed": len(changed),
                            "files": changed[:EVENT_NAMES],
                            "listed": len(current),
                        }
                    )
                await asyncio.sleep(self.poke_interval)
        finally:
            await self.close()


class LocalFolderTrigger(FolderWatchTrigger):
    """Watch a local folder (parameters: :class:`FolderWatchTrigger`)."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("stix_ops.triggers.folder.LocalFolderTrigger", self._kwargs())

    async def list_folder(self) -> Snapshot:
        return await alist_local(self.directory, self.pattern, max_depth=self.max_depth)


class SSHFolderTrigger(FolderWatchTrigger):
    """Watch a folder on an SSH host over SFTP (one connection kept open, re-opened after errors).

    Parameters
    ----------
    ssh_conn_id
        Airflow SSH connection: host, port, login, extras ``key_file``/``private_key`` and
        ``host_key``/``known_hosts`` as for :class:`~stix_ops.hooks.ssh.RsyncSSHHook` (strict
        host-key checking, no passwords).
    connect_timeout
        Default SSH connect timeout in seconds (the connection's ``conn_timeout`` wins).
    **kwargs
        See :class:`FolderWatchTrigger`.
    """

    def __init__(self, *, ssh_conn_id: str, connect_timeout: int = 30, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ssh_conn_id = ssh_conn_id
        self.connect_timeout = int(connect_timeout)
        self._lister: SftpLister | None = None
        self._files: contextlib.ExitStack | None = None
        self._where = ""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {**self._kwargs(), "ssh_conn_id": self.ssh_conn_id, "connect_timeout": self.connect_timeout}
        return ("stix_ops.triggers.folder.SSHFolderTrigger", kwargs)

    def describe(self) -> str:
        return f"{self._where or self.ssh_conn_id}:{self.directory}"

    async def _open(self) -> SftpLister:
        from stix_lib.transfer.sshkeys import ssh_endpoint
        from stix_ops.hooks.ssh import RsyncSSHHook

        arguments = await RsyncSSHHook(self.ssh_conn_id, connect_timeout=self.connect_timeout).aendpoint_arguments()
        files = contextlib.ExitStack()
        endpoint = files.enter_context(ssh_endpoint(**arguments))  # key + pinned known_hosts, 0600
        self._files, self._where = files, endpoint.describe()
        return SftpLister(endpoint)

    async def list_folder(self) -> Snapshot:
        if self._lister is None:
            self._lister = await self._open()
        try:
            return await self._lister.list(self.directory, self.pattern, max_depth=self.max_depth)
        except BaseException:
            await self.close()  # next poll reads the connection again (it may have been fixed)
            raise

    async def close(self) -> None:
        if self._lister is not None:
            await self._lister.close()
        if self._files is not None:
            self._files.close()
        self._lister = self._files = None


class ExchangeFolderTrigger(BaseEventTrigger):
    """Watch a SOC exchange folder named by the pipeline settings (resolved in the triggerer).

    Parameters
    ----------
    source
        ``"tm"``: ``tm_source`` / ``tm_pattern`` (local when ``tm_source_local``);
        ``"from_soc"``: every file of the ``from_soc_source`` tree (local when
        ``from_soc_source_local``). Remote folders use the ``soc_ssh_conn_id`` connection.
    poke_interval
        Seconds between listings; None: the ``watch_interval`` setting.
    """

    def __init__(self, *, source: str, poke_interval: float | None = None) -> None:
        super().__init__()
        if source not in _EXCHANGE_SOURCES:
            raise ValueError(f"unknown exchange source {source!r} (expected one of {', '.join(_EXCHANGE_SOURCES)})")
        self.source = source
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "stix_ops.triggers.folder.ExchangeFolderTrigger",
            {"source": self.source, "poke_interval": self.poke_interval},
        )

    def resolve(self, settings: Any = None) -> FolderWatchTrigger:
        """The local or SSH watcher the settings describe for this source."""
        if settings is None:
            from stix_lib.settings import load_settings

            settings = load_settings()
        interval = self.poke_interval or settings.watch_interval.total_seconds()
        if self.source == "tm":
            where = {"directory": settings.tm_source, "pattern": settings.tm_pattern, "max_depth": 0}
            local = settings.tm_source_local
        else:
            where = {"directory": settings.from_soc_source, "pattern": "*", "max_depth": FROM_SOC_DEPTH}
            local = settings.from_soc_source_local
        if local:
            watcher: FolderWatchTrigger = LocalFolderTrigger(poke_interval=interval, **where)
        else:
            watcher = SSHFolderTrigger(
                ssh_conn_id=settings.soc_ssh_conn_id,
                connect_timeout=int(settings.ssh_connect_timeout.total_seconds()),
                poke_interval=interval,
                **where,
            )
        watcher.asset_state_store = self.asset_state_store
        return watcher

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Run the resolved watcher (settings are read once, when the triggerer starts the watcher)."""
        watcher = await asyncio.to_thread(self.resolve)
        async for event in watcher.run():
            yield event
