"""What ``stix-pipeline status`` shows: the pipeline DB part and the Airflow REST API part.

Replaces STIXCore's ``stix-pipeline-status`` (a TCP status socket that is disabled at HEAD):
``open files: N`` is the number of TM files released to processing and not processed yet (the
old ``-n``), ``current`` the TM file(s) being processed now (running task instances of the
processing DAG, named by their rendered map index), ``last processed`` and ``last error`` come
from the ledger, plus the running/queued DAG runs, the latest SPICE kernels (``spice_zips`` and
the kernel tree), the STIX-CONF version (``conf_versions``), component health and the monitor's
open incidents.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from stix_lib.db import ledger
from stix_lib.db.schema import TMState, conf_versions, processing_reports, published, spice_zips, tm_files
from stix_lib.monitor import incidents
from stix_lib.monitor.api import AirflowApi, AirflowApiError
from stix_lib.monitor.check import PROCESSING_DAG_ID
from stix_lib.monitor.health import component_statuses
from stix_lib.monitor.kernel_wait import waiting_for_kernels
from stix_lib.monitor.samples import aware, latest_sample
from stix_lib.publish.publish_history import DeliveryStatus
from stix_lib.settings import Settings

#: Files listed per section (waiting for kernels, parked by the publish gate); counts are in ``ledger``.
STATUS_LIST_MAX = 20


def _iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value is not None else None


#: Processing reports summed by :func:`refused_packets`.
REFUSED_WINDOW = 100


def refused_packets(engine: Engine, last: int = REFUSED_WINDOW) -> dict[str, int]:
    """Packets refused by admission (per class) and truncated files over the ``last`` processing reports."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(processing_reports.c.report).order_by(processing_reports.c.id.desc()).limit(last)
        ).all()
    totals: dict[str, int] = {}
    for (text,) in rows:
        report = json.loads(text)
        for kind, count in (report.get("rejected") or {}).items():
            totals[kind] = totals.get(kind, 0) + int(count)
        if report.get("truncated"):
            totals["truncated_files"] = totals.get("truncated_files", 0) + 1
    return dict(sorted(totals.items()))


def db_status(settings: Settings, engine: Engine) -> dict[str, Any]:
    """The pipeline-database part of the status.

    Parameters
    ----------
    settings
        For the SPICE kernel tree (``spice_dir``).
    engine
        Pipeline database.

    Returns
    -------
    dict
        ``open_files``, ``ledger`` (count per state), ``last_processed``, ``last_error``, ``spice``,
        ``waiting_for_kernels`` (TM files whose L1 waits for SPICE kernels, with the reason; at
        most :data:`STATUS_LIST_MAX`), ``kernel_wait`` (their count and the oldest,
        :class:`~stix_lib.monitor.kernel_wait.KernelWait` plus its ``text``),
        ``publish_parked`` (products the publish gate holds back, with the reason), ``stix_conf``,
        ``monitor``, ``refused`` (:func:`refused_packets`).
    """
    from stix_lib.stages.spice_sync import meta_kernel_names

    counts = ledger.count_by_state(engine)
    with engine.connect() as conn:
        processed = conn.execute(
            select(tm_files.c.name, tm_files.c.processed_at)
            .where(tm_files.c.state == TMState.PROCESSED.value)
            .order_by(tm_files.c.processed_at.desc(), tm_files.c.id.desc())
            .limit(1)
        ).first()
        error = conn.execute(
            select(tm_files.c.name, tm_files.c.state, tm_files.c.error, tm_files.c.updated_at)
            .where(tm_files.c.state.in_([TMState.FAILED.value, TMState.QUARANTINED.value]))
            .order_by(tm_files.c.updated_at.desc(), tm_files.c.id.desc())
            .limit(1)
        ).first()
        zip_row = conn.execute(
            select(spice_zips.c.name, spice_zips.c.unzipped_at).order_by(spice_zips.c.unzipped_at.desc()).limit(1)
        ).first()
        zip_count = conn.execute(select(func.count()).select_from(spice_zips)).scalar_one()
        conf = conn.execute(
            select(conf_versions.c.version, conf_versions.c.commit, conf_versions.c.recorded_at)
            .order_by(conf_versions.c.id.desc())
            .limit(1)
        ).first()
        waiting = conn.execute(
            select(tm_files.c.name, tm_files.c.error)
            .where(tm_files.c.state == TMState.WAITING_KERNELS.value)
            .order_by(tm_files.c.received_at, tm_files.c.name)
            .limit(STATUS_LIST_MAX)
        ).all()
        parked = conn.execute(
            select(published.c.name, published.c.error)
            .where(published.c.status == DeliveryStatus.PARKED.value)
            .order_by(published.c.id)
            .limit(STATUS_LIST_MAX)
        ).all()
    sample = latest_sample(engine)
    kernel_wait = waiting_for_kernels(engine)
    return {
        "open_files": counts.get(TMState.STAGED.value, 0),
        "ledger": {state.value: counts.get(state.value, 0) for state in TMState},
        "last_processed": {"name": processed.name, "at": _iso(processed.processed_at)} if processed else None,
        "last_error": {"name": error.name, "state": error.state, "error": error.error, "at": _iso(error.updated_at)}
        if error
        else None,
        "spice": {
            "latest_zip": zip_row.name if zip_row else None,
            "unzipped_at": _iso(zip_row.unzipped_at) if zip_row else None,
            "zips": zip_count,
            **meta_kernel_names(settings.spice_dir),
        },
        "waiting_for_kernels": [{"name": row.name, "reason": row.error} for row in waiting],
        "kernel_wait": {**kernel_wait.as_dict(), "text": kernel_wait.text(datetime.now(UTC))},
        "publish_parked": [{"name": row.name, "reason": row.error} for row in parked],
        "stix_conf": {"version": conf.version, "commit": conf.commit, "recorded_at": _iso(conf.recorded_at)}
        if conf
        else None,
        "monitor": {
            "last_sample": sample.as_dict() if sample else None,
            "open_incidents": [
                {"key": i.key, "summary": i.summary, "since": i.opened_at.isoformat()}
                for i in incidents.open_incidents(engine)
            ],
        },
        "refused": refused_packets(engine),
    }


def api_status(api: AirflowApi, processing_dag_id: str = PROCESSING_DAG_ID) -> dict[str, Any]:
    """The Airflow REST API part of the status.

    Parameters
    ----------
    api
        REST API client.
    processing_dag_id
        DAG whose running task instances name the TM file(s) in progress.

    Returns
    -------
    dict
        ``health``, ``runs`` (``running``/``queued`` lists), ``active_tasks``, ``current``,
        ``last_failed_task``.

    Raises
    ------
    AirflowApiError
        When the API cannot be used.
    """
    health = component_statuses(api.health())
    runs = api.dag_runs("~", states=("running", "queued"), limit=200)
    current = [
        {
            "tm_file": ti.get("rendered_map_index") or None,
            "task": f"{ti['dag_id']}.{ti['task_id']}",
            "run_id": ti.get("dag_run_id"),
            "since": ti.get("start_date"),
        }
        for ti in api.task_instances(processing_dag_id, states=("running",))
    ]
    failed = api.task_instances("~", states=("failed",), order_by="-end_date", limit=1)
    return {
        "health": health,
        "active_tasks": api.active_task_count(exclude_dag_ids=()),
        "runs": {
            state: [
                {"dag_id": r["dag_id"], "run_id": r["dag_run_id"], "since": r.get("start_date") or r.get("queued_at")}
                for r in runs
                if r.get("state") == state
            ]
            for state in ("running", "queued")
        },
        "current": current,
        "last_failed_task": {
            "task": f"{failed[0]['dag_id']}.{failed[0]['task_id']}",
            "tm_file": failed[0].get("rendered_map_index") or None,
            "run_id": failed[0].get("dag_run_id"),
            "at": failed[0].get("end_date"),
        }
        if failed
        else None,
    }


def collect_status(settings: Settings, engine: Engine, api: AirflowApi) -> dict[str, Any]:
    """Both parts; ``airflow`` is ``{"reachable": False, "error": ...}`` when the API cannot be used."""
    status: dict[str, Any] = db_status(settings, engine)
    try:
        status["airflow"] = {"reachable": True, "url": api.base_url, **api_status(api)}
    except AirflowApiError as exc:
        status["airflow"] = {"reachable": False, "url": api.base_url, "error": str(exc)}
    return status


def format_status(status: dict[str, Any]) -> str:
    """Human-readable lines of :func:`collect_status` (first line ``open files: N`` as the old ``-n``)."""
    lines = [f"open files: {status['open_files']}"]
    lines.append("ledger: " + ", ".join(f"{k} {v}" for k, v in status["ledger"].items()))
    airflow = status["airflow"]
    if airflow["reachable"]:
        current = airflow["current"]
        if current:
            for item in current:
                lines.append(f"current: {item['tm_file'] or '-'} ({item['task']}, since {item['since']})")
        else:
            lines.append("current: none")
    else:
        lines.append("current: unknown (Airflow API unreachable)")
    last = status["last_processed"]
    lines.append(f"last processed: {last['name']} at {last['at']}" if last else "last processed: none")
    err = status["last_error"]
    if err:
        lines.append(f"last error: {err['name']} ({err['state']}) at {err['at']}: {err['error']}")
    else:
        lines.append("last error: none")
    if airflow["reachable"]:
        failed = airflow["last_failed_task"]
        if failed:
            where = f" ({failed['tm_file']})" if failed["tm_file"] else ""
            lines.append(f"last failed task: {failed['task']}{where} at {failed['at']} [{failed['run_id']}]")
        else:
            lines.append("last failed task: none")
        runs = airflow["runs"]
        lines.append(
            f"runs: running {len(runs['running'])}, queued {len(runs['queued'])}; "
            f"queued/running tasks {airflow['active_tasks']}"
        )
        for state in ("running", "queued"):
            for run in runs[state]:
                lines.append(f"  {state} {run['dag_id']} {run['run_id']} since {run['since']}")
        lines.append("airflow: " + ", ".join(f"{k} {v}" for k, v in airflow["health"].items()))
    spice = status["spice"]
    if spice["latest_zip"]:
        lines.append(f"spice: latest zip {spice['latest_zip']} (unzipped {spice['unzipped_at']}; {spice['zips']} zips)")
    else:
        lines.append("spice: no kernel zip unzipped yet")
    lines.append(f"spice meta kernels: flown {spice['flown_mk'] or '-'}, predicted {spice['predicted_mk'] or '-'}")
    sections = (("waiting_for_kernels", "waiting for kernels"), ("publish_parked", "parked by the publish gate"))
    headers = {"waiting_for_kernels": (status.get("kernel_wait") or {}).get("text")}
    for key, title in sections:
        items = status.get(key) or []
        lines.append(f"{title}: {headers.get(key) or len(items) or 'none'}")
        lines += [f"  {item['name']}: {item['reason']}" for item in items]
    conf = status["stix_conf"]
    lines.append(
        f"stix-conf: {conf['version']} ({conf['commit'][:12]}) recorded {conf['recorded_at']}"
        if conf
        else "stix-conf: no version recorded"
    )
    monitor = status["monitor"]
    sample = monitor["last_sample"]
    lines.append(
        f"monitor: last sample {sample['sampled_at']} backlog {sample['backlog']}" if sample else "monitor: no sample"
    )
    for incident in monitor["open_incidents"]:
        lines.append(f"  open incident {incident['key']} since {incident['since']}: {incident['summary']}")
    refused = status.get("refused") or {}
    lines.append(
        f"refused packets (last {REFUSED_WINDOW} reports): " + ", ".join(f"{k} {v}" for k, v in refused.items())
        if refused
        else f"refused packets (last {REFUSED_WINDOW} reports): none"
    )
    if not airflow["reachable"]:
        lines.append(f"Airflow API unreachable ({airflow['url']}): {airflow['error']}")
    return "\n".join(lines)
