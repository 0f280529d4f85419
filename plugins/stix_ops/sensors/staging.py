"""Sensor of the staging DAG: is any incoming TM file releasable yet?"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowSkipException


class TMReleaseSensor(BaseSensorOperator):
    """Wait until at least one ``incoming`` TM file may be released (``stix_lib.stages.staging.plan_release``).

    A file is releasable when it is older than ``staging_delay`` or the flown SPICE kernels cover its
    on-board time range. Replaces the runbook's ``*/30`` cron polling: the sensor runs in
    ``reschedule`` mode (no worker slot held between pokes). Waiting in vain is the normal case
    (files younger than the delay, kernels not there yet), so it is ``soft_fail`` by default: on
    timeout the task and the release step are skipped, and the next asset event or the time
    fallback of the DAG starts a new wait. The names found are pushed as the XCom value.

    Parameters
    ----------
    timeout
        Required (seconds or timedelta): how long one run waits.
    **kwargs
        Passed to :class:`BaseSensorOperator` (defaults: ``mode="reschedule"``,
        ``poke_interval=300``, ``soft_fail=True``).
    """

    def __init__(self, *, timeout: float | timedelta, **kwargs: Any) -> None:
        kwargs.setdefault("mode", "reschedule")
        kwargs.setdefault("poke_interval", 300)
        kwargs.setdefault("soft_fail", True)
        super().__init__(timeout=timeout, **kwargs)

    def poke(self, context: Any) -> PokeReturnValue:
        """Check the ledger (and the SPICE coverage for files too young for the age rule)."""
        from stix_lib.stages.staging import describe_coverage, plan_release
        from stix_ops.hooks.pipeline import StixPipelineHook

        hook = StixPipelineHook()
        settings = hook.settings
        releases, held, coverage = plan_release(settings, hook.engine)
        if releases:
            for item in releases:
                self.log.info("releasable: %s (%s: %s)", item.name, item.reason, item.detail)
            return PokeReturnValue(is_done=True, xcom_value=[item.name for item in releases])
        if not held:
            raise AirflowSkipException("no incoming TM file: nothing to wait for")
        self.log.info(
            "%d incoming file(s) held back (staging delay %s, flown coverage %s)",
            len(held),
            settings.staging_delay,
            describe_coverage(coverage) or "none",
        )
        return PokeReturnValue(is_done=False)
