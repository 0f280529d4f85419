"""Operators of ``stix_tm_release_timer``: wait in the triggerer until the next file's release by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from stix_ops.assets import TM_HELD

#: Longest single wait; a longer staging delay re-arms after it (the wait then ends early, harmlessly).
MAX_WAIT = timedelta(days=6)


def _next_release() -> datetime | None:
    from stix_lib.stages.staging import next_age_release
    from stix_ops.hooks.pipeline import StixPipelineHook

    hook = StixPipelineHook()
    settings = hook.settings
    return next_age_release(settings, hook.engine)


class AgeReleaseWaitOperator(BaseOperator):
    """Defer until the oldest ``incoming`` TM file is due by age (``received_at + staging_delay``).

    No worker slot and no polling run is used while waiting: the task hands a ``DateTimeTrigger``
    to the triggerer. Skipped when no file is ``incoming``; returns at once when one is due
    already. The wait is capped at :data:`MAX_WAIT`. XCom: the release moment (ISO).
    """

    def execute(self, context: Any) -> str | None:
        """Decide: skip, return (due), or defer until the release moment."""
        moment = _next_release()
        if moment is None:
            raise AirflowSkipException("no incoming TM file: nothing to wait for")
        now = datetime.now(UTC)
        if moment <= now:
            self.log.info("oldest incoming file was due at %s", moment.isoformat())
            return moment.isoformat()
        until = min(moment, now + MAX_WAIT)
        self.log.info("deferring until %s (oldest incoming file due at %s)", until.isoformat(), moment.isoformat())
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        self.defer(trigger=DateTimeTrigger(moment=until), method_name="execute_complete")
        return None  # not reached

    def execute_complete(self, context: Any, event: Any = None) -> str:
        """Resumed by the triggerer at the release moment."""
        self.log.info("release time reached (%s)", event)
        return datetime.now(UTC).isoformat()


class HeldFilesRearmOperator(BaseOperator):
    """Emit :data:`~stix_ops.assets.TM_HELD` when files are still held, so the timer waits again.

    Runs after the release whatever it did (``trigger_rule="none_failed"``); skipped (no event)
    when no file is ``incoming`` any more.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [TM_HELD])
        kwargs.setdefault("trigger_rule", "none_failed")
        super().__init__(**kwargs)

    def execute(self, context: Any) -> str:
        """Skip, or announce the next release moment."""
        moment = _next_release()
        if moment is None:
            raise AirflowSkipException("no file held: the timer rests until new telemetry arrives")
        context["outlet_events"][TM_HELD].extra = {"release_at": moment.isoformat()}
        self.log.info("files still held; next release by age at %s", moment.isoformat())
        return moment.isoformat()
