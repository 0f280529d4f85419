"""Pipeline monitor operator: one pass of :func:`stix_lib.monitor.check.run_check`."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator


class PipelineMonitorOperator(BaseOperator):
    """Sample the backlog, check health and deadlines, open/resolve incidents, mail alerts and recoveries.

    The ledger comes from the pipeline database (connection ``stix_pipeline_db`` or the
    ``pipeline_db_url`` setting); task counts, component health and overdue processing runs from
    the Airflow REST API v2 (``airflow_api_url``, ``airflow_api_user``, password
    ``$STIX_AIRFLOW_API_PASSWORD``); mails go through :func:`stix_ops.notifiers.send_mail`. The task
    fails when a due mail could not be sent (it stays due and is sent by the retry or the next run).

    Parameters
    ----------
    processing_dag_id
        DAG whose running runs are held against the ``processing_deadline`` setting.
    **kwargs
        Passed to :class:`BaseOperator`.
    """

    def __init__(self, *, processing_dag_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from stix_lib.monitor.check import PROCESSING_DAG_ID

        self.processing_dag_id = processing_dag_id or PROCESSING_DAG_ID

    def execute(self, context: Any) -> dict[str, Any]:
        """Run one pass and return its report (also the XCom)."""
        from stix_lib.monitor.api import AirflowApi
        from stix_lib.monitor.check import run_check
        from stix_ops.hooks.pipeline import StixPipelineHook
        from stix_ops.notifiers import send_mail

        hook = StixPipelineHook()
        settings = hook.settings
        engine = hook.engine
        with AirflowApi.from_settings(settings) as api:
            report = run_check(
                settings,
                engine,
                api,
                send_mail,
                run_id=context["run_id"],
                own_dag_id=self.dag_id,
                processing_dag_id=self.processing_dag_id,
            )
        self.log.info(
            "backlog %s (staged %d, queued/running tasks %s, failed %d); health %s; window %s",
            report.backlog,
            report.staged,
            report.active_tasks,
            report.failed,
            report.health or "unknown",
            f"{report.window.verdict}: {report.window.reason}" if report.window else "not evaluated",
        )
        self.log.info("waiting for kernels: %s", report.kernel_wait.text(report.at))
        if report.api_error:
            self.log.error("Airflow REST API: %s", report.api_error)
        for key in report.opened:
            self.log.warning("incident opened: %s", key)
        for key in report.resolved:
            self.log.info("incident resolved: %s", key)
        for subject in report.mails_sent:
            self.log.info("mailed: %s", subject)
        if report.mail_errors:
            raise RuntimeError("monitor mails not sent (retried next run): " + "; ".join(report.mail_errors))
        return report.as_dict()
