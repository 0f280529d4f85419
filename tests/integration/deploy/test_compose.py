"""Checks of the Docker Compose deployment (docker-compose.yaml + .env.example) without a Docker engine.

When ``docker compose`` works, the file is also validated by Compose itself (that one test skips
otherwise). Everything else reads the YAML with PyYAML (anchors and ``<<`` merges resolved) and
re-implements Compose's ``${VAR}`` interpolation to check the file against ``.env.example``. The
airflow-init scripts are syntax-checked with ``bash -n`` and its Python step is executed against a
temporary data root and a recording stand-in for psycopg2.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
DATA_MOUNT = "/data/stix"
SSH_MOUNT = "/opt/airflow/secrets/ssh"
APISERVER = "airflow-apiserver"
#: Long-running Airflow components that execute task code, callbacks or triggers.
TASK_SERVICES = ("airflow-worker", "airflow-scheduler", "airflow-triggerer", "airflow-dag-processor")
CORE_SERVICES = (
    "postgres",
    "redis",
    "airflow-init",
    APISERVER,
    *TASK_SERVICES,
)
#: One-shot/CLI services that legitimately have no healthcheck.
NO_HEALTHCHECK = {"airflow-init", "airflow-cli"}
#: Connections the pipeline code uses (stix_lib.settings *_conn_id defaults) and their types.
CONNECTIONS = {
    "stix_soc": {"ssh"},
    "smtp_default": {"smtp"},
    "stix_pipeline_db": {"postgres"},
    "stix_soar": {"sftp", "ssh"},
    "stix_nas": {"ssh"},
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$|^AIRFLOW_CONN_")


# ------------------------------------------------------------------------------------------------
# helpers: .env parsing and Compose-style interpolation
# ------------------------------------------------------------------------------------------------
def parse_env_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """Return (assigned variables, names only shown in ``# NAME=...`` comments) of a .env file."""
    values: dict[str, str] = {}
    commented: set[str] = set()
    for line in path.read_text().splitlines():
        if match := re.match(r"^\s*#\s*([A-Za-z_][A-Za-z0-9_]*)=", line):
            commented.add(match.group(1))
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        assert match, f"{path.name}: not a KEY=value line: {line!r}"
        name, raw = match.groups()
        assert name not in values, f"{path.name}: {name} assigned twice"
        if raw[:1] in {"'", '"'}:
            end = raw.find(raw[0], 1)
            assert end > 0, f"{path.name}: unterminated quote in {name}"
            value = raw[1:end]
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        values[name] = value
    return values, commented


_REF_BODY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.S)


def _tokens(text: str):
    """Yield (start, end, name, operator, argument) of each ``${...}``/``$NAME``; ``$$`` is skipped."""
    i = 0
    while (j := text.find("$", i)) >= 0:
        nxt = text[j + 1 : j + 2]
        if nxt == "$":
            i = j + 2
        elif nxt == "{":
            end = text.find("}", j)
            assert end > 0, f"unterminated ${{ in {text!r}"
            body = text[j + 2 : end]
            match = _REF_BODY.match(body)
            assert match and "${" not in body, f"unsupported interpolation ${{{body}}}"
            yield j, end + 1, match.group(1), match.group(2) or "", match.group(3) or ""
            i = end + 1
        elif match := re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[j + 1 :]):
            yield j, j + 1 + match.end(), match.group(0), "", ""
            i = j + 1 + match.end()
        else:
            i = j + 1


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose interpolation of one string; raises KeyError for a missing required variable."""
    out, last = [], 0
    for start, end, name, op, arg in _tokens(text):
        out.append(text[last:start].replace("$$", "$"))
        value = env.get(name)
        if op in {":?", "?"} and (value is None or (op == ":?" and value == "")):
            raise KeyError(f"{name}: {arg}")
        if op == ":-" and not value:
            value = arg
        elif op == "-" and value is None:
            value = arg
        elif op == ":+":
            value = arg if value else ""
        elif op == "+":
            value = arg if value is not None else ""
        out.append(value or "")
        last = end
    out.append(text[last:].replace("$$", "$"))
    return "".join(out)


def walk_strings(node: Any):
    """Every string value of a parsed YAML document (keys are not interpolated by Compose)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from walk_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_strings(value)


def resolve(node: Any, env: dict[str, str]) -> Any:
    """The parsed compose document with every string interpolated."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, env) for value in node]
    return node


def variable_refs(doc: Any) -> dict[str, set[str]]:
    """Variable name -> set of interpolation operators it is used with ("" for plain ${VAR})."""
    refs: dict[str, set[str]] = {}
    for text in walk_strings(doc):
        for *_span, name, op, _arg in _tokens(text):
            refs.setdefault(name, set()).add(op)
    return refs


def looks_like_secret(value: str) -> bool:
    """True for a long random-looking token: 32+ hex digits, or 32+ base64/urlsafe characters that
    mix upper case, lower case and digits and switch between them like random data does (paths,
    dotted names and CHANGE_ME placeholders do not)."""
    if re.search(r"[0-9a-fA-F]{32,}", value):
        return True
    for token in re.findall(r"[A-Za-z0-9+/=_\-]{32,}", value):
        if "CHANGE_ME" in token:
            continue
        kinds = ["u" if c.isupper() else "l" if c.islower() else "d" if c.isdigit() else "o" for c in token]
        switches = sum(a != b for a, b in zip(kinds, kinds[1:], strict=False)) / (len(kinds) - 1)
        if {"u", "l", "d"} <= set(kinds) and switches > 0.3:
            return True
    return False


# ------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict)
    return doc


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def airflow_services(services) -> dict[str, dict[str, Any]]:
    """Every service built from the x-airflow-common anchor (all but postgres and redis)."""
    return {name: svc for name, svc in services.items() if name not in {"postgres", "redis"}}


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)[0]


@pytest.fixture(scope="module")
def resolved(compose, env_example) -> dict[str, Any]:
    """The compose document as Compose would see it with `--env-file .env.example` and no shell env."""
    return resolve(compose, env_example)


def env_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    assert isinstance(environment, dict), "use the mapping form of `environment` (merge keys need it)"
    return {key: str(value) for key, value in environment.items()}


def init_script(services) -> str:
    command = services["airflow-init"]["command"]
    assert services["airflow-init"]["entrypoint"] == "/bin/bash" and command[0] == "-c"
    return command[1]


# ------------------------------------------------------------------------------------------------
# Compose itself (only where a Docker CLI with the compose plugin exists)
# ------------------------------------------------------------------------------------------------
def _docker_compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def test_docker_compose_config_accepts_the_file(tmp_path):
    if not _docker_compose_available():
        pytest.skip("`docker compose` is not available here; the YAML checks below still run")
    data, ssh = tmp_path / "data", tmp_path / "ssh"
    data.mkdir()
    ssh.mkdir()
    env = {**os.environ, "ENV_FILE_PATH": str(ENV_EXAMPLE), "STIX_DATA_DIR": str(data), "STIX_SSH_DIR": str(ssh)}
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE), "config", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------------------------
# services and the shared Airflow configuration
# ------------------------------------------------------------------------------------------------
def test_required_services_present(services):
    missing = [name for name in (*CORE_SERVICES, "airflow-cli", "flower") if name not in services]
    assert not missing, f"missing services: {missing}"
    for name in CORE_SERVICES:
        assert not services[name].get("profiles"), f"{name} must start with a plain `docker compose up`"
    assert services["flower"]["profiles"] == ["flower"]
    assert services["airflow-cli"]["profiles"] == ["debug"]
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7.2-bookworm"
    commands = {name: services[name].get("command") for name in services}
    assert commands[APISERVER] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    assert commands["airflow-worker"] == "celery worker"
    assert commands["flower"] == "celery flower"


def test_airflow_services_share_the_common_anchor(compose, airflow_services):
    common = compose["x-airflow-common"]
    common_env = env_of(common)
    assert common["build"] == "."
    assert common["image"] == "${AIRFLOW_IMAGE_NAME:-stix-airflow:latest}"
    for name, svc in airflow_services.items():
        assert svc["image"] == common["image"], name
        assert svc["build"] == common["build"], name
        assert svc["volumes"] == common["volumes"], f"{name}: volumes differ from x-airflow-common"
        env = env_of(svc)
        changed = {key for key, value in common_env.items() if env.get(key) != value}
        assert not changed, f"{name} overrides/drops common settings: {sorted(changed)}"
        expected_user = "0:0" if name == "airflow-init" else "${AIRFLOW_UID:-50000}:0"
        assert svc["user"] == expected_user, name


def test_common_airflow_settings(compose, resolved):
    env = env_of(compose["x-airflow-common"])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == FAB_AUTH_MANAGER
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"].lower() == "true"
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"].lower() == "true"
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${FERNET_KEY:?")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW__API_AUTH__JWT_SECRET:?")
    assert env["AIRFLOW__API__SECRET_KEY"].startswith("${AIRFLOW__API__SECRET_KEY:?")
    assert env["AIRFLOW__API_AUTH__JWT_ISSUER"]
    assert env["AIRFLOW__EMAIL__FROM_EMAIL"]
    urls = env_of(resolved["x-airflow-common"])
    assert urlsplit(urls["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
    assert urlsplit(urls["AIRFLOW__CELERY__RESULT_BACKEND"]).hostname == "postgres"
    assert urls["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert urlsplit(urls["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    assert not [text for text in walk_strings(compose) if "SimpleAuthManager" in text]


def test_execution_api_url_points_at_the_apiserver(compose, services):
    url = urlsplit(env_of(compose["x-airflow-common"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.scheme == "http" and url.path == "/execution/"
    assert url.hostname == APISERVER and url.hostname in services
    container_ports = {str(port).rsplit(":", 1)[-1] for port in services[APISERVER]["ports"]}
    assert str(url.port) in container_ports, f"apiserver does not publish container port {url.port}"
    assert f"localhost:{url.port}/" in " ".join(services[APISERVER]["healthcheck"]["test"])
    api_url = urlsplit(env_of(compose["x-airflow-common"])["STIX_AIRFLOW_API_URL"])
    assert (api_url.hostname, api_url.port) == (url.hostname, url.port)


def test_secrets_come_from_env_without_defaults(compose):
    refs = variable_refs(compose)
    secret_vars = {name for name in refs if SECRET_NAME.search(name)}
    assert {"FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "POSTGRES_PASSWORD"} <= secret_vars
    for name in secret_vars:
        assert refs[name] == {":?"}, f"{name} must be referenced as ${{{name}:?...}} only, got {refs[name]}"
    text = COMPOSE_FILE.read_text()
    assert "airflow:airflow@" not in text and "airflow_jwt_secret" not in text


def test_connections_configured_from_env(compose):
    from stix_lib.settings import Settings

    env = env_of(compose["x-airflow-common"])
    conn_ids = {getattr(Settings(), f) for f in Settings.__dataclass_fields__ if f.endswith("_conn_id")}
    assert conn_ids == set(CONNECTIONS), "stix_lib connection ids changed; update CONNECTIONS"
    for conn_id in conn_ids:
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        assert env.get(key) == f"${{{key}:?set {key} in .env}}", f"{key} not taken from .env"


def test_stix_settings_environment(compose):
    env = env_of(compose["x-airflow-common"])
    assert env["STIX_DATA_ROOT"] == DATA_MOUNT
    for name in ("STIX_PIPELINE_DB_URL", "STIX_ALERT_TO", "STIX_ALERT_FROM", "STIX_AIRFLOW_API_PASSWORD"):
        assert env[name].startswith(f"${{{name}:?"), name
    for name in ("STIX_CONFIG", "STIX_REFERENCE_DATA", "STIX_AIRFLOW_API_USER"):
        assert name in env


def test_task_services_mount_data_and_ssh(airflow_services):
    sources = set()
    for name in (APISERVER, *TASK_SERVICES):
        volumes = [v for v in airflow_services[name]["volumes"] if isinstance(v, dict)]
        data = [v for v in volumes if v.get("target") == DATA_MOUNT]
        ssh = [v for v in volumes if v.get("target") == SSH_MOUNT]
        assert len(data) == 1, f"{name}: STIX data root not mounted at {DATA_MOUNT}"
        assert len(ssh) == 1 and ssh[0].get("read_only") is True, f"{name}: SSH dir not mounted read-only"
        assert data[0]["type"] == "bind" and data[0]["source"].startswith("${STIX_DATA_DIR:?")
        assert ssh[0]["source"].startswith("${STIX_SSH_DIR:?")
        assert env_of(airflow_services[name])["STIX_DATA_ROOT"] == DATA_MOUNT
        sources.add(data[0]["source"])
    assert len(sources) == 1, f"services mount different data roots: {sources}"


def test_healthchecks(services, compose):
    for name, svc in services.items():
        if name in NO_HEALTHCHECK:
            assert "healthcheck" not in svc, name
            continue
        check = svc.get("healthcheck") or {}
        assert check.get("test") and check["test"][0] in {"CMD", "CMD-SHELL"}, f"{name}: no healthcheck"
        assert check.get("interval") and check.get("retries"), name
    tests = {name: " ".join(svc["healthcheck"]["test"]) for name, svc in services.items() if name not in NO_HEALTHCHECK}
    assert "pg_isready" in tests["postgres"]
    assert "redis-cli ping" in tests["redis"]
    assert "/api/v2/monitor/health" in tests[APISERVER]
    assert "localhost:8974/health" in tests["airflow-scheduler"]
    assert "DagProcessorJob" in tests["airflow-dag-processor"]
    assert "TriggererJob" in tests["airflow-triggerer"]
    assert "inspect ping" in tests["airflow-worker"] and "celery@$${HOSTNAME}" in tests["airflow-worker"]
    assert env_of(services["airflow-worker"])["DUMB_INIT_SETSID"] == "0"


def test_depends_on_conditions(services):
    def deps(name: str) -> dict[str, str]:
        raw = services[name].get("depends_on") or {}
        assert isinstance(raw, dict), f"{name}: use depends_on with conditions"
        return {target: spec["condition"] for target, spec in raw.items()}

    for name in services:
        for target, condition in deps(name).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert target != name
            if target == "airflow-init":
                assert condition == "service_completed_successfully", name
            else:
                assert condition == "service_healthy", f"{name} -> {target}: {condition}"
                assert "healthcheck" in services[target], f"{name} waits for {target}, which has no healthcheck"
            if not services[name].get("profiles"):
                assert not services[target].get("profiles"), f"{name} depends on profiled {target}"
    for name in (APISERVER, *TASK_SERVICES, "flower"):
        assert deps(name).get("airflow-init") == "service_completed_successfully", name
    for name in (APISERVER, *TASK_SERVICES, "flower", "airflow-init", "airflow-cli"):
        assert deps(name).get("postgres") == deps(name).get("redis") == "service_healthy", name
    assert deps("airflow-worker").get(APISERVER) == "service_healthy"  # tasks need the Execution API

    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert state.get(name) != "active", f"depends_on cycle: {' -> '.join((*path, name))}"
        if state.get(name) == "done":
            return
        state[name] = "active"
        for target in deps(name):
            visit(target, (*path, name))
        state[name] = "done"

    for name in services:
        visit(name, ())


# ------------------------------------------------------------------------------------------------
# .env.example
# ------------------------------------------------------------------------------------------------
def test_every_compose_variable_is_documented(compose):
    values, commented = parse_env_file(ENV_EXAMPLE)
    refs = variable_refs(compose)
    required = {name for name, ops in refs.items() if ops & {":?", "?"}}
    assert required, "no required variables found: interpolation parsing is broken"
    assert not sorted(required - set(values)), f"required, not set in .env.example: {sorted(required - set(values))}"
    undocumented = sorted(set(refs) - set(values) - commented)
    assert not undocumented, f"referenced in docker-compose.yaml, missing in .env.example: {undocumented}"
    # the reverse: an assignment compose ignores is a typo unless it is an env_file pass-through setting
    unused = sorted(n for n in values if n not in refs and not n.startswith(("AIRFLOW__", "STIX_", "AIRFLOW_CONN_")))
    assert not unused, f".env.example assigns variables nobody reads: {unused}"


def test_every_env_example_variable_has_a_comment():
    """Each (possibly commented-out) assignment sits under an explanatory comment of its block."""
    assignment = re.compile(r"^(#\s*)?[A-Za-z_][A-Za-z0-9_]*=")
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if not assignment.match(line):
            continue
        for above in reversed(lines[:index]):
            if not above.strip():
                pytest.fail(f".env.example line {index + 1} ({line.split('=')[0]}) has no comment above it")
            if not assignment.match(above):
                break  # a prose comment line


def test_env_example_holds_placeholders_not_secrets(env_example):
    # the detector itself must fire on generated-looking secrets (deterministic samples: Fernet-style
    # urlsafe base64, `openssl rand -base64 48` style, `openssl rand -hex 32` style)
    digest = hashlib.sha512(b"not a secret, a test vector").digest()
    assert looks_like_secret(base64.urlsafe_b64encode(digest[:32]).decode())
    assert looks_like_secret(base64.b64encode(digest[:48]).decode())
    assert looks_like_secret(digest[:32].hex())
    assert not looks_like_secret("/opt/airflow/secrets/ssh/known_hosts")
    assert not looks_like_secret("airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager")
    for name, value in env_example.items():
        assert not looks_like_secret(value), f"{name} in .env.example looks like a real secret"
        if SECRET_NAME.search(name) and not name.startswith("AIRFLOW_CONN_"):
            assert "CHANGE_ME" in value, f"{name} must be a CHANGE_ME placeholder"
    for name, value in env_example.items():
        if name.startswith("AIRFLOW_CONN_"):
            conn = json.loads(value)
            if conn.get("password") is not None:
                assert "CHANGE_ME" in conn["password"], f"{name}: password is not a placeholder"
            assert conn["host"] == "postgres" or conn["host"].endswith(".invalid"), f"{name}: real host?"


def test_env_example_connections_are_valid(env_example):
    from airflow.models.connection import Connection

    for conn_id, types in CONNECTIONS.items():
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        conn = Connection.from_json(env_example[key], conn_id=conn_id)
        assert conn.conn_type in types, f"{key}: conn_type {conn.conn_type}"
        assert conn.host, key
        if conn.conn_type in {"ssh", "sftp"}:
            extra = conn.extra_dejson
            assert conn.login, key
            assert extra.get("key_file", "").startswith(SSH_MOUNT + "/"), f"{key}: key_file outside {SSH_MOUNT}"
            assert extra.get("no_host_key_check") is False, f"{key}: host key checking must stay on"


def test_pipeline_db_url_matches_connection(env_example):
    from airflow.models.connection import Connection
    from sqlalchemy.engine import make_url

    conn = Connection.from_json(env_example["AIRFLOW_CONN_STIX_PIPELINE_DB"], conn_id="stix_pipeline_db")
    url = make_url(env_example["STIX_PIPELINE_DB_URL"])
    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port or 5432, url.username, url.password, url.database) == (
        conn.host,
        conn.port or 5432,
        conn.login,
        conn.password,
        conn.schema,
    )


def test_resolved_configuration_is_consistent(compose, resolved, env_example):
    """Interpolate with .env.example: nothing required is missing and the values fit together."""
    from sqlalchemy.engine import make_url

    from stix_lib.settings import load_settings

    env = env_of(resolved["x-airflow-common"])
    meta = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    postgres = env_of(resolved["services"]["postgres"])
    assert (meta.host, meta.database, meta.username) == ("postgres", postgres["POSTGRES_DB"], postgres["POSTGRES_USER"])
    assert meta.password == postgres["POSTGRES_PASSWORD"] == env_example["POSTGRES_PASSWORD"]
    assert env["AIRFLOW__CORE__FERNET_KEY"] == env_example["FERNET_KEY"]
    stix_env = {key: value for key, value in env.items() if key.startswith("STIX_")}
    settings = load_settings(environ=stix_env)
    assert str(settings.data_root) == DATA_MOUNT
    assert settings.alert_to and settings.alert_from == env["AIRFLOW__EMAIL__FROM_EMAIL"]
    assert settings.pipeline_db_url == env_example["STIX_PIPELINE_DB_URL"]
    ports = resolved["services"][APISERVER]["ports"]
    assert ports == ["127.0.0.1:8080:8080"], "API must be published on localhost by default"
    # and the required-variable check really bites
    with pytest.raises(KeyError, match="FERNET_KEY"):
        resolve(compose, {key: value for key, value in env_example.items() if key != "FERNET_KEY"})


# ------------------------------------------------------------------------------------------------
# airflow-init
# ------------------------------------------------------------------------------------------------
def _python_step(script: str) -> str:
    match = re.search(r"<<'PYTHON'\n(.*?)\nPYTHON\n", script, re.S)
    assert match, "airflow-init: python heredoc (<<'PYTHON' ... PYTHON) not found"
    return match.group(1)


def test_init_service_setup(services):
    init = services["airflow-init"]
    env = env_of(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true" and env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_PASSWORD"].startswith("${_AIRFLOW_WWW_USER_PASSWORD:?")
    assert init["user"] == "0:0" and init.get("restart") == "no"
    script = init_script(services)
    assert "/entrypoint airflow version" in script  # triggers migrate + admin creation in the entrypoint
    assert 'chown "$${AIRFLOW_UID}:0" /opt/airflow/logs' in script
    assert "python -m stix_lib.cli.main db" in script  # pipeline schema migrations
    assert "airflow users create" in script and "reset-password" in script
    assert "CHANGE_ME" in script  # placeholder guard
    # key permissions checked at start, as the pipeline user, on the mounted SSH folder
    assert f'config --check-ssh-dir {SSH_MOUNT} --owner-uid "$${{AIRFLOW_UID}}"' in script


def test_init_scripts_are_valid_bash_and_python(services, env_example):
    script = interpolate(init_script(services), env_example)
    bash = shutil.which("bash")
    assert bash, "bash is required"
    check = subprocess.run([bash, "-n"], input=script, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    for name in ("airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        check = subprocess.run([bash, "-n", "-c", interpolate(services[name]["healthcheck"]["test"][1], {})])
        assert check.returncode == 0, name
    compile(_python_step(script), "airflow-init <<PYTHON", "exec")


_FAKE_PSYCOPG2 = """
import json, os
def _log(entry):
    with open(os.environ["FAKE_PG_LOG"], "a") as fh:
        fh.write(json.dumps(entry) + "\\n")
class _Cursor:
    def __enter__(self): return self
    def __exit__(self, *exc): return False
    def execute(self, query, params=None): _log({"sql": str(query), "params": list(params or [])})
    def fetchone(self): return None
class _Conn:
    autocommit = False
    def cursor(self): return _Cursor()
    def close(self): _log({"closed": True, "autocommit": self.autocommit})
def connect(**kwargs):
    _log({"connect": kwargs})
    return _Conn()
"""
_FAKE_SQL = """
class SQL:
    def __init__(self, text): self.text = text
    def __str__(self): return self.text
    def format(self, *parts): return SQL(self.text.format(*[str(p) for p in parts]))
class Identifier(SQL):
    def __str__(self): return '"' + self.text + '"'
class Literal(SQL):
    def __str__(self): return "'" + self.text + "'"
"""


def _run_python_step(resolved, tmp_path, **overrides) -> tuple[list[dict], Path]:
    fake = tmp_path / "fake"
    (fake / "psycopg2").mkdir(parents=True)
    (fake / "psycopg2" / "__init__.py").write_text(_FAKE_PSYCOPG2)
    (fake / "psycopg2" / "sql.py").write_text(_FAKE_SQL)
    step = tmp_path / "init_step.py"
    step.write_text(_python_step(init_script(resolved["services"])))
    data_root, log = tmp_path / "data", tmp_path / "pg.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STIX_", "AIRFLOW"))}
    env.update(env_of(resolved["services"]["airflow-init"]))
    env.update(
        STIX_DATA_ROOT=str(data_root),
        AIRFLOW_UID=str(os.getuid()),
        FAKE_PG_LOG=str(log),
        PYTHONPATH=os.pathsep.join([str(fake), str(ROOT)]),
        **overrides,
    )
    result = subprocess.run([sys.executable, str(step)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return entries, data_root


def test_init_python_step_provisions_folders_and_pipeline_db(resolved, env_example, tmp_path):
    from stix_lib.settings import load_settings

    entries, data_root = _run_python_step(resolved, tmp_path)
    settings = load_settings(environ={"STIX_DATA_ROOT": str(data_root)})
    missing = [str(p) for p in settings.folders().values() if not Path(p).is_dir()]
    assert not missing, f"data folders not created: {missing}"

    conn = json.loads(env_example["AIRFLOW_CONN_STIX_PIPELINE_DB"])
    assert entries[0]["connect"] == {
        "host": "postgres",
        "port": 5432,
        "user": "airflow",
        "password": env_example["POSTGRES_PASSWORD"],
        "dbname": "airflow",
    }
    statements = [e["sql"] for e in entries if "sql" in e]
    assert f"CREATE ROLE \"{conn['login']}\" WITH LOGIN PASSWORD '{conn['password']}'" in statements
    assert f'CREATE DATABASE "{conn["schema"]}" OWNER "{conn["login"]}"' in statements
    assert entries[-1] == {"closed": True, "autocommit": True}


def test_init_python_step_leaves_external_pipeline_db_alone(resolved, tmp_path):
    external = json.dumps({"conn_type": "postgres", "host": "db.example.invalid", "login": "x", "schema": "y"})
    entries, _ = _run_python_step(resolved, tmp_path, AIRFLOW_CONN_STIX_PIPELINE_DB=external)
    assert entries == [], "must not touch a database server other than the bundled postgres"
