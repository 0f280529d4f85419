"""SSH endpoints for rsync from Airflow SSH connections (``stix_soc``, ``stix_nas``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.sdk import BaseHook

from stix_lib.transfer.rsync import SSHEndpoint
from stix_lib.transfer.sshkeys import SSHConfigError, ssh_endpoint

_TRUE = {"1", "true", "yes", "on"}


class RsyncSSHHook(BaseHook):
    """Reads an SSH connection and yields an :class:`~stix_lib.transfer.rsync.SSHEndpoint` for rsync.

    The connection (type ``ssh``) gives ``host``, ``port``, ``login`` and in its extras the key and
    the pinned host key, spelled as for Airflow's SSH provider:

    * ``key_file`` (path) or ``private_key`` (key text; written to a 0600 temp file that is removed
      when the ``with`` block ends);
    * ``host_key`` (``"ssh-ed25519 AAAA..."``) and/or ``known_hosts`` (path of a known_hosts file);
      one is required, strict host-key checking is always on (``no_host_key_check: true`` is
      refused);
    * ``conn_timeout`` (seconds, SSH ``ConnectTimeout``; default the hook's ``connect_timeout``).

    Passwords are never used (key authentication only).

    Parameters
    ----------
    ssh_conn_id
        Connection id.
    connect_timeout
        Default SSH connect timeout in seconds.
    host
        Host to use when the connection has none (e.g. the ``nas_host`` setting); when both are
        set they must agree.

    Examples
    --------
    >>> with RsyncSSHHook("stix_soc").endpoint() as ssh:  # doctest: +SKIP
    ...     rsync.list_source("/home/solmoc/from_edds/tm", "*PktTmRaw*.xml", ssh=ssh)
    """

    conn_name_attr = "ssh_conn_id"
    default_conn_name = "stix_soc"
    conn_type = "ssh"
    hook_name = "STIX rsync over SSH"

    def __init__(self, ssh_conn_id: str = default_conn_name, connect_timeout: int = 30, host: str = "") -> None:
        super().__init__()
        self.ssh_conn_id = ssh_conn_id
        self.connect_timeout = connect_timeout
        self.host = host

    def endpoint_arguments(self) -> dict[str, Any]:
        """Keyword arguments for :func:`stix_lib.transfer.sshkeys.ssh_endpoint` from the connection.

        Raises
        ------
        stix_lib.transfer.sshkeys.SSHConfigError
            Host-key checking disabled, or conflicting hosts.
        """
        return self.arguments_from_connection(self.get_connection(self.ssh_conn_id))

    async def aendpoint_arguments(self) -> dict[str, Any]:
        """:meth:`endpoint_arguments`, reading the connection asynchronously (for triggers)."""
        return self.arguments_from_connection(await self.aget_connection(self.ssh_conn_id))

    def arguments_from_connection(self, conn: Any) -> dict[str, Any]:
        """Keyword arguments for :func:`~stix_lib.transfer.sshkeys.ssh_endpoint` from a connection object.

        Raises
        ------
        stix_lib.transfer.sshkeys.SSHConfigError
            Host-key checking disabled, or conflicting hosts.
        """
        extra = conn.extra_dejson or {}
        source = f"connection {self.ssh_conn_id}"
        if str(extra.get("no_host_key_check", "false")).strip().lower() in _TRUE:
            raise SSHConfigError(f"{source}: no_host_key_check is true, but strict host-key checking is mandatory")
        host = conn.host or self.host
        if conn.host and self.host and conn.host != self.host:
            raise SSHConfigError(f"{source}: host {conn.host!r} differs from the configured host {self.host!r}")
        return {
            "host": host or "",
            "port": conn.port or 22,
            "login": conn.login or "",
            "key_file": extra.get("key_file") or None,
            "private_key": extra.get("private_key") or None,
            "passphrase": extra.get("private_key_passphrase") or None,
            "host_key": extra.get("host_key") or None,
            "known_hosts": extra.get("known_hosts") or None,
            "connect_timeout": int(float(extra.get("conn_timeout") or self.connect_timeout)),
            "source": source,
        }

    @contextmanager
    def endpoint(self) -> Iterator[SSHEndpoint]:
        """The endpoint, with its key and known_hosts files present until the block ends."""
        with ssh_endpoint(**self.endpoint_arguments()) as ssh:
            self.log.info("SSH endpoint %s (host key pinned in %s)", ssh.describe(), ssh.known_hosts_file)
            yield ssh


@contextmanager
def source_endpoint(settings: Any, *, local: bool, conn_id: str, host: str = "") -> Iterator[SSHEndpoint | None]:
    """``None`` for a local source, else the endpoint of connection ``conn_id`` for the block.

    Parameters
    ----------
    settings
        Pipeline settings (``ssh_connect_timeout`` is used).
    local
        The source/target is a local path.
    conn_id
        SSH connection id for the remote case.
    host
        Host to use when the connection has none (see :class:`RsyncSSHHook`).
    """
    if local:
        yield None
        return
    timeout = int(settings.ssh_connect_timeout.total_seconds())
    with RsyncSSHHook(conn_id, connect_timeout=timeout, host=host).endpoint() as ssh:
        yield ssh
