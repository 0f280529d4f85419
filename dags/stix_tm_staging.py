# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Release telemetry from `incoming/` to `processing/` (runbook cron C2, "stage & delay").

A TM file is released when it was **received** (ledger `received_at`) more than
`staging_delay` ago (runbook 2 days; `STIX_STAGING_DELAY`), or earlier as soon as the loaded
**flown SPICE kernels cover its whole on-board time range** (read from its packet headers at
ingest). The move is atomic; the ledger row becomes `staged`; `stix_tm_staged` carries the names.

Runs when new telemetry arrives (`stix_tm_incoming`), when new kernels were unzipped
(`stix_spice_kernels`), and once a day at 03:20 UTC as a safety run. `wait_for_releasable`
(reschedule mode, pokes every 5 min, gives up after 25 min with *skipped*) catches kernels or ages
that arrive just after the event; `release` then moves. Files held by the age rule are released at
their release time by `stix_tm_release_timer` (a deferrable wait in the triggerer), not by polling.
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.assets import SPICE_KERNELS, TM_INCOMING
from stix_ops.dag_policy import events_or_cron, stix_dag
from stix_ops.operators.staging import TMStagingOperator
from stix_ops.sensors.staging import TMReleaseSensor

with stix_dag(
    "stix_tm_staging",
    description="release TM files to processing/ by age or flown SPICE coverage",
    schedule=events_or_cron("20 3 * * *", TM_INCOMING | SPICE_KERNELS),
    dagrun_timeout=timedelta(minutes=45),
    task_timeout=timedelta(minutes=15),
    tags=["staging"],
    doc_md=__doc__,
):
    wait = TMReleaseSensor(
        task_id="wait_for_releasable",
        timeout=timedelta(minutes=25),
        poke_interval=300,
        doc_md="Wait until a file in `incoming/` is older than `staging_delay` or covered by flown kernels; "
        "gives up after 25 min with *skipped* (nothing to release is normal).",
    )
    wait >> TMStagingOperator(
        task_id="release",
        doc_md="Move the releasable files atomically to `processing/`, ledger them `staged` and emit "
        "`stix_tm_staged` (-> level processing).",
    )
