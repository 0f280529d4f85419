"""The production stack without Docker: PostgreSQL, Redis, CeleryExecutor, FAB, two workers.

``python -m stix_ops.dev.prodstack up``    start the stack over the demo data and keep it up until
                                      Ctrl-C (prints URL and login)
``python -m stix_ops.dev.prodstack e2e``   the demo scenario (``stix_ops.dev.demo``) on the stack, with the
                                      SOC exchange, SOAR and the NAS behind a loopback sshd: run
                                      the demo DAGs in pipeline order, print the summary with the
                                      workers that ran tasks, stop everything; exit 1 on errors

The shape is the one of ``docker-compose.yaml``: PostgreSQL holds the Airflow metadata DB and the
pipeline DB (connection ``stix_pipeline_db``), Redis is the Celery broker, the result backend is
the metadata DB, every component shares one JWT secret, API secret key and execution-API URL, the
FAB auth manager with an admin made by ``airflow users create``. PostgreSQL and Redis are the
Debian servers, run privately by :mod:`stix_ops.dev.localservices`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from stix_ops.dev.localstack import REPO, LocalStack, StackConfig

PROD_ROOT = REPO / "build" / "prodstack"
EXECUTOR = "CeleryExecutor"
AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
HOSTNAME_CALLABLE = "stix_ops.dev.localstack.worker_hostname"
WORKERS = 2
METADATA_DB = "airflow"
PIPELINE_DB = "stix_pipeline"


class ProdStack:
    """PostgreSQL + Redis + the Airflow components + ``workers`` Celery workers under ``root``."""

    def __init__(self, root: Path, extra_env: dict[str, str] | None = None, workers: int = WORKERS) -> None:
        self.root = root
        self.extra_env = dict(extra_env or {})
        self.workers = workers
        self.postgres: Any = None
        self.redis: Any = None
        self.stack: LocalStack | None = None

    def config(self) -> StackConfig:
        """The Airflow configuration of the stack (services must be running)."""
        pg, redis = self.postgres, self.redis
        env = {
            "AIRFLOW__CELERY__BROKER_URL": redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + pg.url(METADATA_DB, driver=False),
            "AIRFLOW_CONN_STIX_PIPELINE_DB": pg.url(PIPELINE_DB, driver=False),
            "STIX_PIPELINE_DB_URL": pg.url(PIPELINE_DB),
            **self.extra_env,
        }
        return StackConfig(
            home=self.root / "airflow-home",
            sql_alchemy_conn=pg.url(METADATA_DB),
            executor=EXECUTOR,
            auth_manager=AUTH_MANAGER,
            hostname_callable=HOSTNAME_CALLABLE,
            extra_env=env,
        )

    def start(self) -> LocalStack:
        """Start the services, migrate, create the admin, start Airflow; wait until healthy."""
        from stix_ops.dev.localservices import PostgresServer, RedisServer

        self.root.mkdir(parents=True, exist_ok=True)
        # its own directory outside ``root``: a root-run postgres must be able to enter it (pytest's
        # basetemp is 0700); PostgresServer.stop removes it
        self.postgres = PostgresServer(Path(tempfile.mkdtemp(prefix="stix-prodstack-pg-"))).start()
        self.postgres.create_database(METADATA_DB)
        self.postgres.create_database(PIPELINE_DB)
        self.redis = RedisServer(self.root / "redis").start()
        stack = self.stack = LocalStack(self.config())
        stack.prepare()  # airflow db migrate (Airflow and FAB tables)
        stack.airflow(
            "users", "create", "--username", "admin", "--password", stack.config.admin_password,
            "--role", "Admin", "--firstname", "STIX", "--lastname", "Admin", "--email", "admin@stix.invalid",
        )  # fmt: skip
        stack.start(workers=self.workers)
        stack.wait_healthy(components=("scheduler", "dag_processor", "triggerer"))
        return stack

    def stop(self) -> None:
        """Stop Airflow, then Redis and PostgreSQL."""
        if self.stack is not None:
            self.stack.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def __enter__(self) -> ProdStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def task_hostnames(stack: LocalStack) -> dict[str, int]:
    """Finished task instances per ``hostname`` (the worker that ran them), from the REST API."""
    reply = stack.api("GET", "dags/~/dagRuns/~/taskInstances", params={"limit": 1000, "state": ["success", "failed"]})
    counts: dict[str, int] = {}
    for ti in reply["task_instances"]:
        counts[ti.get("hostname") or ""] = counts.get(ti.get("hostname") or "", 0) + 1
    return counts


def access_without_login(stack: LocalStack) -> dict[str, int]:
    """HTTP status of the REST API without a token and of a token request with a wrong password.

    (The UI's HTML shell is public; the single-page app gets its data from this API.)
    """
    import httpx

    base = stack.config.api_url
    wrong = {"username": "admin", "password": stack.config.admin_password + "x"}
    return {
        "api": httpx.get(f"{base}/api/v2/dags", timeout=30).status_code,
        "token with a wrong password": httpx.post(f"{base}/auth/token", json=wrong, timeout=30).status_code,
    }


def remote_env(root: Path, ssh: Any) -> dict[str, str]:
    """``STIX_*`` settings and connections that put the SOC exchange, SOAR and the NAS behind ``ssh``.

    The demo's SOC folders under ``root`` are read over SSH (rsync, connection ``stix_soc``), SOAR
    deliveries go over SFTP (``stix_soar``) to ``root/soar-server/esa`` and the FITS mirror over
    rsync (``stix_nas``) to ``root/nas-server/stixcore_fits``; every connection pins the host key.
    """
    conn = json.dumps(ssh.connection())
    soar = root / "soar-server" / "esa"
    soar.mkdir(parents=True, exist_ok=True)
    return {
        "STIX_TM_SOURCE_LOCAL": "false",
        "STIX_FROM_SOC_SOURCE_LOCAL": "false",
        "AIRFLOW_CONN_STIX_SOC": conn,
        "STIX_SOAR_HOST": "127.0.0.1",
        "STIX_SOAR_TARGET_DIR": str(soar),
        "AIRFLOW_CONN_STIX_SOAR": conn,
        "STIX_NAS_HOST": "127.0.0.1",
        "STIX_NAS_MIRROR_DIR": str(root / "nas-server" / "stixcore_fits"),
        "AIRFLOW_CONN_STIX_NAS": conn,
    }


def run_scenario(root: Path, reference: Path) -> dict[str, Any]:
    """The demo scenario on a fresh production stack under ``root``; return the demo summary + workers.

    Unlike ``make demo``, telemetry and kernels come from a loopback OpenSSH server (the SOC
    exchange), and SOAR publishing and the NAS mirror go to it (:func:`remote_env`).
    """
    from stix_lib.db import connect
    from stix_ops.dev import demo
    from stix_ops.dev.localservices import SshServer

    shutil.rmtree(root, ignore_errors=True)
    demo.prepare_data(root, reference)
    ssh = SshServer(Path(tempfile.mkdtemp(prefix="stix-prodstack-sshd-"))).start()
    try:
        env = {**demo.demo_env(root, reference), **remote_env(root, ssh)}
        with ProdStack(root, extra_env=env) as prod:
            stack = prod.start()
            print(f"Airflow home {stack.config.home}; logs in {stack.log_dir}", flush=True)
            demo.run_chain(stack)
            pipeline_url = prod.postgres.url(PIPELINE_DB)
            key_body = ssh.client_key.read_text().splitlines()[-3]  # base64 line with the private part
            secret_values = {"PostgreSQL password": prod.postgres.password, "SSH private key": key_body}
            summary = demo.summarize(stack, {**env, "STIX_PIPELINE_DB_URL": pipeline_url}, secret_values)
            summary["workers"] = task_hostnames(stack)
            summary["access_without_login"] = access_without_login(stack)
            summary["pipeline_db"] = connect(pipeline_url).dialect.name
    finally:
        ssh.stop()
        shutil.rmtree(ssh.root, ignore_errors=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line of the production stack."""
    from stix_ops.dev import demo

    parser = argparse.ArgumentParser(prog="python -m stix_ops.dev.prodstack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "e2e"])
    parser.add_argument("--root", type=Path, default=PROD_ROOT)
    args = parser.parse_args(argv)
    reference = demo._reference()
    if args.command == "e2e":
        started = time.monotonic()
        summary = run_scenario(args.root, reference)
        summary_file = args.root.parent / "prodstack-summary.json"
        summary_file.write_text(json.dumps(summary, indent=2))
        demo.print_summary(summary, summary_file, time.monotonic() - started)
        print(f"Task instances per worker: {summary['workers']}")
        return 1 if summary["errors"] else 0
    demo.handle_stop_signals()
    demo.prepare_data(args.root, reference)
    with ProdStack(args.root, extra_env=demo.demo_env(args.root, reference)) as prod:
        demo.serve_until_interrupted(prod.start())
    return 0


if __name__ == "__main__":
    sys.exit(main())
