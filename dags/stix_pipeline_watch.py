# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Watch the pipeline from the triggerer; one mail per incident, one when it clears (replaces `pipeline_monitor.py`).

`check_pipeline` defers to a trigger that runs a monitor pass every 15 minutes (setting
`monitor_poll_interval`) in the triggerer —
no DAG run, no worker per pass. A pass samples the **backlog** — TM files staged but not
processed (pipeline DB ledger) plus queued/running task instances (Airflow REST API v2) — and an
incident opens when

* the backlog stayed above zero and never decreased over the window (runbook: 9 samples spanning
  at least 1 day; settings `monitor_window_samples`, `monitor_window_min_span`);
* a `stix_level_processing` run has been running longer than `processing_deadline`;
* the scheduler, triggerer, dag-processor or metadata DB is unhealthy (`/api/v2/monitor/health`);
* the REST API itself cannot be used (URL `airflow_api_url`, user `airflow_api_user`, password
  `$STIX_AIRFLOW_API_PASSWORD`; the triggerer needs it in its environment).

The watch completes only when an incident opens or clears: the task resumes on a worker, runs one
full pass that sends the alert or recovery mail (`smtp_default` → `alert_to`), and `rearm` emits
`stix_monitor_rearm`, which starts the next watch at once. A quiet watch ends after 23 h 50 min;
the daily run at 00:00 UTC starts the next. `stix_pipeline_monitor` is the manual "check now" pass.

A dead triggerer cannot resume the watch: each deferral (one-hour segments) times out on the
scheduler side 30 minutes after its segment, the task fails (after its retry) and its failure
mail goes out — within about 3 h. The other components are checked by the passes. Samples and
incidents live in the pipeline DB; `stix-pipeline status` shows the same numbers. A
`DeadlineAlert` (experimental in Airflow 3.3) mails when a monitor run is not finished one hour
after its watch window — the monitor watching itself.
"""

from __future__ import annotations

from datetime import timedelta

from stix_ops.assets import MONITOR_REARM
from stix_ops.dag_policy import events_or_cron, stix_dag
from stix_ops.operators.monitor_watch import MonitorRearmOperator, PipelineWatchOperator

WINDOW = timedelta(hours=23, minutes=50)

with stix_dag(
    "stix_pipeline_watch",
    description="monitor passes every 15 min in the triggerer; resumes only when an incident opens or clears",
    schedule=events_or_cron("0 0 * * *", [MONITOR_REARM]),
    dagrun_timeout=WINDOW + timedelta(hours=2),
    task_timeout=timedelta(minutes=5),
    retries=1,
    retry_delay=timedelta(minutes=1),
    deadline_after=WINDOW + timedelta(hours=1),
    tags=["monitor"],
    doc_md=__doc__,
):
    watch = PipelineWatchOperator(
        task_id="check_pipeline",
        window=WINDOW,
        execution_timeout=WINDOW + timedelta(hours=1),
        doc_md="Monitor passes every 15 min in the triggerer (backlog window, overdue runs, component health); "
        "resumes on a worker only to mail an incident that opened or cleared. On failure: the triggerer or "
        "the REST API is down; run `stix-pipeline status` and `stix_pipeline_monitor` by hand.",
    )
    MonitorRearmOperator(
        task_id="rearm",
        watch_result=watch.output,
        doc_md="Emit `stix_monitor_rearm` so the next watch starts at once. On failure: clear the task (the "
        "midnight run starts a new watch anyway).",
    )
