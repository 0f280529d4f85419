"""Run a real Airflow deployment from this repository, without Docker.

:class:`LocalStack` starts the Airflow components (api-server, scheduler, dag-processor,
triggerer, optionally Celery workers) as background processes sharing one configuration: the
same ``AIRFLOW_HOME``, metadata DB, JWT secret, API secret key and execution-API URL. It
talks to the REST API v2 to unpause, trigger and watch DAG runs, and stops everything it
started. ``make demo``, ``make up`` and the end-to-end tests use it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stix_ops import sqlite_settings

REPO = Path(__file__).resolve().parents[3]
#: File name of the embedded SQLite metadata database inside ``AIRFLOW_HOME``.
SQLITE_NAME = "airflow.db"
TERMINAL_RUN_STATES = {"success", "failed"}
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_hostname() -> str:
    """``[core] hostname_callable``: ``$STIX_WORKER_NAME`` when set (per Celery worker), else the FQDN."""
    return os.environ.get("STIX_WORKER_NAME") or socket.getfqdn()


class StackError(RuntimeError):
    """The stack did not start, or a DAG run could not be driven."""


class RunFailed(StackError):
    """A task of a driven run failed; the message names the DAG, the task and the error."""


@dataclass
class StackConfig:
    """How to run the stack.

    Attributes
    ----------
    home
        ``AIRFLOW_HOME`` (config, SQLite DB, logs).
    sql_alchemy_conn
        Metadata DB URL; default SQLite inside ``home``.
    executor
        ``LocalExecutor`` (default) or ``CeleryExecutor``.
    extra_env
        More environment for every component (``STIX_*`` settings, connections, Celery URLs).
    parallelism
        ``[core] parallelism`` (LocalExecutor pre-forks this many workers).
    auth_manager
        ``[core] auth_manager`` class path; empty: Airflow's default (SimpleAuthManager).
    hostname_callable
        ``[core] hostname_callable``; empty: Airflow's default. :func:`worker_hostname` names the
        Celery workers in task instance records.
    """

    home: Path
    sql_alchemy_conn: str = ""
    executor: str = "LocalExecutor"
    extra_env: dict[str, str] = field(default_factory=dict)
    parallelism: int = 8
    auth_manager: str = ""
    hostname_callable: str = ""
    api_port: int = field(default_factory=free_port)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def api_url(self) -> str:
        """Base URL of the api-server."""
        return f"http://127.0.0.1:{self.api_port}"


class LocalStack:
    """Start, drive and stop a local Airflow deployment (see module docstring)."""

    def __init__(self, config: StackConfig, bin_dir: Path | None = None) -> None:
        self.config = config
        self.bin_dir = bin_dir or Path(sys.executable).parent
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._token: str | None = None
        self.log_dir = config.home / "stack-logs"

    # -- configuration ----------------------------------------------------------------------
    @property
    def sqlite_database(self) -> Path | None:
        """The metadata database file when the stack runs on SQLite (the embedded default), else None."""
        url = self.config.sql_alchemy_conn
        if not url:
            return self.config.home.resolve() / SQLITE_NAME
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None

    def env(self) -> dict[str, str]:
        """The environment shared by every component and CLI call.

        Includes the monitor's API settings (``airflow_api_url``, ``airflow_api_user``,
        ``STIX_AIRFLOW_API_PASSWORD``) for this stack's admin; ``extra_env`` may override them.
        """
        c = self.config
        home = c.home.resolve()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": c.executor,
                "AIRFLOW__CORE__PARALLELISM": str(c.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{c.api_url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": c.sql_alchemy_conn or f"sqlite:///{home / SQLITE_NAME}",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(c.api_port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__BASE_URL": c.api_url,
                "AIRFLOW__API__SECRET_KEY": c.jwt_secret[:32],
                "AIRFLOW__API_AUTH__JWT_SECRET": c.jwt_secret,
                "AIRFLOW__API_AUTH__JWT_ISSUER": "stix-localstack",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "plugins"), env.get("PYTHONPATH", "")])),
                "PATH": os.pathsep.join([str(self.bin_dir), env.get("PATH", "")]),
                # the pipeline monitor (and `stix-pipeline status`) use this stack's REST API as admin
                "STIX_AIRFLOW_API_URL": c.api_url,
                "STIX_AIRFLOW_API_USER": "admin",
                "STIX_AIRFLOW_API_PASSWORD": c.admin_password,
            }
        )
        if self.sqlite_database is not None:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] = sqlite_settings.CONNECT_ARGS_PATH
        if c.auth_manager:
            env["AIRFLOW__CORE__AUTH_MANAGER"] = c.auth_manager
        if c.hostname_callable:
            env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = c.hostname_callable
        env.update(c.extra_env)
        return env

    def airflow(self, *args: str, timeout: int = 600) -> str:
        """Run an ``airflow`` CLI command with the stack's environment; return stdout."""
        done = subprocess.run(
            [str(self.bin_dir / "airflow"), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise StackError(f"airflow {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}")
        return done.stdout

    def secret_values(self) -> dict[str, str]:
        """The stack's own secrets by name: none of them may ever appear in a log."""
        c = self.config
        return {"admin password": c.admin_password, "JWT secret": c.jwt_secret, "API secret key": c.jwt_secret[:32]}

    def logs_containing(self, secret_values: Mapping[str, str]) -> list[str]:
        """``"<log file>: <secret name>"`` for every component or task log holding one of the values."""
        found = []
        for folder in (self.log_dir, self.config.home / "logs"):
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if path.is_file():
                    text = path.read_bytes()
                    found += [f"{path}: {name}" for name, value in secret_values.items() if value.encode() in text]
        return found

    # -- life cycle -------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create ``AIRFLOW_HOME``, the admin password file and the metadata DB schema."""
        self.config.home.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        passwords = self.config.home / "passwords.json"
        passwords.write_text(json.dumps({"admin": self.config.admin_password}))
        passwords.chmod(0o600)
        self.airflow("db", "migrate")
        if self.sqlite_database is not None:
            sqlite_settings.use_write_ahead_log(self.sqlite_database)

    def start(self, components: Iterable[str] = COMPONENTS, workers: int = 0) -> None:
        """Start the components (plus ``workers`` Celery workers) in their own process groups."""
        env = self.env()
        commands = {name: [name] for name in components}
        envs = {name: env for name in components}
        for index in range(workers):
            name = f"worker{index + 1}"
            commands[name] = [
                "celery", "worker", "--concurrency", "4", "--celery-hostname", f"stix-{name}@%h",
                "--skip-serve-logs",
            ]  # fmt: skip
            envs[name] = {**env, "STIX_WORKER_NAME": f"stix-{name}"}
        for name, command in commands.items():
            log = (self.log_dir / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(
                [str(self.bin_dir / "airflow"), *command],
                env=envs[name],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=str(self.config.home),
            )

    def stop(self, grace: float = 20.0) -> None:
        """Stop every started process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        for proc in self.processes.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # also reaps forked task processes
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        self.processes.clear()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise StackError(f"airflow {name} exited with {proc.returncode}; log tail:\n{tail}")

    def wait_healthy(self, timeout: float = 240.0, components: Iterable[str] = ("scheduler", "dag_processor")) -> dict:
        """Wait until the API answers and the named components report healthy."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                last = httpx.get(f"{self.config.api_url}/api/v2/monitor/health", timeout=5).json()
                if all((last.get(c) or {}).get("status") == "healthy" for c in ("metadatabase", *components)):
                    return last
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(2)
        raise StackError(f"stack not healthy after {timeout:.0f} s: {last}")

    # -- REST API ---------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the REST API v2 as admin; return the decoded JSON body."""
        if self._token is None:
            reply = httpx.post(
                f"{self.config.api_url}/auth/token",
                json={"username": "admin", "password": self.config.admin_password},
                timeout=30,
            )
            reply.raise_for_status()
            self._token = reply.json()["access_token"]
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        reply = httpx.request(
            method, f"{self.config.api_url}/api/v2/{path.lstrip('/')}", headers=headers, timeout=60, **kwargs
        )
        if reply.status_code >= 400:
            raise StackError(f"{method} {path} -> {reply.status_code}: {reply.text[:2000]}")
        return reply.json() if reply.content else None

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 240.0) -> None:
        """Wait until the dag-processor has serialized every DAG in ``dag_ids``."""
        wanted = set(dag_ids)
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while time.monotonic() < deadline:
            self._check_alive()
            seen = {d["dag_id"] for d in self.api("GET", "dags", params={"limit": 1000})["dags"]}
            if wanted <= seen:
                errors = self.api("GET", "importErrors")
                if errors.get("total_entries"):
                    raise StackError(f"DAG import errors: {errors['import_errors']}")
                return
            time.sleep(2)
        raise StackError(f"DAGs not parsed after {timeout:.0f} s: missing {sorted(wanted - seen)}")

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG."""
        self.api("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Trigger a manual run; return its run id."""
        body = {"logical_date": None, "conf": dict(conf or {})}
        return self.api("POST", f"dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def runs(self, dag_id: str = "~") -> list[dict[str, Any]]:
        """All DAG runs (of one DAG, or ``~`` for all)."""
        return self.api("GET", f"dags/{dag_id}/dagRuns", params={"limit": 1000, "order_by": "run_after"})["dag_runs"]

    def failed_tasks(self) -> list[dict[str, Any]]:
        """Task instances in state failed or upstream_failed across all runs."""
        reply = self.api(
            "GET", "dags/~/dagRuns/~/taskInstances", params={"state": ["failed", "upstream_failed"], "limit": 1000}
        )
        return reply["task_instances"]

    def task_error(self, ti: Mapping[str, Any]) -> str:
        """The last error a task instance logged (exception ``Type: message``, else its last error line)."""
        try_number = max(1, int(ti.get("try_number") or 1))
        path = f"dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/logs/{try_number}"
        try:
            reply = self.api("GET", path, params={"map_index": ti.get("map_index", -1)},
                             headers={"Accept": "application/json"})  # fmt: skip
        except (StackError, httpx.HTTPError) as exc:
            return f"(log not readable: {exc})"
        content = reply.get("content") if isinstance(reply, dict) else reply
        found = ""
        for entry in content if isinstance(content, list) else []:
            if not isinstance(entry, dict):
                continue
            for detail in entry.get("error_detail") or []:
                found = f"{detail.get('exc_type', 'Error')}: {detail.get('exc_value', '')}"
            if not entry.get("error_detail") and str(entry.get("level", "")).lower() in ("error", "critical"):
                found = str(entry.get("event", found))
        return found or "(no error in the task log)"

    def task_problems(self, run_ids: Mapping[str, str]) -> list[tuple[str, str]]:
        """``(state, "DAG d, task t (try n): error")`` for every failed or retrying task of the given runs."""
        found = []
        for dag_id, run_id in run_ids.items():
            reply = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
            for ti in reply["task_instances"]:
                if ti["state"] in ("failed", "up_for_retry"):
                    where = ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) != -1 else "")
                    text = f"DAG {dag_id}, task {where} (try {ti.get('try_number')}): {self.task_error(ti)}"
                    found.append((ti["state"], text))
        return found

    def wait_until_idle(
        self, run_ids: Mapping[str, str], timeout: float = 900.0, settle: float = 10.0, fail_fast: bool = False
    ) -> None:
        """Wait until the given runs are finished and no run is queued or running for ``settle`` s.

        With ``fail_fast``, a task of the given runs that will retry is printed at once (to stderr)
        and the first failed one raises :class:`RunFailed` naming the DAG, the task and its error.
        """
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        told: set[str] = set()
        while time.monotonic() < deadline:
            self._check_alive()
            for state, text in self.task_problems(run_ids) if fail_fast else ():
                if state == "failed":
                    raise RunFailed(text)
                if text not in told:
                    told.add(text)
                    print(f"retrying: {text}", file=sys.stderr, flush=True)
            runs = self.runs()
            by_id = {(r["dag_id"], r["dag_run_id"]): r["state"] for r in runs}
            mine_done = all(by_id.get(key) in TERMINAL_RUN_STATES for key in run_ids.items())
            busy = any(r["state"] not in TERMINAL_RUN_STATES for r in runs)
            if mine_done and not busy:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return
            else:
                quiet_since = None
            time.sleep(2)
        runs = self.runs()
        left = [f"{r['dag_id']} {r['dag_run_id']} {r['state']}" for r in runs if r["state"] not in TERMINAL_RUN_STATES]
        raise StackError(f"runs not finished after {timeout:.0f} s: {'; '.join(left) or 'none busy'}")
