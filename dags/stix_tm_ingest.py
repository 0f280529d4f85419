"""Pull new telemetry from the SOC exchange every 15 minutes (runbook cron C1)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from stix_ops.defaults import START_DATE, default_args, tags
from stix_ops.operators.ingest import TMIngestOperator

with DAG(
    dag_id="stix_tm_ingest",
    description="rsync *PktTmRaw*.xml from the SOC exchange into incoming/ and ledger them",
    schedule="*/15 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args=default_args(execution_timeout=timedelta(minutes=20)),
    tags=tags("ingest"),
    doc_md=__doc__,
):
    TMIngestOperator(task_id="pull_tm")
