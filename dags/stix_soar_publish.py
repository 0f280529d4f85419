# Airflow DAG file (the dag-processor reads only files that mention "airflow" and "dag").
"""Publish products to ESA's SOAR (runbook cron C6, STIXCore `publish.py --update_rid_lut`).

Daily at 05:00 UTC — unpausing never publishes at once: the next run is the next 05:00
(`stix_ops.timetables.NextCronTimetable`) — or by hand from the trigger form: every `publish.py`
option is a Param (empty = the setting, resolved when the task runs), plus `dry_run`,
`rid_lut_update` and `report_mail`.

1. `refresh_rid_lut` — update the RID LUT from `rid_lut_update_url` (30 s per call, 3 attempts that
   resume where the last stopped). A failure is a warning in the report while a local LUT with at
   least one request exists; without one the task fails (Airflow retries), because delivered BSD
   products would lack their request comments for good. Skipped in dry runs and with `skip`
   (`publish` runs after a skipped refresh, not after a failed one).
2. `publish` — `stix_lib.publish`: select, finish `U` files, deliver atomically (`.part` + rename),
   record in the pipeline DB, one run at a time. Local copy when the target host is empty or
   `localhost`, else SFTP with the `stix_soar` SSH connection (key, pinned host key, strict). XCom:
   the report (E/I/S/P counts, outcomes). Errors (E > 0) fail the task at the end, without retry:
   failed copies stay pending and the next run offers them again; a failed run emits no asset event.
3. `announce_published` — its declared outlet `stix_soar_published` (→ `stix_fits_nas_sync`) gets
   an event with the delivered names when files were delivered; skipped (no event) otherwise.
4. `report_mail` — teardown, so it reports failed runs too (`ERROR-report`) without deciding the
   run's state: the report to `alert_to` through `smtp_default`, every run like STIXCore's
   `report_mail_send` (`report_mail` Param: `always`, `activity`, `never`); none for dry runs.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import TriggerRule

from stix_ops.dag_policy import stix_dag
from stix_ops.operators.publish import (
    PublishedAnnounceOperator,
    PublishReportMailOperator,
    RidLutRefreshOperator,
    SoarPublishOperator,
    publish_params,
)
from stix_ops.timetables import NextCronTimetable

with stix_dag(
    "stix_soar_publish",
    description="publish products to ESA SOAR: RID LUT refresh, atomic delivery, history, report mail",
    schedule=NextCronTimetable("0 5 * * *", timezone="UTC"),
    dagrun_timeout=timedelta(hours=8),
    task_timeout=timedelta(minutes=30),
    params=publish_params(),
    tags=["publish", "soar"],
    doc_md=__doc__,
):
    refresh = RidLutRefreshOperator(
        task_id="refresh_rid_lut",
        doc_md="Update the RID LUT from `rid_lut_update_url` (3 resuming attempts). A failure is a report "
        "warning while a local LUT exists; without one the task fails: check the URL and the network.",
    )
    publish = SoarPublishOperator(
        task_id="publish",
        refreshed=refresh.output,
        trigger_rule=TriggerRule.NONE_FAILED,
        execution_timeout=timedelta(hours=6),
        doc_md="Select, finish and deliver products to the SOAR target atomically and record them. Errors fail "
        "the task at the end (no retry): failed copies stay pending and the next run offers them again; see the "
        "report mail.",
    )
    announce = PublishedAnnounceOperator(
        task_id="announce_published",
        summary=publish.output,
        doc_md="Emit `stix_soar_published` (-> NAS mirror) with the delivered names when `publish` delivered "
        "files; skipped (no event) after a dry run or a run that delivered nothing.",
    )
    report = PublishReportMailOperator(
        task_id="report_mail",
        summary=publish.output,
        doc_md="Teardown: mail the E/I/S/P report to `alert_to` (`report_mail` Param); does not decide the "
        "run's state.",
    )
    refresh >> publish >> report.as_teardown()
    publish >> announce
