"""Settings and the pipeline database as seen from inside Airflow tasks."""

from __future__ import annotations

import logging

from stix_lib.settings import Settings, load_settings

log = logging.getLogger(__name__)


def get_settings() -> Settings:
    """Load the pipeline settings (``$STIX_CONFIG`` file plus ``STIX_*`` environment).

    Call this inside task code or callbacks, never at DAG parse time.
    """
    return load_settings()


def sqlalchemy_url_from_connection(conn) -> str:
    """Turn an Airflow Connection into a SQLAlchemy URL.

    A connection may carry the URL explicitly in its extra ``sqlalchemy_url``; otherwise
    ``postgres`` connections map to ``postgresql+psycopg2://`` and ``sqlite`` ones to a file URL.
    """
    extra = conn.extra_dejson or {}
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    if conn.conn_type in {"postgres", "postgresql"}:
        from sqlalchemy.engine import URL

        return URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        ).render_as_string(hide_password=False)
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    raise ValueError(f"connection {conn.conn_id!r}: cannot build a database URL from type {conn.conn_type!r}")


def pipeline_db_url(settings: Settings) -> str:
    """The pipeline database URL: the Airflow connection if it exists, else the setting."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import Connection

    try:
        conn = Connection.get(settings.pipeline_db_conn_id)
    except AirflowNotFoundException:
        return settings.pipeline_db_url
    return sqlalchemy_url_from_connection(conn)
