"""The stuck-pipeline watch as a trigger: monitor passes in the triggerer, no DAG run per pass.

:class:`PipelineWatchTrigger` runs one monitor pass (:func:`stix_lib.monitor.check.run_check`
with ``notify=False``: backlog sample, window rule, processing deadline, component health,
incidents reconciled) every ``poll_interval`` seconds in a worker thread of the triggerer. It
fires as soon as a pass leaves an alert or recovery mail due (an incident opened or cleared) —
the deferred task then resumes on a worker, which sends the mails — or at ``segment_end`` with a
quiet status, so the task re-defers and the scheduler sees it check in (a dead triggerer makes
the deferral time out on the scheduler side: the task fails and its failure mail goes out).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


async def pipeline_db_url_async(settings: Any) -> str:
    """``stix_ops.config.pipeline_db_url`` for async code: the connection if it exists, else the setting."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import Connection

    from stix_ops.config import sqlalchemy_url_from_connection

    try:
        conn = await Connection.async_get(settings.pipeline_db_conn_id)
    except AirflowNotFoundException:
        return settings.pipeline_db_url
    return sqlalchemy_url_from_connection(conn)


class PipelineWatchTrigger(BaseTrigger):
    """Evaluate the pipeline every ``poll_interval`` s until a mail is due or ``segment_end``.

    Parameters
    ----------
    poll_interval
        Seconds between passes (the old cron period, 15 min).
    segment_end
        ISO time at which to return a quiet event (the task re-defers).
    run_id, own_dag_id, processing_dag_id
        As for :func:`~stix_lib.monitor.check.run_check`.
    """

    def __init__(
        self, *, poll_interval: float, segment_end: str, run_id: str, own_dag_id: str, processing_dag_id: str
    ) -> None:
        super().__init__()
        self.poll_interval = float(poll_interval)
        self.segment_end = segment_end
        self.run_id = run_id
        self.own_dag_id = own_dag_id
        self.processing_dag_id = processing_dag_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "stix_ops.triggers.monitor.PipelineWatchTrigger",
            {
                "poll_interval": self.poll_interval,
                "segment_end": self.segment_end,
                "run_id": self.run_id,
                "own_dag_id": self.own_dag_id,
                "processing_dag_id": self.processing_dag_id,
            },
        )

    def evaluate(self, settings: Any, db_url: str) -> dict[str, Any]:
        """One pass without mails (blocking: run it in a thread)."""
        from stix_lib.db import connect
        from stix_lib.monitor.api import AirflowApi
        from stix_lib.monitor.check import run_check

        with AirflowApi.from_settings(settings) as api:
            report = run_check(
                settings,
                connect(db_url),
                api,
                _no_mail,
                run_id=self.run_id,
                own_dag_id=self.own_dag_id,
                processing_dag_id=self.processing_dag_id,
                notify=False,
            )
        return {
            "at": report.at.isoformat(),
            "backlog": report.backlog,
            "findings": report.findings,
            "opened": report.opened,
            "resolved": report.resolved,
            "due_mails": report.due_mails,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Pass, then fire (mail due, or segment over) or sleep until the next pass."""
        from stix_lib.settings import load_settings

        settings = await asyncio.to_thread(load_settings)
        db_url = await pipeline_db_url_async(settings)
        end = datetime.fromisoformat(self.segment_end)
        passes = 0
        while True:
            outcome = await asyncio.to_thread(self.evaluate, settings, db_url)
            passes += 1
            if outcome["due_mails"]:
                self.log.warning("incident change: opened %s, resolved %s", outcome["opened"], outcome["resolved"])
                yield TriggerEvent({"status": "incident", "passes": passes, **outcome})
                return
            remaining = (end - datetime.now(UTC)).total_seconds()
            if remaining < self.poll_interval:
                yield TriggerEvent({"status": "segment_end", "passes": passes, **outcome})
                return
            await asyncio.sleep(self.poll_interval)


def _no_mail(subject: str, html_body: str) -> None:  # pragma: no cover - run_check(notify=False) never sends
    raise RuntimeError("the watch never sends mail")
