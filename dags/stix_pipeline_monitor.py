"""Check the pipeline now: one monitor pass by hand; one mail per incident, one when it clears.

The continuous watch is `stix_pipeline_watch` (passes every 15 minutes in the triggerer, no DAG run
per pass); this DAG has no schedule and is the "check now" button. Each run samples the
**backlog** — TM files staged but not processed (pipeline DB ledger) plus queued/running task
instances (Airflow REST API v2) — and raises an incident when

* the backlog stayed above zero and never decreased over the window (runbook: 9 samples spanning
  at least 1 day; settings `monitor_window_samples`, `monitor_window_min_span`);
* a `stix_level_processing` run has been running longer than `processing_deadline`;
* the scheduler, triggerer, dag-processor or metadata DB is unhealthy (`/api/v2/monitor/health`);
* the REST API itself cannot be used (URL `airflow_api_url`, user `airflow_api_user`, password
  `$STIX_AIRFLOW_API_PASSWORD`).

Samples and incidents live in the pipeline DB (`monitor_samples`, `monitor_incidents`); each
incident sends one alert and, when it clears, one recovery mail (`smtp_default` → `alert_to`).
`stix-pipeline status` shows the same numbers. A `DeadlineAlert` (experimental in Airflow 3.3)
mails from the triggerer when a run is not finished 10 minutes after it was queued.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference  # type: ignore[attr-defined]  # lazy, no stubs

from stix_ops.defaults import START_DATE, default_args, tags
from stix_ops.notifiers import deadline_missed_mail
from stix_ops.operators.monitor import PipelineMonitorOperator

with DAG(
    dag_id="stix_pipeline_monitor",
    description="backlog window, processing deadline and component health; one mail per incident",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=12),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=10),
        callback=AsyncCallback(deadline_missed_mail),
    ),
    default_args=default_args(retries=1, retry_delay=timedelta(minutes=1), execution_timeout=timedelta(minutes=5)),
    tags=tags("monitor"),
    doc_md=__doc__,
):
    PipelineMonitorOperator(
        task_id="check_pipeline",
        doc_md="Sample the backlog, check the processing deadline and component health, open/clear incidents "
        "and mail them. Its own failure usually means the pipeline DB or SMTP is unreachable: see the log.",
    )
