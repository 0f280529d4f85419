"""docker-compose.yaml and the production stack without Docker (stix_ops.dev.prodstack) agree on the essentials.

Both files are parsed: the ``x-airflow-common`` environment of the compose file (+ ``.env.example``
for the values it takes from ``.env``) and the environment ``ProdStack`` gives every component.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SHARED_SECRETS = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_ISSUER")


@pytest.fixture(scope="module")
def compose_env() -> dict[str, str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    return {key: str(value) for key, value in compose["x-airflow-common"]["environment"].items()}


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip().strip("'")
    return values


@pytest.fixture(scope="module")
def prod_env(tmp_path_factory) -> dict[str, str]:
    """The environment of every prodstack component (services described, not started)."""
    from stix_ops.dev.demo import demo_env
    from stix_ops.dev.localservices import PostgresServer, RedisServer
    from stix_ops.dev.localstack import LocalStack
    from stix_ops.dev.prodstack import ProdStack

    root = tmp_path_factory.mktemp("prodstack")
    prod = ProdStack(root, extra_env=demo_env(root, root / "reference"))
    prod.postgres = PostgresServer(root / "postgres")
    prod.redis = RedisServer(root / "redis")
    return LocalStack(prod.config()).env()


def test_executor_and_auth_manager_agree(compose_env, prod_env):
    assert compose_env["AIRFLOW__CORE__EXECUTOR"] == prod_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert compose_env["AIRFLOW__CORE__AUTH_MANAGER"] == prod_env["AIRFLOW__CORE__AUTH_MANAGER"]
    assert prod_env["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".FabAuthManager")


def test_shared_jwt_and_secret_key_variables_in_both(compose_env, prod_env):
    for name in SHARED_SECRETS:
        assert name in compose_env, name
        assert prod_env.get(name), name
    assert len(prod_env["AIRFLOW__API_AUTH__JWT_SECRET"]) >= 32


def test_execution_api_path_agrees(compose_env, prod_env):
    compose_url = urlsplit(compose_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    prod_url = urlsplit(prod_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert compose_url.path == prod_url.path == "/execution/"
    # the execution API is served by the stack's own api-server
    assert f"{prod_url.scheme}://{prod_url.netloc}" == prod_env["AIRFLOW__API__BASE_URL"]


def test_metadata_db_and_celery_backends_agree(compose_env, prod_env):
    for name in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CELERY__BROKER_URL",
    ):
        assert urlsplit(compose_env[name]).scheme == urlsplit(prod_env[name]).scheme, name
    assert urlsplit(prod_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).scheme == "postgresql+psycopg2"
    assert urlsplit(prod_env["AIRFLOW__CELERY__BROKER_URL"]).scheme == "redis"


def test_pipeline_db_is_a_postgres_connection_in_both(compose_env, env_example, prod_env):
    from airflow.models.connection import Connection

    assert "AIRFLOW_CONN_STIX_PIPELINE_DB" in compose_env
    compose_conn = json.loads(env_example["AIRFLOW_CONN_STIX_PIPELINE_DB"])
    prod_conn = Connection(conn_id="stix_pipeline_db", uri=prod_env["AIRFLOW_CONN_STIX_PIPELINE_DB"])
    assert compose_conn["conn_type"] == "postgres"
    assert prod_conn.conn_type in {"postgres", "postgresql"}
    assert prod_conn.schema == compose_conn["schema"] == "stix_pipeline"
    # the metadata DB is a different database on the same server
    assert urlsplit(prod_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).path != "/stix_pipeline"
    assert urlsplit(env_example["STIX_PIPELINE_DB_URL"]).path == urlsplit(prod_env["STIX_PIPELINE_DB_URL"]).path


def test_data_root_is_set_in_both(compose_env, prod_env):
    assert compose_env["STIX_DATA_ROOT"] and prod_env["STIX_DATA_ROOT"]
    for name in ("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "AIRFLOW__CORE__LOAD_EXAMPLES"):
        assert compose_env[name].lower() == prod_env[name].lower(), name


def test_pinned_celery_works_with_the_celery_provider():
    """celery 5.7 dropped ``celery.backends.database.retry``, which the provider's worker imports."""
    from airflow.providers.celery.executors import celery_executor_utils

    assert callable(celery_executor_utils.execute_workload)
