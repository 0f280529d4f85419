"""Telemetry ingest operator: rsync new TM files from the SOC exchange into ``incoming/``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from stix_ops.assets import TM_INCOMING

#: XCom key under which a task lists its data problems (``DataProblem.as_dict()`` each).
DATA_PROBLEMS_XCOM_KEY = "data_problems"


class TMIngestOperator(BaseOperator):
    """Pull TM files that are not yet in the ledger, check them, and ledger them (``stix_lib.stages.ingest``).

    The source is ``tm_source`` of the settings: a local directory when ``tm_source_local`` is
    set (demo, tests), else a directory on the SSH connection ``soc_ssh_conn_id``
    (:class:`~stix_ops.hooks.ssh.RsyncSSHHook`). Files that are not valid telemetry go to the
    quarantine folder. Emits an event on :data:`~stix_ops.assets.TM_INCOMING` carrying the new file
    names; when nothing new arrived the task is skipped, so no event wakes the staging DAG. The
    quarantined files are pushed as XCom ``data_problems`` (before a skip) for
    :class:`DataProblemsOperator`, which mails them and makes the run red.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [TM_INCOMING])
        super().__init__(**kwargs)

    def execute(self, context: Any) -> dict[str, Any]:
        """Run one ingest pass and return its summary (also pushed to XCom)."""
        from stix_lib.stages.ingest import ingest
        from stix_ops.hooks.pipeline import StixPipelineHook
        from stix_ops.hooks.ssh import source_endpoint

        hook = StixPipelineHook()
        settings = hook.settings
        settings.ensure_folders()
        engine = hook.engine
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
        from stix_lib.monitor.data_problems import quarantined_at_ingest

        problems = [quarantined_at_ingest(n, r, settings.quarantine_dir) for n, r in sorted(result.quarantined.items())]
        if context.get("ti") is not None:
            context["ti"].xcom_push(key=DATA_PROBLEMS_XCOM_KEY, value=[p.as_dict() for p in problems])
        for name, reason in result.quarantined.items():
            self.log.error("quarantined %s: %s", name, reason)
        for name, reason in result.deferred.items():
            self.log.warning("deferred %s: %s", name, reason)
        if not result.new_files:
            raise AirflowSkipException("no new telemetry file")
        names = [p.name for p in result.new_files]
        context["outlet_events"][TM_INCOMING].extra = {"files": names}
        return result.as_dict()


class DataProblemsOperator(BaseOperator):
    """Mail the data problems another task found, one mail each, and fail (red run, no second mail).

    Runs when the finding task succeeded or was skipped (``trigger_rule="none_failed"``), so a
    skipped pull (nothing new) still reports the files it quarantined, and a failed pull keeps the
    run failed.

    Parameters
    ----------
    problems
        The problems (``DataProblem.as_dict()`` each), templated: pass the finding task's XCom, e.g.
        ``pull.output[DATA_PROBLEMS_XCOM_KEY]`` (the TM files ``pull_tm`` quarantined); that also
        sets the dependency.
    """

    template_fields = ("problems",)

    def __init__(self, *, problems: Any, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "none_failed")  # the DAG's retries apply: only an SMTP failure is retried
        super().__init__(**kwargs)
        self.problems = problems

    def execute(self, context: Any) -> dict[str, Any]:
        """Mail and fail, or report that there was nothing."""
        from stix_lib.monitor.data_problems import DataProblem
        from stix_ops.notifiers import data_problems_failure, mail_data_problems

        problems = [DataProblem.from_dict(item) for item in self.problems or []]
        if not problems:
            return {"data_problems": 0}
        mail_data_problems(problems)
        raise data_problems_failure(problems)
