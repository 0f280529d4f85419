# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Reprocess a calendar month of telemetry per run into a separate archive and version (long campaigns).

The backfill route of ``stix-pipeline reprocess`` (default ``--run-per month``):

    stix-pipeline reprocess --from 2024-03-01 --to 2025-02-28 --version 3 --max-active-runs 2

makes one run per month (logical date: the 1st of the month; the first and last month are cut to
the asked days by the ``first_day``/``last_day`` run conf). A run plans every day of its block like
``stix_reprocess`` plans its one day, then reprocesses the days one after the other in ONE task:
the task start-up (imports, IDB and SPICE loading, 1-2.5 s of CPU) is paid once per month instead of
twice per day, which made a year's backfill mostly overhead. Each day stays its own pipeline run with
its own summary: the task log shows "day k/n" progress, the XCom one summary per day, and a failed
day is named in the failure; rerun it alone with ``--run-per day`` (``stix_reprocess``).

Paused outside campaigns, like ``stix_reprocess``; unpausing never starts a run that was already due.

1. `plan` — the month's days, their OBT windows and TM files, resolved options (XCom); `dry_run` stops.
2. `reprocess` — TM -> LB -> L0 -> L1 (-> L2) day by day into the output; failed days fail the run at
   the end (no retry), the other days' products are written.
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.dag_policy import stix_dag
from stix_ops.operators.reprocess import ReprocessMonthOperator, ReprocessMonthPlanOperator, reprocess_params
from stix_ops.timetables import NextCronTimetable

with stix_dag(
    "stix_reprocess_monthly",
    description="reprocess a calendar month of telemetry per run into a separate archive and version (backfills)",
    schedule=NextCronTimetable("0 0 1 * *", timezone="UTC"),
    dagrun_timeout=timedelta(hours=12),
    task_timeout=timedelta(minutes=30),
    params=reprocess_params(monthly=True),
    tags=["processing", "reprocess"],
    doc_md=__doc__,
):
    plan = ReprocessMonthPlanOperator(
        task_id="plan",
        doc_md="Resolve the run's days (its month, or `month`, cut to `first_day` .. `last_day`), each day's OBT "
        "window and TM files, and the output version/folder; the block plan is the XCom. `dry_run` stops here.",
    )
    ReprocessMonthOperator(
        task_id="reprocess",
        block=plan.output,
        execution_timeout=timedelta(hours=10),
        doc_md="TM -> LB -> L0 -> L1 (-> L2) of each planned day, one after the other in this task, into the "
        "separate output archive; the log has one progress line per day. Failed days fail the task at the end "
        "(no retry), named in the mail and the log: fix the input, then rerun one day with `stix-pipeline "
        "reprocess --from DAY --to DAY --run-per day`, or clear this task to redo the month.",
    )
