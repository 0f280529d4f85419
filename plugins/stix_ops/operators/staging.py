"""Staging operator: release TM files from ``incoming/`` to ``processing/``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from stix_ops.assets import TM_STAGED


class TMStagingOperator(BaseOperator):
    """Release every releasable ``incoming`` file (``stix_lib.stages.staging.stage``) and announce them.

    Decides again at run time (the sensor's list may be stale). Emits an event on
    :data:`~stix_ops.assets.TM_STAGED` with ``files`` (released names), ``reasons`` (``age`` or
    ``spice`` per file) and the flown coverage used. Skipped when nothing was released. Files that
    could not be released for environmental reasons stay ``incoming`` and make the task fail after
    the others were released (those are ``staged`` in the ledger either way).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [TM_STAGED])
        super().__init__(**kwargs)

    def execute(self, context: Any) -> dict[str, Any]:
        """Release and return the summary (also pushed to XCom)."""
        from stix_lib.stages.staging import stage
        from stix_ops.hooks.pipeline import StixPipelineHook

        hook = StixPipelineHook()
        settings = hook.settings
        settings.ensure_folders()
        result = stage(settings, hook.engine)
        self.log.info(
            "released %d, held %d, quarantined %d, errors %d; coverage %s",
            len(result.released),
            len(result.held),
            len(result.quarantined),
            len(result.errors),
            result.coverage or "none",
        )
        if result.errors:
            raise RuntimeError("release failed for: " + "; ".join(result.errors.values()))
        if not result.released:
            raise AirflowSkipException("nothing to release")
        context["outlet_events"][TM_STAGED].extra = {
            "files": sorted(result.released),
            "reasons": dict(result.released),
            "coverage": result.coverage,
        }
        return result.as_dict()
