# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Release telemetry held by the staging delay at its release time (no polling runs).

A TM file too young for the age rule (`staging_delay`, runbook 2 days) and not yet covered by
flown SPICE kernels stays in `incoming/`. This DAG waits for the oldest such file's release
moment (`received_at + staging_delay`, known since ingest) in the triggerer — a deferred task
holds no worker slot — and then releases everything due (`stix_lib.stages.staging.stage`, the same step
as `stix_tm_staging`; both may run at once, releasing is idempotent).

1. `wait_for_release_time` — skipped when nothing is incoming; otherwise defers until the moment.
2. `release` — releases what is due (emits `stix_tm_staged` → processing), skipped if nothing.
3. `rearm` — when files are still held, emits `stix_tm_held`, which starts the next wait.

Runs on new telemetry (`stix_tm_incoming`) and on `stix_tm_held`; never on a clock. Files arrive
with increasing receipt times, so the oldest file's moment only changes when it is released.
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.assets import TM_HELD, TM_INCOMING
from stix_ops.dag_policy import stix_dag
from stix_ops.operators.release_timer import MAX_WAIT, AgeReleaseWaitOperator, HeldFilesRearmOperator
from stix_ops.operators.staging import TMStagingOperator

with stix_dag(
    "stix_tm_release_timer",
    description="deferrable wait until the oldest held TM file is due by age, then release it",
    schedule=TM_INCOMING | TM_HELD,
    dagrun_timeout=MAX_WAIT + timedelta(hours=2),
    task_timeout=timedelta(minutes=15),
    tags=["staging"],
    doc_md=__doc__,
):
    wait = AgeReleaseWaitOperator(
        task_id="wait_for_release_time",
        execution_timeout=MAX_WAIT + timedelta(hours=1),
        doc_md="Deferred in the triggerer until the oldest held `incoming` TM file is due by age "
        "(`received_at + staging_delay`). Shows as *deferred* meanwhile. On failure (timeout): the triggerer "
        "was down; check `airflow jobs check --job-type TriggererJob`, then clear the task.",
    )
    release = TMStagingOperator(
        task_id="release",
        doc_md="Release due files `incoming/` -> `processing/` (the staging rule) and emit `stix_tm_staged`. "
        "On failure: the error names the file or folder (permissions, disk); fix it and clear the task.",
    )
    rearm = HeldFilesRearmOperator(
        task_id="rearm",
        doc_md="Emit `stix_tm_held` while files are still held, so the next wait starts. On failure: clear the "
        "task; the daily `stix_tm_staging` safety run releases due files meanwhile.",
    )
    wait >> release >> rearm
