"""Pipeline mails: the monitor's alert and recovery mails, and the MIME message every pipeline mail is sent as.

Bodies are written as small HTML (tables of label/value rows, paragraphs); :func:`build_message`
sends each as ``multipart/alternative`` with a plain-text part derived from the HTML
(:func:`html_to_text`), so text-only mail readers and pagers get the same content.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html.parser import HTMLParser
from typing import Any

from stix_lib.monitor.incidents import Incident

SUBJECT_PREFIX = "[STIX pipeline]"
#: Mail policy: headers up to RFC 5322's 998 characters stay on one line (folding a long subject at
#: its start leaves a leading space in what many readers, and Python's parser, show).
MAIL_POLICY = policy.default.clone(max_line_length=998)

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


class _TextRenderer(HTMLParser):
    """Plain text of the pipeline's mail HTML: one ``label: value`` line per table row, blank line per paragraph."""

    _BREAKS = {"p", "table", "pre", "div", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._pre = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.out.append("\n\n")
        elif tag in ("tr", "br", "li"):
            self.out.append("\n- " if tag == "li" else "\n")
        elif tag == "td":
            self.out.append(": ")
        elif tag == "a":
            self._href = dict(attrs).get("href")
        if tag == "pre":
            self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._pre -= 1
        if tag in self._BREAKS:
            self.out.append("\n\n")
        elif tag == "a" and self._href:
            self.out.append(f" <{self._href}>")
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._pre:
            data = re.sub(r"\s+", " ", data)
            if not self.out or self.out[-1].endswith(("\n", " ")):
                data = data.lstrip()
        self.out.append(data)


def html_to_text(body: str) -> str:
    """The plain-text part of a mail whose HTML body is built from :func:`table` and paragraphs.

    Parameters
    ----------
    body
        HTML body.

    Returns
    -------
    str
        Text with one ``Label: value`` line per table row and blank lines between blocks.
    """
    renderer = _TextRenderer()
    renderer.feed(body)
    renderer.close()
    text = "\n".join(line.rstrip() for line in "".join(renderer.out).splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def build_message(
    subject: str, html_body: str, sender: str, recipients: Sequence[str], text_body: str | None = None
) -> EmailMessage:
    """A pipeline mail: ``multipart/alternative`` with a plain-text part and the HTML part.

    Parameters
    ----------
    subject
        Subject (give it the :data:`SUBJECT_PREFIX`).
    html_body
        HTML body.
    sender
        ``From`` address.
    recipients
        ``To`` addresses (at least one).
    text_body
        Plain-text part; default: :func:`html_to_text` of ``html_body``.

    Raises
    ------
    ValueError
        Without recipients.
    """
    if not recipients:
        raise ValueError("a pipeline mail needs at least one recipient")
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text_body if text_body is not None else html_to_text(html_body))
    message.add_alternative(html_body, subtype="html")
    return message


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
        body += f"<p>Next step: {html.escape(HINTS[incident.kind])}</p>"
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
