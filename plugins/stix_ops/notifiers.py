"""Pipeline mails through the SMTP provider (connection ``smtp_default`` by default).

* :class:`FailureEmailNotifier` — the one failure mail per failed task (shared ``default_args``);
* :func:`send_mail` — any pipeline mail (the monitor's alerts and recoveries use it);
* :func:`deadline_missed_mail` — ``AsyncCallback`` of a ``DeadlineAlert`` (runs in the triggerer).

Host, port, TLS and login come from the SMTP connection (setting ``smtp_conn_id``), sender and
recipients from the settings ``alert_from`` and ``alert_to``. Airflow's own ``email_on_failure``
stays off everywhere, so a failed task produces exactly one mail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseNotifier
from airflow.sdk.exceptions import AirflowFailException

from stix_lib.monitor.mails import SUBJECT_PREFIX, table

log = logging.getLogger(__name__)

#: XCom key a per-file task may push (before it can fail) to name its TM file in the failure mail.
TM_FILE_XCOM_KEY = "tm_file"


def _tm_file(context: Mapping[str, Any], ti: Any) -> str | None:
    """The TM file a failed task worked on: rendered map index, ``tm_file`` param, or ``tm_file`` XCom."""
    rendered = getattr(ti, "rendered_map_index", None)
    if rendered:
        return str(rendered)
    params = context.get("params") or {}
    if params.get("tm_file"):
        return str(params["tm_file"])
    pull = getattr(ti, "xcom_pull", None)
    if pull is None:
        return None
    try:
        kwargs: dict[str, Any] = {"task_ids": ti.task_id, "key": TM_FILE_XCOM_KEY}
        if getattr(ti, "map_index", -1) not in (None, -1):
            kwargs["map_indexes"] = ti.map_index
        value = pull(**kwargs)
    except Exception as exc:  # the mail must go out even when XCom is unavailable (e.g. DAG-processor path)
        log.debug("no tm_file XCom: %s", exc)
        return None
    return str(value) if value else None


def describe_failure(context: Mapping[str, Any]) -> tuple[str, str]:
    """Build (subject, html body) of a failure alert from a task context.

    The subject names the DAG, the task and, for per-file tasks, the TM file (the mapped task's
    rendered map index, else the ``tm_file`` param, else a ``tm_file`` XCom pushed by the task);
    the body gives the error, the try number (of the allowed tries), the run and the log URL.

    Parameters
    ----------
    context
        The Airflow task context of the failure callback.

    Returns
    -------
    tuple of str
        Subject and HTML body.
    """
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    tm_file = _tm_file(context, ti)
    subject = f"{SUBJECT_PREFIX} FAILED {dag_id}.{task_id}"
    if tm_file:
        subject += f" ({tm_file})"
    elif map_index not in (None, -1):
        subject += f" [map index {map_index}]"
    error = context.get("exception")
    if isinstance(error, BaseException):
        error_text = f"{type(error).__name__}: {error}"
    else:
        error_text = str(error) if error else "-"
    try_number = getattr(ti, "try_number", None)
    max_tries = getattr(ti, "max_tries", None)
    task = context.get("task")
    if max_tries is None and task is not None:
        max_tries = getattr(task, "retries", None)
    try_text = f"{try_number} of {max_tries + 1}" if try_number is not None and max_tries is not None else try_number
    rows = {
        "DAG": dag_id,
        "Task": task_id,
        "TM file": tm_file or "-",
        "Map index": map_index if map_index not in (None, -1) else "-",
        "Run": context.get("run_id", "-"),
        "Try": try_text if try_text is not None else "?",
        "Error": error_text,
        "Log": getattr(ti, "log_url", None) or "-",
    }
    return subject, table(rows)


def send_mail(subject: str, html_body: str) -> None:
    """Send one pipeline mail to ``alert_to`` from ``alert_from`` through the SMTP connection.

    Without recipients it only logs a warning. SMTP errors propagate (the caller decides whether
    to retry).

    Parameters
    ----------
    subject
        Mail subject.
    html_body
        HTML body.
    """
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from stix_ops.config import get_settings

    settings = get_settings()
    if not settings.alert_to:
        log.warning("no alert recipients configured (STIX_ALERT_TO); not mailing: %s", subject)
        return
    with SmtpHook(smtp_conn_id=settings.smtp_conn_id) as hook:
        hook.send_email_smtp(
            to=list(settings.alert_to), subject=subject, html_content=html_body, from_email=settings.alert_from
        )


class DataProblemsReported(AirflowFailException):
    """A task failed because of data problems that were already mailed one by one (no failure mail)."""


def mail_data_problems(problems: list[Any]) -> None:
    """Send one mail per :class:`~stix_lib.monitor.data_problems.DataProblem` (SMTP errors propagate)."""
    for problem in problems:
        log.error("%s: %s", problem.subject, problem.reason)
        send_mail(problem.subject, problem.html())


def data_problems_failure(problems: list[Any]) -> DataProblemsReported:
    """The exception that fails a task after :func:`mail_data_problems` (red run, no retry, no second mail)."""
    names = ", ".join(f"{p.file} ({p.kind})" for p in problems)
    return DataProblemsReported(f"{len(problems)} data problem(s), one mail each: {names}")


class FailureEmailNotifier(BaseNotifier):
    """Send one alert mail per failed task (after its last try) to the ``alert_to`` recipients.

    Used as ``on_failure_callback`` by :func:`stix_ops.defaults.default_args`; retries do not mail
    (that would be ``on_retry_callback``). See :func:`describe_failure` for the content.
    """

    def notify(self, context: dict[str, Any]) -> None:
        """Send the alert for ``context`` (not for :class:`DataProblemsReported`: those were mailed already)."""
        if isinstance(context.get("exception"), DataProblemsReported):
            return
        subject, body = describe_failure(context)
        send_mail(subject, body)


def describe_deadline_miss(context: Mapping[str, Any] | None) -> tuple[str, str]:
    """Subject and body of a missed-deadline mail from the simple context of a deadline callback.

    Parameters
    ----------
    context
        ``{"dag_run": {...REST DAG-run fields...}, "deadline": {"id", "deadline_time"}}``.
    """
    context = context or {}
    run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    dag_id = run.get("dag_id", "?")
    run_id = run.get("dag_run_id") or run.get("run_id") or "?"
    subject = f"{SUBJECT_PREFIX} DEADLINE MISSED {dag_id} run {run_id}"
    rows = {
        "DAG": dag_id,
        "Run": run_id,
        "State": run.get("state", "?"),
        "Queued at": run.get("queued_at") or "-",
        "Started": run.get("start_date") or "-",
        "Deadline": deadline.get("deadline_time", "?"),
    }
    body = table(rows) + "<p>The run did not finish in time. The pipeline monitor keeps watching it.</p>"
    return subject, body


async def deadline_missed_mail(context: dict[str, Any] | None = None, **kwargs: Any) -> str:
    """``AsyncCallback`` for a ``DeadlineAlert``: mail the missed deadline (runs in the triggerer).

    Uses the SMTP hook's asynchronous client, so no thread touches the triggerer's connection
    lookup. Returns the subject (recorded by Airflow as the callback result).

    Parameters
    ----------
    context
        The simple context Airflow passes to deadline callbacks.
    **kwargs
        Ignored (callback kwargs of the DAG, if any).
    """
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from stix_ops.config import get_settings

    settings = get_settings()
    subject, body = describe_deadline_miss(context)
    if not settings.alert_to:
        log.warning("no alert recipients configured (STIX_ALERT_TO); not mailing: %s", subject)
        return subject
    async with SmtpHook(smtp_conn_id=settings.smtp_conn_id) as hook:
        await hook.asend_email_smtp(
            to=list(settings.alert_to), subject=subject, html_content=body, from_email=settings.alert_from
        )
    return subject
