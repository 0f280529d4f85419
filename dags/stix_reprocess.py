# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Reprocess all telemetry of one UTC day into a separate archive and processing version.

The runbook's manual reprocessing, one day per run, made for backfills after a version bump:

    stix-pipeline reprocess --from 2024-03-01 --to 2024-03-31 --version 3 --max-active-runs 2

(REST API backfill, retried while the metadata DB is busy; it unpauses the DAG.)

(UI: DAG page → Trigger → Backfill.) The scheduler starts no run of a paused DAG, backfill runs
included: unpause it for a reprocessing campaign (the backfill form's *Unpause* box, or `airflow dags
unpause stix_reprocess`) and pause it again afterwards. Catchup is off: unpaused, the schedule only
adds one run per new day (at its midnight, with little telemetry yet); unpausing never starts a
run that was already due (`stix_ops.timetables.NextCronTimetable`), so a backfill's *Unpause* box
does not also reprocess today.

* **Day**: the logical date's UTC date (cron runs have `data_interval_start == data_interval_end ==
  logical_date`), or the `day` Param.
* **Telemetry of the day**: ledger TM files `staged` or `processed` whose OBT range overlaps the
  day, converted to OBT with SPICE (nominal clock without kernels). A file spanning midnight is
  processed by both days' runs; merging makes that idempotent.
* **Output**: `version` (default `processing_version + 1`) into `fits_dir` (default
  `<data_root>/reprocess/V<version>`); the ledger and the live archive are not touched.

1. `plan` — OBT window, TM files, resolved options (XCom); `dry_run` stops after it.
2. `reprocess` — TM → LB → L0 → L1 (→ L2) into the output; file errors or missing TM files fail
   the run at the end (no retry), packet errors are reported.
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.dag_policy import stix_dag
from stix_ops.operators.reprocess import ReprocessDayOperator, ReprocessPlanOperator, reprocess_params
from stix_ops.timetables import NextCronTimetable

with stix_dag(
    "stix_reprocess",
    description="reprocess one UTC day of telemetry into a separate archive and version (for backfills)",
    schedule=NextCronTimetable("0 0 * * *", timezone="UTC"),
    dagrun_timeout=timedelta(hours=4),
    task_timeout=timedelta(minutes=15),
    params=reprocess_params(),
    tags=["processing", "reprocess"],
    doc_md=__doc__,
):
    plan = ReprocessPlanOperator(
        task_id="plan",
        doc_md="Resolve the day (logical date or `day`), its OBT window, the TM files overlapping it and the "
        "output version/folder; the plan is the XCom. `dry_run` stops here: read the plan in the log.",
    )
    ReprocessDayOperator(
        task_id="reprocess",
        plan=plan.output,
        execution_timeout=timedelta(hours=3),
        doc_md="TM -> LB -> L0 -> L1 (-> L2) of the planned files into the separate output archive; the live "
        "archive and the ledger are untouched. File errors fail the run at the end (no retry): the mail and "
        "the log name the file and the reason; fix the input and clear the task.",
    )
