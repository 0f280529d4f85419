"""The pipeline's settings and database as one Airflow hook (what every STIX task starts from)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from stix_lib.settings import Settings


class StixPipelineHook(BaseHook):
    """Settings (``$STIX_CONFIG`` + ``STIX_*``) and the pipeline database engine of one task.

    Everything is resolved lazily, when a task, sensor poke or callback first asks — never at DAG
    parse time. The database is the Airflow connection named by the ``pipeline_db_conn_id``
    setting (default ``stix_pipeline_db``) when it exists, else the ``pipeline_db_url`` setting.
    The engine's schema is migrated once per process (:func:`stix_lib.db.connect`), so a sensor
    poking every few minutes does not run the migration check on every poke.

    Parameters
    ----------
    settings
        Use these settings instead of loading them (e.g. with a Param override applied).
    **kwargs
        Passed to :class:`airflow.sdk.BaseHook`.

    Examples
    --------
    >>> hook = StixPipelineHook()  # doctest: +SKIP
    >>> stage(hook.settings, hook.engine)  # doctest: +SKIP
    """

    conn_name_attr = "pipeline_db_conn_id"
    default_conn_name = "stix_pipeline_db"
    hook_name = "STIX pipeline"

    def __init__(self, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        """The pipeline settings (loaded on first use)."""
        if self._settings is None:
            from stix_ops.config import get_settings

            self._settings = get_settings()
        return self._settings

    @property
    def pipeline_db_conn_id(self) -> str:
        """Airflow connection id of the pipeline database (setting ``pipeline_db_conn_id``)."""
        return self.settings.pipeline_db_conn_id

    @property
    def db_url(self) -> str:
        """SQLAlchemy URL of the pipeline database: the Airflow connection if it exists, else the setting."""
        from stix_ops.config import pipeline_db_url

        return pipeline_db_url(self.settings)

    @property
    def engine(self) -> Engine:
        """Engine of the pipeline database, schema migrated (once per process)."""
        if self._engine is None:
            from stix_lib.db import connect

            self._engine = connect(self.db_url)
        return self._engine

    def get_conn(self) -> Engine:
        """The engine (:attr:`engine`), Airflow's hook protocol."""
        return self.engine
