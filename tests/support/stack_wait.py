"""Waiting on a running local stack (real scheduler) in end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_on_stack(
    predicate: Callable[[], Any], timeout: float, what: str, stack: Any, dag_id: str | None = None
) -> Any:
    """Poll ``predicate`` once a second while the stack is alive until it returns something truthy.

    Parameters
    ----------
    predicate
        Returns the awaited value, or something falsy while it is not there yet.
    timeout
        Seconds to wait.
    what
        What is awaited (named in the failure).
    stack
        The :class:`~stix_ops.dev.localstack.LocalStack`; a dead component fails at once.
    dag_id
        Only this DAG's runs are listed in the failure (default: every DAG's).

    Returns
    -------
    Any
        The predicate's first truthy value.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack._check_alive()
        value = predicate()
        if value:
            return value
        time.sleep(1)
    runs = [(r["dag_id"], r["run_type"], r["state"]) for r in (stack.runs(dag_id) if dag_id else stack.runs())]
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; runs: {runs}")
