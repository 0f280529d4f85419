# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Pull new telemetry from the SOC exchange when it arrives (runbook cron C1, event-driven).

Runs when the triggerer's watcher of `tm_source` (asset `stix_soc_tm`) sees a new or changed
`*PktTmRaw*.xml` file (within `watch_interval`, default 10 s), and once a day at 03:00 UTC as a
safety run: it compares the exchange listing with the ledger, so a delivery whose event was missed
(triggerer down) is still ingested. Nothing is pulled twice — the ledger decides what is new.

`rsync` of `*PktTmRaw*.xml` from `tm_source` on the SOC exchange host (SSH connection `stix_soc`:
key authentication, pinned host key, strict checking) into a private pull folder; each new file
is read to its end (on-board time range from the packet headers) and only then renamed into
`incoming/` and ledgered `incoming`. Files not valid telemetry go to `quarantine/` with a
`.reason` file (ledger `quarantined`); files still being written at the source are left for the
next change of the file (its watcher fires again) or the safety run; a file that stays
truncated is quarantined once older than `tm_settle_time`. New files emit
`stix_tm_incoming` (→ `stix_tm_staging`); with nothing new the task is skipped. Every quarantined
file is a data problem: `report_data_problems` sends one mail per file (file, reason, next step)
and fails, so the run is red.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import XComArg

from stix_ops.dag_policy import events_or_cron, stix_dag
from stix_ops.operators.ingest import DATA_PROBLEMS_XCOM_KEY, DataProblemsOperator, TMIngestOperator
from stix_ops.watchers import TM_EXCHANGE

with stix_dag(
    "stix_tm_ingest",
    description="rsync *PktTmRaw*.xml from the SOC exchange into incoming/ and ledger them",
    schedule=events_or_cron("0 3 * * *", [TM_EXCHANGE]),
    dagrun_timeout=timedelta(minutes=30),
    task_timeout=timedelta(minutes=20),
    tags=["ingest"],
    doc_md=__doc__,
):
    pull = TMIngestOperator(
        task_id="pull_tm",
        doc_md="rsync new `*PktTmRaw*.xml` from the SOC exchange, read each to its end, move it to `incoming/` "
        "and ledger it; invalid files go to `quarantine/` with a `.reason`. Skipped when nothing is new. On "
        "failure: check the `stix_soc` connection and `tm_source` named in the error.",
    )
    DataProblemsOperator(
        task_id="report_data_problems",
        problems=XComArg(pull, key=DATA_PROBLEMS_XCOM_KEY),
        doc_md="one data-problem mail per TM file that `pull_tm` quarantined (file, reason, next step); the run "
        "turns red. Next step: read the `.reason` beside the file in `quarantine/`, ask the SOC for a new "
        "delivery or fix the file, then put it back at the exchange.",
    )
