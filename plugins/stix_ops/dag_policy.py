"""The one constructor of every STIX DAG: the deployment's policy applied in one place.

Every file in ``dags/`` builds its DAG with :func:`stix_dag`, which fixes what all STIX DAGs share —
start date, no catchup, one active run unless said otherwise, the tag ``stix``, a run timeout, a
timeout on every task, the task defaults of :func:`stix_ops.defaults.default_args` (owner
``stix-ops``, retries with backoff, exactly one failure mail through
:class:`~stix_ops.notifiers.FailureEmailNotifier`) and, for DAGs that watch the pipeline, a
deadline mail. A DAG file states only what is its own: id, description, schedule, Params, timeouts
and its tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable

from stix_ops import defaults


def utc_cron(cron: str) -> CronTriggerTimetable:
    """A cron schedule in UTC (every STIX clock run is in UTC; zero-length data intervals)."""
    return CronTriggerTimetable(cron, timezone="UTC")


def events_or_cron(cron: str, assets: Any) -> AssetOrTimeSchedule:
    """Run on each event of ``assets`` and, as a safety run for missed events, at ``cron`` (UTC).

    Parameters
    ----------
    cron
        Cron expression of the safety run, e.g. ``"0 3 * * *"``.
    assets
        An asset, a list of assets or an asset expression (``A | B``).
    """
    return AssetOrTimeSchedule(timetable=utc_cron(cron), assets=assets)


def stix_dag(
    dag_id: str,
    *,
    description: str,
    doc_md: str | None,
    schedule: Any,
    dagrun_timeout: timedelta,
    task_timeout: timedelta,
    tags: Sequence[str],
    params: dict[str, Any] | None = None,
    max_active_runs: int = 1,
    deadline_after: timedelta | None = None,
    **task_defaults: Any,
) -> DAG:
    """A DAG following the STIX policy (use it as ``with stix_dag(...):``).

    Parameters
    ----------
    dag_id, description, schedule, params, max_active_runs
        As for :class:`airflow.sdk.DAG` (``max_active_runs`` defaults to 1); for the schedule see
        :func:`utc_cron` and :func:`events_or_cron`.
    doc_md
        The DAG's documentation (the module docstring of its file); required.
    dagrun_timeout
        Longest run.
    task_timeout
        Default ``execution_timeout`` of its tasks (a task may set its own).
    tags
        Tags besides ``stix``.
    deadline_after
        When set, a :class:`~airflow.sdk.DeadlineAlert` mails
        (:func:`stix_ops.notifiers.deadline_missed_mail`) when a run is not finished this long
        after it was queued.
    **task_defaults
        Further task defaults overriding :func:`stix_ops.defaults.default_args` (e.g. ``retries``).

    Returns
    -------
    airflow.sdk.DAG

    Raises
    ------
    ValueError
        Without ``doc_md``.
    """
    if not doc_md:
        raise ValueError(f"DAG {dag_id}: doc_md is required (the module docstring of its file)")
    policy: dict[str, Any] = {}
    if deadline_after is not None:
        # airflow/sdk/__init__.pyi (task SDK 1.3.2) omits these lazy exports that __init__.py declares
        from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference  # type: ignore[attr-defined]

        from stix_ops.notifiers import deadline_missed_mail

        policy["deadline"] = DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=deadline_after,
            callback=AsyncCallback(deadline_missed_mail),
        )
    return DAG(
        dag_id=dag_id,
        description=description,
        schedule=schedule,
        start_date=defaults.START_DATE,
        catchup=False,
        max_active_runs=max_active_runs,
        dagrun_timeout=dagrun_timeout,
        default_args=defaults.default_args(**task_defaults, execution_timeout=task_timeout),
        params=params,
        tags=defaults.tags(*tags),
        doc_md=doc_md,
        **policy,
    )

