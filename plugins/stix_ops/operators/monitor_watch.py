"""The monitor DAG's watch: defer to :class:`~stix_ops.triggers.monitor.PipelineWatchTrigger`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from stix_ops.assets import MONITOR_REARM
from stix_ops.operators.monitor import PipelineMonitorOperator


class PipelineWatchOperator(PipelineMonitorOperator):
    """Watch the pipeline from the triggerer; send the mails on a worker when an incident changes.

    * The task defers to the watch trigger in segments of ``segment`` (a pass every
      ``poll_interval``), re-deferring after each quiet segment until ``window`` has passed since
      the task started; then the task ends quietly (XCom ``{"incident": False}``). When a pass
      leaves a mail due, the task resumes, runs one full pass that sends the alert/recovery mails
      and returns ``{"incident": True, ...}`` — the ``rearm`` task then starts the next watch.
    * Each deferral has a timeout of ``segment + check_in_grace``: a dead triggerer cannot resume
      the task, the scheduler fails it after that time and the failure mail is sent.

    Parameters
    ----------
    poll_interval
        See above; None (default): the ``monitor_poll_interval`` setting (15 min), read when the
        task runs.
    segment, window, check_in_grace
        See above (defaults 1 h, 23 h 50 min, 30 min).
    **kwargs
        Passed to :class:`PipelineMonitorOperator`.
    """

    def __init__(
        self,
        *,
        poll_interval: timedelta | None = None,
        segment: timedelta = timedelta(hours=1),
        window: timedelta = timedelta(hours=23, minutes=50),
        check_in_grace: timedelta = timedelta(minutes=30),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poll_interval = poll_interval
        self.segment = segment
        self.window = window
        self.check_in_grace = check_in_grace

    def execute(self, context: Any) -> dict[str, Any]:
        """Start watching (defers)."""
        self._watch(context, datetime.now(UTC) + self.window)
        return {}  # not reached: _watch defers

    def _poll_interval(self) -> timedelta:
        if self.poll_interval is not None:
            return self.poll_interval
        from stix_ops.hooks.pipeline import StixPipelineHook

        return StixPipelineHook().settings.monitor_poll_interval

    def _watch(self, context: Any, window_end: datetime) -> None:
        from stix_ops.triggers.monitor import PipelineWatchTrigger

        now = datetime.now(UTC)
        segment_end = min(window_end, now + self.segment)
        trigger = PipelineWatchTrigger(
            poll_interval=self._poll_interval().total_seconds(),
            segment_end=segment_end.isoformat(),
            run_id=str(context.get("run_id", "")),
            own_dag_id=self.dag_id,
            processing_dag_id=self.processing_dag_id,
        )
        self.defer(
            trigger=trigger,
            method_name="resume",
            kwargs={"window_end": window_end.isoformat()},
            timeout=(segment_end - now) + self.check_in_grace,
        )

    def resume(self, context: Any, event: dict[str, Any] | None = None, window_end: str = "") -> dict[str, Any]:
        """Back from the triggerer: send the mails of an incident change, or watch on, or end quietly."""
        event = event or {}
        self.log.info(
            "watch %s after %s pass(es): backlog %s, findings %s",
            event.get("status"),
            event.get("passes"),
            event.get("backlog"),
            event.get("findings"),
        )
        if event.get("status") == "incident":
            return {"incident": True, **super().execute(context)}
        end = datetime.fromisoformat(window_end)
        if datetime.now(UTC) + self._poll_interval() <= end:
            self._watch(context, end)
        return {"incident": False, "last": event}


class MonitorRearmOperator(BaseOperator):
    """Emit :data:`~stix_ops.assets.MONITOR_REARM` after an incident change, so the next watch starts at once.

    Skipped (no event) when the watch ended quietly.

    Parameters
    ----------
    watch_result
        What the watch returned, templated: pass ``watch.output`` (also sets the dependency).
    """

    template_fields = ("watch_result",)

    def __init__(self, *, watch_result: Any, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [MONITOR_REARM])
        super().__init__(**kwargs)
        self.watch_result = watch_result

    def execute(self, context: Any) -> dict[str, Any]:
        """Re-arm or skip."""
        result = self.watch_result or {}
        if not result.get("incident"):
            raise AirflowSkipException("no incident change: the next scheduled run watches again")
        extra = {"opened": result.get("opened", []), "resolved": result.get("resolved", [])}
        context["outlet_events"][MONITOR_REARM].extra = extra
        return extra
