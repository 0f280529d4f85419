"""One monitor pass (every 15 minutes in the triggerer for ``stix_pipeline_watch``; ``stix_pipeline_monitor`` by hand).

A pass

1. counts the ledger: TM files ``staged`` (released to processing, not processed) and ``failed``,
   and those waiting for SPICE kernels (:mod:`stix_lib.monitor.kernel_wait`; shown on their own
   line, not part of the backlog: only arriving kernels move them);
2. asks the Airflow REST API for component health, the number of queued and running task
   instances (the monitor's own excluded) and the runs of the processing DAG that have been
   running longer than ``processing_deadline``;
3. stores a backlog sample (``staged + queued/running tasks``) and evaluates the window rule
   (:mod:`stix_lib.monitor.window`, settings ``monitor_window_samples`` and
   ``monitor_window_min_span``);
4. reconciles the findings with the stored incidents (:mod:`stix_lib.monitor.incidents`);
5. sends the due alert and recovery mails through ``send(subject, html)``, marking each sent
   only when ``send`` returned.

When the REST API cannot be used the pass records an ``airflow_api`` incident, stores no sample
and leaves the other incidents as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from stix_lib.db import ledger
from stix_lib.db.schema import TMState
from stix_lib.monitor import incidents, mails
from stix_lib.monitor.api import AirflowApi, AirflowApiError
from stix_lib.monitor.health import component_statuses, unhealthy_components
from stix_lib.monitor.kernel_wait import KernelWait, waiting_for_kernels
from stix_lib.monitor.samples import aware, record_sample, window_samples
from stix_lib.monitor.window import Verdict, WindowResult, evaluate_window
from stix_lib.settings import Settings

log = logging.getLogger(__name__)

#: The DAG whose runs have a processing deadline (the level-processing DAG).
PROCESSING_DAG_ID = "stix_level_processing"
#: The monitor DAG itself (its own running task is not backlog).
MONITOR_DAG_ID = "stix_pipeline_monitor"

Sender = Callable[[str, str], None]


@dataclass
class CheckReport:
    """Outcome of one pass.

    Attributes
    ----------
    at
        Time of the pass.
    staged, failed
        Ledger counts.
    kernel_wait
        TM files waiting for SPICE kernels (count, oldest); not part of the backlog.
    active_tasks
        Queued plus running task instances (None when the API was unavailable).
    health
        ``{component: status}`` (empty when the API was unavailable).
    window
        The evaluated window (None when no sample was taken).
    findings
        Keys of the problems seen.
    opened, resolved
        Keys of incidents opened and resolved by this pass.
    mails_sent
        Subjects of the mails sent.
    mail_errors
        Mails that could not be sent (retried by the next pass).
    due_mails
        Alert and recovery mails due but not sent (passes with ``notify=False``).
    api_error
        Why the REST API could not be used, if so.
    """

    at: datetime
    staged: int = 0
    failed: int = 0
    kernel_wait: KernelWait = field(default_factory=KernelWait)
    active_tasks: int | None = None
    health: dict[str, str] = field(default_factory=dict)
    window: WindowResult | None = None
    findings: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    mails_sent: list[str] = field(default_factory=list)
    mail_errors: list[str] = field(default_factory=list)
    api_error: str | None = None
    due_mails: int = 0

    @property
    def backlog(self) -> int | None:
        """Staged files plus active tasks (None without API)."""
        return None if self.active_tasks is None else self.staged + self.active_tasks

    def status(self) -> dict[str, Any]:
        """The current facts, as shown in mails."""
        out: dict[str, Any] = {
            "Open files (staged, not processed)": self.staged,
            "Queued/running tasks": "unknown" if self.active_tasks is None else self.active_tasks,
            "Failed TM files": self.failed,
            "Waiting for kernels": self.kernel_wait.text(self.at),
        }
        if self.health:
            out["Airflow components"] = ", ".join(f"{k} {v}" for k, v in self.health.items())
        if self.window is not None:
            out["Backlog window"] = f"{self.window.verdict}: {self.window.reason}"
        return out

    def _window_dict(self) -> dict[str, Any]:
        assert self.window is not None
        return {"verdict": str(self.window.verdict), "reason": self.window.reason, "samples": len(self.window.window)}

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (the task's XCom)."""
        return {
            "at": self.at.isoformat(),
            "staged": self.staged,
            "failed": self.failed,
            "waiting_kernels": self.kernel_wait.as_dict(),
            "active_tasks": self.active_tasks,
            "backlog": self.backlog,
            "health": self.health,
            "window": None if self.window is None else self._window_dict(),
            "findings": self.findings,
            "opened": self.opened,
            "resolved": self.resolved,
            "mails_sent": self.mails_sent,
            "mail_errors": self.mail_errors,
            "api_error": self.api_error,
        }


def _age(start: str | None, now: datetime) -> timedelta | None:
    if not start:
        return None
    return now - aware(datetime.fromisoformat(start.replace("Z", "+00:00")))


def _api_findings(
    api: AirflowApi,
    settings: Settings,
    now: datetime,
    own_dag_id: str,
    processing_dag_id: str,
    report: CheckReport,
) -> list[incidents.Finding]:
    health = api.health()
    active = api.active_task_count(exclude_dag_ids=[own_dag_id])
    overdue = api.dag_runs(processing_dag_id, states=("running",), start_date_lte=now - settings.processing_deadline)
    report.health = component_statuses(health)
    report.active_tasks = active
    found: list[incidents.Finding] = []
    for component, text in unhealthy_components(health).items():
        state = "not running" if text.startswith("not running") else "unhealthy"
        found.append(
            incidents.Finding(
                f"unhealthy:{component}",
                "component_unhealthy",
                f"Airflow {component} {state}",
                {"component": component, "state": text},
            )
        )
    for run in overdue:
        age = _age(run.get("start_date"), now)
        found.append(
            incidents.Finding(
                f"run_overdue:{processing_dag_id}:{run['dag_run_id']}",
                "run_overdue",
                f"{processing_dag_id} run {run['dag_run_id']} running past its deadline",
                {
                    "dag_id": processing_dag_id,
                    "run_id": run["dag_run_id"],
                    "started": run.get("start_date"),
                    "running_for": str(age).split(".")[0] if age else "?",
                    "deadline": str(settings.processing_deadline),
                },
            )
        )
    return found


def run_check(
    settings: Settings,
    engine: Engine,
    api: AirflowApi,
    send: Sender,
    *,
    now: datetime | None = None,
    run_id: str = "",
    own_dag_id: str = MONITOR_DAG_ID,
    processing_dag_id: str = PROCESSING_DAG_ID,
    notify: bool = True,
) -> CheckReport:
    """Run one monitor pass (see the module docstring).

    Parameters
    ----------
    settings
        Window rule (``monitor_window_samples``, ``monitor_window_min_span``) and
        ``processing_deadline``.
    engine
        Pipeline database (ledger, samples, incidents).
    api
        REST API client.
    send
        ``send(subject, html_body)``; must raise when the mail was not accepted.
    now
        Time of the pass (default: now, UTC).
    run_id
        Stored with the sample.
    own_dag_id
        DAG whose task instances are not counted as backlog (the monitor's own).
    processing_dag_id
        DAG whose running runs are checked against ``processing_deadline``.
    notify
        Send the due mails (step 5). False: only count them in ``due_mails`` and leave them due
        (the triggerer's watch evaluates, a worker pass sends).

    Returns
    -------
    CheckReport
    """
    now = aware(now or datetime.now(UTC))
    report = CheckReport(at=now)
    counts = ledger.count_by_state(engine)
    report.staged = counts.get(TMState.STAGED.value, 0)
    report.failed = counts.get(TMState.FAILED.value, 0)
    report.kernel_wait = waiting_for_kernels(engine)
    checked = {"airflow_api"}
    findings: list[incidents.Finding] = []
    try:
        findings += _api_findings(api, settings, now, own_dag_id, processing_dag_id, report)
    except AirflowApiError as exc:
        report.api_error = str(exc)
        report.active_tasks = None
        report.health = {}
        findings.append(
            incidents.Finding(
                "airflow_api", "airflow_api", "Airflow REST API unavailable to the monitor", {"error": str(exc)}
            )
        )
    else:
        checked |= {"component_unhealthy", "run_overdue"}
        record_sample(
            engine,
            now,
            report.staged,
            report.active_tasks or 0,
            failed=report.failed,
            health=report.health,
            run_id=run_id,
        )
        span = settings.monitor_window_min_span
        report.window = evaluate_window(window_samples(engine, now, span), settings.monitor_window_samples, span)
        if report.window.verdict is not Verdict.INSUFFICIENT:
            checked.add("backlog_stuck")
        if report.window.verdict is Verdict.STUCK:
            window = report.window.window
            findings.append(
                incidents.Finding(
                    "backlog_stuck",
                    "backlog_stuck",
                    f"pipeline stuck? backlog {window[-1].backlog} not decreasing for "
                    f"{report.window.span.total_seconds() / 3600:.1f} h",
                    {
                        "rule": f"{settings.monitor_window_samples} samples spanning >= {span}, non-zero, "
                        "never decreasing",
                        "window": f"{window[0].at.isoformat()} .. {window[-1].at.isoformat()} ({len(window)} samples)",
                        "backlog_values": ", ".join(str(s.backlog) for s in window[-12:]),
                    },
                )
            )
    report.findings = [f.key for f in findings]
    transitions = incidents.reconcile(engine, findings, checked, now)
    report.opened = [i.key for i in transitions.opened]
    report.resolved = [i.key for i in transitions.resolved]
    if notify:
        _notify(engine, send, report)
    else:
        report.due_mails = len(incidents.due_alerts(engine)) + len(incidents.due_recoveries(engine))
    return report


def _notify(engine: Engine, send: Sender, report: CheckReport) -> None:
    status: Mapping[str, Any] = report.status()
    for incident in incidents.due_alerts(engine):
        subject, body = mails.alert_mail(incident, status)
        try:
            send(subject, body)
        except Exception as exc:  # any mail failure: retried by the next pass
            log.error("alert mail %r not sent: %s", subject, exc)
            report.mail_errors.append(f"{subject}: {exc}")
            continue
        incidents.mark_alert_sent(engine, incident.id, datetime.now(UTC))
        report.mails_sent.append(subject)
    for incident in incidents.due_recoveries(engine):
        subject, body = mails.recovery_mail(incident, status)
        try:
            send(subject, body)
        except Exception as exc:  # retried by the next pass
            log.error("recovery mail %r not sent: %s", subject, exc)
            report.mail_errors.append(f"{subject}: {exc}")
            continue
        incidents.mark_recovery_sent(engine, incident.id, datetime.now(UTC))
        report.mails_sent.append(subject)
