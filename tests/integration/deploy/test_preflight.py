"""`make demo` / `make up` on a machine without rsync: install it, or stop at once naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stix_ops import preflight

REPO = Path(__file__).resolve().parents[3]
#: Everything the demo needs except rsync, plus what `make` itself runs.
TOOLS = ("python3", "git", "ssh", "make", "bash", "sh", "env")


@pytest.fixture
def path_without_rsync(tmp_path: Path) -> str:
    """A PATH of symlinks to the needed tools, rsync left out (the real system's binaries)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool, path="/usr/local/bin:/usr/bin:/bin")
        assert found, f"{tool} is not installed"
        (folder / tool).symlink_to(found)
    assert shutil.which("rsync", path=str(folder)) is None
    return str(folder)


def test_missing_rsync_is_named(path_without_rsync: str) -> None:
    assert preflight.missing_packages("/usr/bin:/bin") == []  # the real machine has them all
    assert preflight.missing_packages(path_without_rsync) == ["rsync"]
    line = preflight.preflight(path_without_rsync, install=False)
    assert line == "missing system package(s): rsync — install with: sudo apt-get install -y rsync"


def test_root_installs_with_apt_get(path_without_rsync: str, tmp_path: Path) -> None:
    """As root: apt-get update + install of exactly the missing package; success when it then is on PATH."""
    calls: list[list[str]] = []

    def fake_apt(command, **kwargs):
        calls.append(command)
        if command[:2] == ["apt-get", "install"]:  # "installs" rsync into the PATH folder
            (Path(path_without_rsync) / "rsync").symlink_to(shutil.which("rsync", path="/usr/bin:/bin"))
        assert kwargs["env"]["DEBIAN_FRONTEND"] == "noninteractive"
        return subprocess.CompletedProcess(command, 0, "", "")

    path = f"{path_without_rsync}:{_apt_folder(tmp_path)}"
    assert preflight.preflight(path, run=fake_apt, is_root=True) is None
    assert calls == [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "rsync"],
    ]


def test_failed_install_gives_the_one_line(path_without_rsync: str, tmp_path: Path) -> None:
    """Not root: sudo -n (no password prompt); when apt-get fails, one line naming rsync and the command."""

    def refused(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "sudo: a password is required\n")

    path = f"{path_without_rsync}:{_apt_folder(tmp_path, sudo=True)}"
    assert preflight.install_commands(["rsync"], path, is_root=False)[0][:3] == ["sudo", "-n", "apt-get"]
    line = preflight.preflight(path, run=refused, is_root=False)
    assert line.startswith("missing system package(s): rsync — install with: sudo apt-get install -y rsync")
    assert "\n" not in line and "a password is required" in line


def test_not_root_without_sudo_does_not_try(path_without_rsync: str, tmp_path: Path) -> None:
    def never(command, **kwargs):
        raise AssertionError(f"ran {command}")

    path = f"{path_without_rsync}:{_apt_folder(tmp_path)}"
    assert "rsync" in preflight.preflight(path, run=never, is_root=False)


def _apt_folder(tmp_path: Path, sudo: bool = False) -> str:
    """A folder with stand-ins named apt-get (and sudo): only their presence on PATH matters here."""
    folder = tmp_path / "apt"
    folder.mkdir(exist_ok=True)
    for name in ("apt-get", "sudo") if sudo else ("apt-get",):
        (folder / name).write_text("#!/bin/sh\nexit 1\n")
        (folder / name).chmod(0o755)
    return str(folder)


def test_make_demo_stops_at_once_naming_rsync(path_without_rsync: str, tmp_path: Path) -> None:
    """The real Makefile: `make demo` without rsync (install switched off) fails in the preflight, one line,
    before creating a virtualenv or starting anything."""
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PATH=path_without_rsync, STIX_PREFLIGHT_INSTALL="0")
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "demo", f"VENV={venv}", "PYTHON=python3"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("preflight:")]
    assert lines == ["preflight: missing system package(s): rsync — install with: sudo apt-get install -y rsync"]
    assert not venv.exists()


def test_local_stacks_give_the_monitor_its_api_login(tmp_path: Path) -> None:
    """`make up` / `make demo`: the monitor's API URL, user and password are those of the stack's admin."""
    from stix_lib.monitor.api import AirflowApi
    from stix_lib.settings import load_settings
    from stix_ops.dev.localstack import LocalStack, StackConfig

    config = StackConfig(home=tmp_path / "home")
    env = LocalStack(config).env()
    settings = load_settings(environ=env)
    assert (settings.airflow_api_url, settings.airflow_api_user) == (config.api_url, "admin")
    with AirflowApi.from_settings(settings, environ=env) as api:
        assert api._password == config.admin_password
