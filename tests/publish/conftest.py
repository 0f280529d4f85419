"""Fixtures of the publishing tests: pipeline database on SQLite and PostgreSQL, folders, kernels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stix_lib.db import connect


@pytest.fixture(autouse=True)
def _no_stixpy_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic products of these tests are not stixpy-loadable: the gate's stixpy and
    conservation checks are off.

    (``tests/publish/test_gate.py`` covers it with real pipeline products.)
    """
    monkeypatch.setenv("STIX_PUBLISH_STIXPY_CHECK", "false")
    monkeypatch.setenv("STIX_PUBLISH_CONSERVATION_CHECK", "false")  # no LB parents beside them either


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh pipeline database: SQLite file or a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'pipeline.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite pipeline database (for tests where the backend does not matter)."""
    return f"sqlite:///{tmp_path / 'db' / 'pipeline.sqlite'}"


@dataclass
class Folders:
    """The folders of one publishing setup."""

    fits: Path
    target: Path
    conflicts: Path
    report: Path
    work: Path


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    """Archive, SOAR target, conflicts folder and supplement report below ``tmp_path``."""
    result = Folders(
        fits=tmp_path / "fits",
        target=tmp_path / "esa",
        conflicts=tmp_path / "esa_conflicts",
        report=tmp_path / "publish" / "supplement_report.csv",
        work=tmp_path / "work",
    )
    result.fits.mkdir()
    result.work.mkdir()
    return result


@pytest.fixture
def engine(sqlite_url: str):
    """A migrated SQLite pipeline database."""
    return connect(sqlite_url)


@pytest.fixture
def kernel_dir(reference_data: Path) -> Path:
    """The real 2020 SPICE kernel tree (flown + predicted meta kernels)."""
    return reference_data / "spice" / "kernels"


@dataclass
class SftpServer:
    """A real OpenSSH server on 127.0.0.1 with the SFTP subsystem, and a pinned known_hosts file."""

    server: object
    known_hosts: Path

    def endpoint(self, known_hosts: Path | None = None):
        """The SFTP account (current user, generated key, pinned host key)."""
        from stix_lib.transfer.rsync import SSHEndpoint

        return SSHEndpoint(
            host="127.0.0.1",
            user=self.server.user,
            key_file=self.server.client_key,
            known_hosts_file=known_hosts or self.known_hosts,
            port=self.server.port,
            connect_timeout=10,
        )


def _sftp_answers(endpoint) -> bool:
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(str(endpoint.known_hosts_file))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            "127.0.0.1", port=endpoint.port, username=endpoint.user, key_filename=str(endpoint.key_file),
            allow_agent=False, look_for_keys=False, timeout=10,
        )  # fmt: skip
        client.open_sftp().close()
        return True
    except (paramiko.SSHException, OSError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="module")
def sftp_server(tmp_path_factory: pytest.TempPathFactory):
    """OpenSSH ``sshd`` (``stix_ops.localservices.SshServer``, SFTP subsystem on); waits until SFTP answers."""
    import tempfile
    import time

    from stix_ops.localservices import SshServer

    server = SshServer(Path(tempfile.mkdtemp(prefix="stix-sshd-publish-"))).start()
    try:
        known_hosts = tmp_path_factory.mktemp("sftp-client") / "known_hosts"
        known_hosts.write_text(server.known_hosts_line())
        result = SftpServer(server, known_hosts)
        deadline = time.monotonic() + 60
        while not _sftp_answers(result.endpoint()):
            if time.monotonic() > deadline or server.process.poll() is not None:
                raise RuntimeError(f"sshd did not offer SFTP after the reload: {server.log_tail()}")
            time.sleep(0.2)
        yield result
    finally:
        server.stop()


@dataclass
class RidApiServer:
    """A local RID API answering every window with the same CSV; records the request paths."""

    url: str
    requests: list
    status: list  # [HTTP status to answer]


@pytest.fixture
def rid_api_server():
    """http.server in a thread on 127.0.0.1 serving one RID LUT row for any window."""
    from stix_lib.ridlut.table import COLUMNS
    from stix_ops.localservices import TextHttpServer

    body = ",".join(COLUMNS) + "\n" + "900,42,2026-01-01T10:00:00,600,xray-cpd,big flare,imaging,,IOR9,api\n"
    status = [200]
    server = TextHttpServer(lambda path: (status[0], body)).start()
    try:
        yield RidApiServer(f"{server.url}/api/bsd/info/", server.requests, status)
    finally:
        server.stop()
