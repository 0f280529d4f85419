"""Which Airflow components are unhealthy, from the JSON of ``GET /api/v2/monitor/health``.

The api-server reports ``metadatabase``, ``scheduler``, ``triggerer`` and ``dag_processor``, each
with ``status`` ``"healthy"`` or ``"unhealthy"`` (a job is healthy while it is running and its last
heartbeat is recent) and the latest heartbeat. ``status`` is ``null`` for a triggerer or
dag-processor that never ran; the STIX deployment needs all of them (deadline callbacks and
deferrable sensors run in the triggerer), so a missing component is unhealthy too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Components the pipeline needs, as named by the health endpoint.
COMPONENTS: tuple[str, ...] = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def component_statuses(health: Mapping[str, Any], components: Iterable[str] = COMPONENTS) -> dict[str, str]:
    """Return ``{component: status}`` (``"missing"`` when the component is absent or never ran).

    Parameters
    ----------
    health
        Decoded body of ``/api/v2/monitor/health``.
    components
        The components to look at.
    """
    statuses: dict[str, str] = {}
    for name in components:
        entry = health.get(name)
        status = entry.get("status") if isinstance(entry, Mapping) else None
        statuses[name] = str(status) if status else "missing"
    return statuses


def unhealthy_components(health: Mapping[str, Any], components: Iterable[str] = COMPONENTS) -> dict[str, str]:
    """Return the components that are not healthy, with a one-line description each.

    Parameters
    ----------
    health
        Decoded body of ``/api/v2/monitor/health``.
    components
        The components that must be healthy.

    Returns
    -------
    dict
        ``{component: "unhealthy, last heartbeat 2026-...Z"}``; empty when all are healthy.
    """
    problems: dict[str, str] = {}
    for name, status in component_statuses(health, components).items():
        if status == "healthy":
            continue
        found = health.get(name)
        entry = found if isinstance(found, Mapping) else {}
        heartbeat = next((v for k, v in entry.items() if k.startswith("latest_") and v), None)
        if status == "missing":
            text = "not running (no heartbeat ever recorded)"
        else:
            text = f"{status}, last heartbeat {heartbeat or 'never'}"
        problems[name] = text
    return problems
