"""A small client of the Airflow REST API v2 (httpx), for the monitor and ``stix-pipeline status``.

Authentication follows Airflow 3: ``POST <base>/auth/token`` with user name and password returns
a JWT that is sent as ``Authorization: Bearer``. The base URL and the user come from the settings
(``airflow_api_url``, ``airflow_api_user``); the password from the environment variable
``STIX_AIRFLOW_API_PASSWORD`` (never from a settings file). Every failure to talk to the API —
connection refused, timeout, authentication refused, server error — raises
:class:`AirflowApiError`; a 404 for a DAG that does not exist is not an error for the list calls
here (they return nothing).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import httpx

from stix_lib.settings import Settings

#: Environment variable holding the REST API password.
PASSWORD_ENV = "STIX_AIRFLOW_API_PASSWORD"
#: Task-instance states that count as open work.
ACTIVE_TASK_STATES: tuple[str, ...] = ("queued", "running")


class AirflowApiError(RuntimeError):
    """The REST API could not be reached or refused a request."""


class _NotFound(AirflowApiError):
    pass


class AirflowApiConflict(AirflowApiError):
    """The API refused a request because it conflicts with the current state (HTTP 409)."""


class AirflowApi:
    """Airflow REST API v2 client.

    Parameters
    ----------
    base_url
        Base URL of the api-server (``http://host:8080``), without ``/api/v2``.
    user, password
        Credentials for ``POST /auth/token``; with an empty password no token is requested (for
        deployments whose auth manager lets the caller in without one).
    timeout
        Seconds per request.
    """

    def __init__(self, base_url: str, user: str, password: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self._password = password
        self._token: str | None = None
        self._client = httpx.Client(timeout=timeout)

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> AirflowApi:
        """Build a client from ``airflow_api_url``/``airflow_api_user`` and ``$STIX_AIRFLOW_API_PASSWORD``."""
        env = os.environ if environ is None else environ
        return cls(settings.airflow_api_url, settings.airflow_api_user, env.get(PASSWORD_ENV, ""), timeout=timeout)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> AirflowApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------
    def _login(self) -> str:
        try:
            reply = self._client.post(
                f"{self.base_url}/auth/token", json={"username": self.user, "password": self._password}
            )
        except httpx.HTTPError as exc:
            raise AirflowApiError(f"Airflow API at {self.base_url} unreachable: {exc}") from exc
        if reply.status_code in (401, 403):
            raise AirflowApiError(
                f"Airflow API at {self.base_url} refused the login of {self.user!r} ({reply.status_code}); "
                f"check airflow_api_user and {PASSWORD_ENV}"
            )
        if reply.status_code >= 400:
            raise AirflowApiError(f"Airflow API login failed: {reply.status_code} {reply.text[:300]}")
        try:
            return str(reply.json()["access_token"])
        except (ValueError, KeyError) as exc:
            raise AirflowApiError(f"Airflow API login returned no token: {reply.text[:300]}") from exc

    def _headers(self) -> dict[str, str]:
        if not self._password:
            return {}
        if self._token is None:
            self._token = self._login()
        return {"Authorization": f"Bearer {self._token}"}

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        attempts: int = 1,
        backoff: float = 2.0,
    ) -> Any:
        """``<METHOD> /api/v2/<path>``; return the decoded JSON body (None for an empty body).

        Parameters
        ----------
        method, path
            HTTP method and path below ``/api/v2/``.
        params, json
            Query parameters and JSON body.
        attempts
            Tries in all when the API is unreachable or answers with a server error (5xx): an
            api-server over SQLite answers 500 while another component holds the database lock.
        backoff
            Seconds before the second try; doubled for each further try (at most 30 s).

        Raises
        ------
        AirflowApiError
            On connection problems, refused authentication and HTTP errors (after the last try).
        """
        url = f"{self.base_url}/api/v2/{path.lstrip('/')}"
        relogged = False
        delay = backoff
        tries = 0
        while True:
            tries += 1
            try:
                reply = self._client.request(method, url, params=params, json=json, headers=self._headers())
            except httpx.HTTPError as exc:
                if tries >= attempts:
                    raise AirflowApiError(f"Airflow API at {self.base_url} unreachable: {exc}") from exc
            else:
                if reply.status_code == 401 and not relogged and self._password:
                    self._token, relogged, tries = None, True, tries - 1  # expired token: log in once more
                    continue
                if reply.status_code < 500 or tries >= attempts:
                    break
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
        if reply.status_code == 404:
            raise _NotFound(f"{method} {path}: 404 {reply.text[:300]}")
        if reply.status_code == 409:
            raise AirflowApiConflict(f"{method} {path}: 409 {reply.text[:300]}")
        if reply.status_code in (401, 403):
            raise AirflowApiError(
                f"Airflow API refused {method} {path} ({reply.status_code}); check the API user's rights"
            )
        if reply.status_code >= 400:
            raise AirflowApiError(f"{method} {path} -> {reply.status_code}: {reply.text[:300]}")
        if not reply.content:
            return None
        try:
            return reply.json()
        except ValueError as exc:
            raise AirflowApiError(f"{method} {path} returned no JSON: {reply.text[:300]}") from exc

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET /api/v2/<path>`` (one try); see :meth:`request`."""
        return self.request("GET", path, params)

    # -- queries -----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``GET /api/v2/monitor/health``."""
        return dict(self.get("monitor/health"))

    def count_task_instances(self, states: Iterable[str], dag_id: str = "~") -> int:
        """Number of task instances in ``states`` (of one DAG, or all with ``~``; 0 for an unknown DAG)."""
        try:
            reply = self.get(f"dags/{dag_id}/dagRuns/~/taskInstances", {"state": list(states), "limit": 1})
        except _NotFound:
            return 0
        return int(reply["total_entries"])

    def active_task_count(self, exclude_dag_ids: Iterable[str] = ()) -> int:
        """Queued plus running task instances of every DAG except ``exclude_dag_ids`` (e.g. the monitor's own)."""
        total = self.count_task_instances(ACTIVE_TASK_STATES)
        for dag_id in exclude_dag_ids:
            total -= self.count_task_instances(ACTIVE_TASK_STATES, dag_id)
        return max(total, 0)

    def dag_runs(
        self,
        dag_id: str = "~",
        states: Iterable[str] = ("queued", "running"),
        start_date_lte: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """DAG runs in ``states`` (oldest first); an unknown DAG has none."""
        params: dict[str, Any] = {"state": list(states), "limit": limit, "order_by": "run_after"}
        if start_date_lte is not None:
            params["start_date_lte"] = start_date_lte.isoformat()
        try:
            return list(self.get(f"dags/{dag_id}/dagRuns", params)["dag_runs"])
        except _NotFound:
            return []

    def task_instances(
        self, dag_id: str = "~", states: Iterable[str] = ("running",), order_by: str = "start_date", limit: int = 100
    ) -> list[dict[str, Any]]:
        """Task instances in ``states`` of all runs of ``dag_id`` (``~``: every DAG); unknown DAG → none."""
        params = {"state": list(states), "limit": limit, "order_by": order_by}
        try:
            return list(self.get(f"dags/{dag_id}/dagRuns/~/taskInstances", params)["task_instances"])
        except _NotFound:
            return []

    # -- backfills -----------------------------------------------------------------------------
    def set_paused(self, dag_id: str, paused: bool, attempts: int = 8) -> None:
        """Pause or unpause ``dag_id`` (the scheduler runs no backfill run of a paused DAG)."""
        self.request("PATCH", f"dags/{dag_id}", json={"is_paused": paused}, attempts=attempts)

    def backfill_dates(self, body: Mapping[str, Any], attempts: int = 8) -> list[str]:
        """The logical dates a backfill with ``body`` would run (``POST /backfills/dry_run``)."""
        reply = self.request("POST", "backfills/dry_run", json=dict(body), attempts=attempts)
        return [str(item["logical_date"]) for item in reply["backfills"]]

    def create_backfill(self, body: Mapping[str, Any], attempts: int = 8) -> dict[str, Any]:
        """Create a backfill (``POST /backfills``), retrying while the metadata database is busy.

        A try whose answer was lost may have created the backfill already; the retry's 409
        ("already a running backfill") is then answered with that backfill when its dates and run
        conf are the ones asked for.

        Raises
        ------
        AirflowApiConflict
            Another backfill of the DAG is still running.
        """
        try:
            return dict(self.request("POST", "backfills", json=dict(body), attempts=attempts))
        except AirflowApiConflict:
            running = [
                b
                for b in self.request("GET", "backfills", {"dag_id": body["dag_id"]}, attempts=attempts)["backfills"]
                if b.get("completed_at") is None
            ]
            for backfill in running:
                same_range = _day(backfill["from_date"]) == _day(body["from_date"]) and _day(
                    backfill["to_date"]
                ) == _day(body["to_date"])
                if same_range and (backfill.get("dag_run_conf") or {}) == (body.get("dag_run_conf") or {}):
                    return dict(backfill)
            ids = ", ".join(f"#{b['id']} {b['from_date'][:10]}..{b['to_date'][:10]}" for b in running)
            raise AirflowApiConflict(
                f"{body['dag_id']} already has a running backfill ({ids or 'unknown'}); wait for it to finish "
                f"or cancel it (PUT /api/v2/backfills/<id>/cancel) before starting another"
            ) from None


def _day(value: str) -> str:
    """The ``YYYY-MM-DD`` part of an ISO date or date-time."""
    return str(value)[:10]
