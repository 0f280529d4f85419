"""Defaults shared by every STIX DAG (owner, retries, failure alert)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from stix_ops.notifiers import FailureEmailNotifier

#: Every STIX DAG starts from this date; ``catchup`` is off except for backfill-only DAGs.
START_DATE = pendulum.datetime(2025, 1, 1, tz="UTC")
OWNER = "stix-ops"


def default_args(**overrides: Any) -> dict[str, Any]:
    """Task defaults: owner, two retries with backoff, one failure mail (no Airflow default mails)."""
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "email_on_failure": False,
        "email_on_retry": False,
        "on_failure_callback": FailureEmailNotifier(),
    }
    args.update(overrides)
    return args


def tags(*extra: str) -> list[str]:
    """The tag list of a STIX DAG."""
    return ["stix", *extra]
