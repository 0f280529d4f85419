"""Checks of the image build inputs: Dockerfile, .dockerignore and the requirements.txt lock.

No Docker engine is needed: the Dockerfile is parsed into instructions (continuation lines joined,
comments dropped) and checked for the base image, OS packages, the order and user of the pip
installs and what gets copied; .dockerignore is evaluated with Docker's matching rules against the
files the Dockerfile copies.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
BASE_IMAGE = "apache/airflow:3.3.2-python3.11"
AIRFLOW_VERSION = "3.3.2"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock() -> dict[str, str]:
    """requirements.txt as {normalized name: pinned version}; every entry must be an exact pin."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)(\s*;.*)?", line)
        assert match, f"requirements.txt: not an exact pin: {line!r}"
        pins[_normalize(match.group(1))] = match.group(3)
    return pins


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments removed."""
    result, buffer = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also comment lines inside a continued instruction, as Docker does
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical = buffer + stripped
        buffer = ""
        keyword, _, args = logical.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not buffer, "Dockerfile ends inside a continued instruction"
    return result


def runs_with_user() -> list[tuple[str, str]]:
    """(effective USER, RUN command) of every RUN instruction."""
    user, runs = "airflow", []  # the base image's default user
    for keyword, args in instructions():
        if keyword == "USER":
            user = args.split(":")[0]
        elif keyword == "RUN":
            runs.append((user, args))
    return runs


def copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY, options such as --chown dropped."""
    result = []
    for keyword, args in instructions():
        if keyword == "COPY":
            parts = [p for p in args.split() if not p.startswith("--")]
            result.append((parts[:-1], parts[-1]))
    return result


# ------------------------------------------------------------------------------------------------
# Dockerfile
# ------------------------------------------------------------------------------------------------
def test_base_image_is_airflow_3_3_2_python_3_11():
    steps = instructions()
    froms = [args for keyword, args in steps if keyword == "FROM"]
    assert steps[0][0] == "FROM", "the Dockerfile must start with FROM"
    assert froms == [BASE_IMAGE], f"expected a single stage FROM {BASE_IMAGE}, got {froms}"
    assert lock()["apache-airflow"] == BASE_IMAGE.split(":")[1].split("-")[0], "lock and image disagree"


def test_os_packages_installed_as_root_with_clean_apt_lists():
    apt = [(user, cmd) for user, cmd in runs_with_user() if "apt-get install" in cmd]
    assert len(apt) == 1, "expected one apt-get install step"
    user, cmd = apt[0]
    assert user == "root"
    installed = set(cmd.split("apt-get install", 1)[1].split("&&", 1)[0].split())
    assert {"rsync", "openssh-client", "git", "unzip"} <= installed, installed
    assert "apt-get update" in cmd and "--no-install-recommends" in cmd
    assert "rm -rf /var/lib/apt/lists/*" in cmd, "apt lists must be removed in the same layer"


def test_python_packages_installed_as_airflow_from_the_lock():
    pip_runs = [(user, cmd) for user, cmd in runs_with_user() if "pip install" in cmd]
    assert pip_runs, "no pip install"
    for user, cmd in pip_runs:
        assert user == "airflow", f"pip must run as the airflow user, not {user}: {cmd}"
    lock_copies = [dest for sources, dest in copies() if sources == ["requirements.txt"]]
    assert len(lock_copies) == 1
    lock_runs = [cmd for _, cmd in pip_runs if f"-r {lock_copies[0]}" in cmd]
    assert len(lock_runs) == 1, f"no `pip install -r {lock_copies[0]}`"
    # FAB (auth manager of the compose file) comes from the lock and is never removed
    lock = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^apache-airflow-providers-fab==", lock, re.M)
    assert all("pip uninstall" not in cmd for _, cmd in runs_with_user())
    last_user = [args for keyword, args in instructions() if keyword == "USER"][-1]
    assert last_user.split(":")[0] == "airflow", "the image must not end as root"


def test_stix_lib_installed_without_deps_after_the_lock():
    order = [sources for sources, _ in copies()]
    assert ["requirements.txt"] in order and ["stix_lib"] in order
    assert order.index(["requirements.txt"]) < order.index(["stix_lib"]), "copy the lock first (layer cache)"
    destinations = {tuple(sources): dest for sources, dest in copies()}
    source_dir = str(PurePosixPath(destinations[("pyproject.toml",)]).parent)
    assert str(PurePosixPath(destinations[("stix_lib",)]).parent) == source_dir
    installs = [cmd for _, cmd in runs_with_user() if "pip install" in cmd and "--no-deps" in cmd]
    assert any(re.search(rf"--no-deps\s+{re.escape(source_dir)}(\s|$)", cmd) for cmd in installs), installs
    assert any("stix-pipeline --version" in cmd for _, cmd in runs_with_user()), "smoke-test the console script"


def test_dags_and_plugins_copied_into_airflow_home():
    destinations = {tuple(sources): dest.rstrip("/") for sources, dest in copies()}
    assert destinations.get(("dags/",)) == "/opt/airflow/dags"
    assert destinations.get(("plugins/",)) == "/opt/airflow/plugins"


# ------------------------------------------------------------------------------------------------
# requirements.txt
# ------------------------------------------------------------------------------------------------
def test_lock_pins_airflow_and_providers():
    pins = lock()
    assert pins["apache-airflow"] == AIRFLOW_VERSION
    assert pins["apache-airflow-core"] == AIRFLOW_VERSION
    for provider in ("celery", "postgres", "ssh", "sftp", "smtp", "standard"):
        assert f"apache-airflow-providers-{provider}" in pins, provider
    # the Celery broker client and the driver airflow-init uses to create the pipeline database
    assert {"celery", "redis", "psycopg2-binary"} <= set(pins)


def test_lock_covers_stix_lib_dependencies():
    """stix_lib is installed with --no-deps, so the lock must contain its direct dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_normalize(re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}
    missing = sorted(names - set(lock()))
    assert not missing, f"stix_lib dependencies missing from requirements.txt: {missing}"


# ------------------------------------------------------------------------------------------------
# .dockerignore
# ------------------------------------------------------------------------------------------------
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(path: str, patterns: list[str] | None = None) -> bool:
    """Docker's rule: a path is excluded if the last matching pattern (on it or a parent) is not `!`."""
    if patterns is None:
        lines = (ROOT / ".dockerignore").read_text().splitlines()
        patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def test_dockerignore_matcher_follows_docker_rules():
    assert dockerignored("a/b/__pycache__/x.pyc", ["**/__pycache__"])
    assert dockerignored("tests/integration/deploy/test_image.py", ["tests"])
    assert not dockerignored("stix_lib/settings.py", ["tests", "*.pyc"])
    assert not dockerignored("keep.env", [".env"])
    assert not dockerignored("x.txt", ["*.txt", "!x.txt"])


def test_dockerignore_excludes_secrets_and_local_state():
    for path in (".env", ".env.prod", ".venv/bin/python", ".git/config", "build/lib/x.py", ".pytest_cache/v",
                 ".ruff_cache/x", "stix_lib/__pycache__/settings.cpython-311.pyc", "secrets/ssh/id_ed25519",
                 "tests/integration/deploy/test_image.py"):  # fmt: skip
        assert dockerignored(path), f"{path} would be sent to the Docker build context"


@pytest.mark.parametrize("source", ["requirements.txt", "pyproject.toml", "stix_lib", "dags", "plugins"])
def test_dockerignore_keeps_every_build_input(source):
    copied = {s.rstrip("/") for sources, _ in copies() for s in sources}
    assert source in copied, f"the Dockerfile no longer copies {source}"
    root = ROOT / source
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    files = [f for f in files if "__pycache__" not in f.parts and f.suffix not in {".pyc", ".pyo"}]
    assert files, f"{source} is empty"
    dropped = [str(f.relative_to(ROOT)) for f in files if dockerignored(f.relative_to(ROOT).as_posix())]
    assert not dropped, f".dockerignore hides build inputs: {dropped}"


def test_env_file_is_ignored_by_git():
    patterns = [ln.strip() for ln in (ROOT / ".gitignore").read_text().splitlines()]
    assert ".env" in patterns, ".env (real secrets) must stay out of git"
