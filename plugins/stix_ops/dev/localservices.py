"""Throw-away PostgreSQL, Redis, OpenSSH, SMTP and HTTP servers on loopback, for tests and the CI stack.

Each server lives in its own directory, listens on 127.0.0.1 on a free port, and is stopped and
removed by :meth:`stop`. PostgreSQL refuses to run as root, so under root the server runs as the
``postgres`` system user (created by the Debian package). sshd runs as the current user and only
lets that user in, with a key generated for it.
"""

from __future__ import annotations

import getpass
import glob
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from stix_ops.dev.localstack import free_port

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise FileNotFoundError(f"PostgreSQL program {name!r} not found: install the 'postgresql' package")
    return found


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster under ``root``.

    Attributes
    ----------
    root
        Directory for the cluster data, socket and log.
    user, password
        Superuser created for the cluster (password authentication on TCP).
    """

    root: Path
    user: str = "stix"
    password: str = "stix-test-password"
    port: int = field(default_factory=free_port)

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self, timeout: float = 60.0) -> PostgresServer:
        """initdb, start, wait until it accepts connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        data = self.root / "data"
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password)
        self._chown(self.root)
        self._chown(pwfile)
        subprocess.run(
            [*self._as_owner(), _pg_bin("initdb"), "-D", str(data), "-U", self.user, "--pwfile", str(pwfile),
             "-A", "scram-sha-256", "-E", "UTF8", "--no-instructions"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        pwfile.unlink()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        subprocess.run(
            [*self._as_owner(), _pg_bin("pg_ctl"), "-D", str(data), "-l", str(self.root / "postgres.log"),
             "-o", options, "-w", "-t", str(int(timeout)), "start"],
            check=True, capture_output=True, timeout=timeout + 30,
        )  # fmt: skip
        return self

    def create_database(self, name: str) -> str:
        """Create a database; return its SQLAlchemy URL."""
        import psycopg2

        conn = psycopg2.connect(self.url("postgres", driver=False))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)

    def url(self, database: str, driver: bool = True) -> str:
        """Connection URL of ``database`` (SQLAlchemy form with the psycopg2 driver, or plain libpq)."""
        scheme = "postgresql+psycopg2" if driver else "postgresql"
        return f"{scheme}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        data = self.root / "data"
        if data.exists():
            subprocess.run(
                [*self._as_owner(), _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class RedisServer:
    """A private Redis on 127.0.0.1 (no persistence)."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> RedisServer:
        """Start redis-server and wait for PONG."""
        self.root.mkdir(parents=True, exist_ok=True)
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root)],
            stdout=(self.root / "redis.log").open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        while time.monotonic() < deadline:
            ping = subprocess.run([cli, "-p", str(self.port), "ping"], capture_output=True, text=True, check=False)
            if ping.stdout.strip() == "PONG":
                return self
            time.sleep(0.2)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    @property
    def url(self) -> str:
        """``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class SshServer:
    """A private OpenSSH server on 127.0.0.1 that accepts the current user with a generated key.

    ``start`` generates an ed25519 host key and an ed25519 user key with ``ssh-keygen``, writes an
    ``sshd_config`` (key authentication only, no PAM, ``StrictModes no``, root allowed with a key
    only, pid file inside ``root``) and runs ``/usr/sbin/sshd -D -e`` until :meth:`stop`.

    Attributes
    ----------
    root
        Directory for keys, config, pid file and log.
    port
        TCP port on 127.0.0.1.
    user
        The login (the current user).
    """

    root: Path
    port: int = field(default_factory=free_port)
    user: str = field(default_factory=getpass.getuser)
    process: subprocess.Popen[bytes] | None = None

    @property
    def host_key_file(self) -> Path:
        """The server's private host key."""
        return self.root / "ssh_host_ed25519_key"

    @property
    def client_key(self) -> Path:
        """Private key the user logs in with (0600)."""
        return self.root / "client_ed25519"

    @property
    def host_key(self) -> str:
        """Public host key as ``"ssh-ed25519 AAAA..."`` (the SSH provider's ``host_key`` extra)."""
        return " ".join(Path(f"{self.host_key_file}.pub").read_text().split()[:2])

    def connection(self) -> dict[str, object]:
        """An Airflow SSH connection (JSON form) to this server: key file and pinned host key."""
        return {
            "conn_type": "ssh",
            "host": "127.0.0.1",
            "port": self.port,
            "login": self.user,
            "extra": {"key_file": str(self.client_key), "host_key": self.host_key},
        }

    def known_hosts_line(self) -> str:
        """The ``known_hosts`` line that pins this server."""
        return f"[127.0.0.1]:{self.port} {self.host_key}\n"

    def _keygen(self, path: Path, comment: str) -> None:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self, timeout: float = 30.0) -> SshServer:
        """Generate keys, write the config, start sshd and wait for its SSH banner."""
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if not Path(sshd).exists():
            raise FileNotFoundError("sshd not found: install the 'openssh-server' package")
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self._keygen(self.host_key_file, "stix-test-host")
        self._keygen(self.client_key, "stix-test-client")
        authorized = self.root / "authorized_keys"
        authorized.write_text(Path(f"{self.client_key}.pub").read_text())
        authorized.chmod(0o600)
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # privilege-separation dir
        config = self.root / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key_file}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "UsePAM no",
                    "StrictModes no",
                    f"AllowUsers {self.user}",
                    "PrintMotd no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        log = (self.root / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited {self.process.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    if sock.recv(64).startswith(b"SSH-"):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sshd did not answer on port {self.port}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of sshd's log (for failure messages)."""
        path = self.root / "sshd.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        """Stop sshd (its process group) and delete its directory."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 15)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives.

    Attributes
    ----------
    port
        TCP port (free by default).
    messages
        Received messages, parsed (``email.message.EmailMessage``), in arrival order.
    envelopes
        The SMTP envelopes as received (``mail_from``, ``rcpt_tos``, raw ``content``).
    arrivals
        When each message arrived (``time.time()``), same order as ``messages``.
    """

    port: int = field(default_factory=free_port)
    messages: list = field(default_factory=list)
    envelopes: list = field(default_factory=list)
    arrivals: list = field(default_factory=list)
    host: str = "127.0.0.1"
    _controller: Controller | None = None

    def start(self) -> SmtpSink:
        """Start the server thread."""
        from email import message_from_bytes, policy

        from aiosmtpd.controller import Controller

        sink = self

        class _Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
                sink.envelopes.append(envelope)
                sink.arrivals.append(time.time())
                sink.messages.append(message)
                return "250 OK"

        self._controller = Controller(_Handler(), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def connection_json(self) -> str:
        """An Airflow ``smtp`` connection (JSON) pointing at this server, without TLS."""
        import json

        return json.dumps(
            {"conn_type": "smtp", "host": "127.0.0.1", "port": self.port,
             "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 10, "retry_limit": 1}}
        )  # fmt: skip

    def wait_for(self, count: int, timeout: float = 30.0) -> list:
        """Wait until at least ``count`` messages arrived; return all messages."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)

    def stop(self) -> None:
        """Stop the server thread."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class TextHttpServer:
    """A loopback HTTP server (``http.server`` in a thread) answering every GET from a callable.

    ``answer(path) -> (status, text)`` gives the reply (sent as ``text/csv``, UTF-8); the requested
    paths are recorded in :attr:`requests`. Stands in for web APIs (the STIX data-center RID API).
    """

    def __init__(self, answer: Callable[[str], tuple[int, str]]) -> None:
        self.answer = answer
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> TextHttpServer:
        """Listen on a free port and serve in a daemon thread."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                owner.requests.append(self.path)
                status, text = owner.answer(self.path)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/csv; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down and join its thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
