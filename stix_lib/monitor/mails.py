"""Subject and HTML body of the monitor's alert and recovery mails."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from stix_lib.monitor.incidents import Incident

SUBJECT_PREFIX = "[STIX pipeline]"

#: What the on-call person should look at first, per incident kind.
HINTS: dict[str, str] = {
    "backlog_stuck": "Open files are not going down: check the processing DAG runs and their task logs, "
    "the workers, pools and `stix-pipeline status`.",
    "run_overdue": "A processing run is past its deadline: look at its running tasks and their logs in the UI.",
    "component_unhealthy": "An Airflow component stopped heart-beating: check its container/process and logs.",
    "airflow_api": "The monitor cannot use the Airflow REST API: check the api-server, the URL "
    "(airflow_api_url) and the credentials (airflow_api_user, STIX_AIRFLOW_API_PASSWORD).",
}


def table(rows: Mapping[str, Any]) -> str:
    """An HTML table of ``{label: value}`` (values escaped)."""
    cells = "".join(
        f"<tr><th align='left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def alert_mail(incident: Incident, status: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Subject and body announcing a new incident.

    Parameters
    ----------
    incident
        The incident.
    status
        Current facts for the body (backlog, health, ...).
    """
    subject = f"{SUBJECT_PREFIX} ALERT {incident.summary}"
    rows: dict[str, Any] = {"Incident": incident.key, "Opened": _when(incident.opened_at)}
    rows.update({k.replace("_", " ").capitalize(): v for k, v in incident.details.items()})
    body = f"<p>{html.escape(incident.summary)}</p>" + table(rows)
    if status:
        body += "<p>Pipeline now:</p>" + table(status)
    if incident.kind in HINTS:
        body += f"<p>{html.escape(HINTS[incident.kind])}</p>"
    body += "<p>One mail per incident; a recovery mail follows when it clears.</p>"
    return subject, body


def recovery_mail(incident: Incident, status: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Subject and body announcing that an incident cleared."""
    resolved = incident.resolved_at or incident.last_seen_at
    duration = resolved - incident.opened_at
    subject = f"{SUBJECT_PREFIX} RECOVERED {incident.summary}"
    rows = {
        "Incident": incident.key,
        "Opened": _when(incident.opened_at),
        "Resolved": _when(incident.resolved_at),
        "Duration": str(duration).split(".")[0],
    }
    body = f"<p>Cleared: {html.escape(incident.summary)}</p>" + table(rows)
    if status:
        body += "<p>Pipeline now:</p>" + table(status)
    return subject, body
