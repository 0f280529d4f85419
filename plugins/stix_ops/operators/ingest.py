"""Telemetry ingest operator: rsync new TM files from the SOC exchange into ``incoming/``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from stix_ops.assets import TM_INCOMING


class TMIngestOperator(BaseOperator):
    """Pull TM files that are not yet in the ledger and record them as ``incoming``.

    The source is ``tm_source`` of the settings: a local directory when ``tm_source_local`` is
    set (demo, tests), else a directory on the SSH connection ``soc_ssh_conn_id``. Emits an
    event on :data:`~stix_ops.assets.TM_INCOMING` carrying the new file names.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [TM_INCOMING])
        super().__init__(**kwargs)

    def execute(self, context: Any) -> dict[str, Any]:
        """Run one ingest pass and return its summary (also pushed to XCom)."""
        from stix_lib.ingest import ingest
        from stix_ops.config import get_settings, pipeline_engine

        settings = get_settings()
        settings.ensure_folders()
        if not settings.tm_source_local:
            raise NotImplementedError("remote (SSH) telemetry sources are configured through stix_soc")
        result = ingest(settings, pipeline_engine(settings))
        self.log.info(
            "listed %d, new %d, already known %d", result.listed, len(result.new_files), result.skipped_known
        )
        names = [p.name for p in result.new_files]
        context["outlet_events"][TM_INCOMING].extra = {"files": names}
        return result.as_dict()
