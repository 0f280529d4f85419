"""Telemetry ingest operator: rsync new TM files from the SOC exchange into ``incoming/``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from stix_ops.assets import TM_INCOMING


class TMIngestOperator(BaseOperator):
    """Pull TM files that are not yet in the ledger, check them, and ledger them (``stix_lib.ingest``).

    The source is ``tm_source`` of the settings: a local directory when ``tm_source_local`` is
    set (demo, tests), else a directory on the SSH connection ``soc_ssh_conn_id``
    (:class:`~stix_ops.hooks.ssh.RsyncSSHHook`). Files that are not valid telemetry go to the
    quarantine folder. Emits an event on :data:`~stix_ops.assets.TM_INCOMING` carrying the new file
    names; when nothing new arrived the task is skipped, so no event wakes the staging DAG.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [TM_INCOMING])
        super().__init__(**kwargs)

    def execute(self, context: Any) -> dict[str, Any]:
        """Run one ingest pass and return its summary (also pushed to XCom)."""
        from stix_lib.ingest import ingest
        from stix_ops.config import get_settings, pipeline_engine
        from stix_ops.hooks.ssh import source_endpoint

        settings = get_settings()
        settings.ensure_folders()
        engine = pipeline_engine(settings)
        with source_endpoint(settings, local=settings.tm_source_local, conn_id=settings.soc_ssh_conn_id) as ssh:
            result = ingest(settings, engine, ssh)
        self.log.info(
            "listed %d, new %d, already known %d, quarantined %d, deferred %d",
            result.listed,
            len(result.new_files),
            result.skipped_known,
            len(result.quarantined),
            len(result.deferred),
        )
        for name, reason in result.quarantined.items():
            self.log.error("quarantined %s: %s", name, reason)
        for name, reason in result.deferred.items():
            self.log.warning("deferred %s: %s", name, reason)
        if not result.new_files:
            raise AirflowSkipException("no new telemetry file")
        names = [p.name for p in result.new_files]
        context["outlet_events"][TM_INCOMING].extra = {"files": names}
        return result.as_dict()
