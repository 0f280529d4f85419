"""Failure e-mails through the SMTP provider (connection ``smtp_default`` by default)."""

from __future__ import annotations

import html
import logging
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


def describe_failure(context: dict[str, Any]) -> tuple[str, str]:
    """Build (subject, html body) of a failure alert from a task context.

    The subject names the DAG, the task and, for per-file tasks, the TM file (the mapped
    task's rendered map index or the ``tm_file`` param); the body gives the error, the try
    number, the run and the log URL.
    """
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    tm_file = getattr(ti, "rendered_map_index", None) or (context.get("params") or {}).get("tm_file")
    subject = f"[STIX pipeline] FAILED {dag_id}.{task_id}"
    if tm_file:
        subject += f" ({tm_file})"
    error = context.get("exception")
    rows = {
        "DAG": dag_id,
        "Task": task_id,
        "TM file": tm_file or "-",
        "Run": context.get("run_id", "-"),
        "Try": getattr(ti, "try_number", "?"),
        "Error": f"{type(error).__name__}: {error}" if error else "-",
        "Log": getattr(ti, "log_url", "-"),
    }
    body = "<table>" + "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items()
    ) + "</table>"
    return subject, body


class FailureEmailNotifier(BaseNotifier):
    """Send one alert mail per failed task to the ``alert_to`` recipients of the settings.

    Host, port and TLS come from the SMTP connection (``smtp_conn_id`` setting); sender from the
    ``alert_from`` setting. Without recipients it only logs.
    """

    def notify(self, context: dict[str, Any]) -> None:
        """Send the alert for ``context``."""
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        from stix_ops.config import get_settings

        settings = get_settings()
        subject, body = describe_failure(context)
        if not settings.alert_to:
            log.warning("no alert recipients configured (STIX_ALERT_TO); not mailing: %s", subject)
            return
        with SmtpHook(smtp_conn_id=settings.smtp_conn_id) as hook:
            hook.send_email_smtp(
                to=list(settings.alert_to), subject=subject, html_content=body, from_email=settings.alert_from
            )
