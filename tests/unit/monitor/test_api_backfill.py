"""Backfill creation through the REST client: retried while the metadata DB is locked, idempotent when an
answer is lost, a clear error when another backfill runs (fault injection at the HTTP transport; the real
api-server path is tests/dags/daily/test_reprocess_backfill.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from stix_lib.cli.main import main
from stix_lib.monitor.api import AirflowApi, AirflowApiConflict, AirflowApiError

BODY = {
    "dag_id": "stix_reprocess",
    "from_date": "2024-03-03T00:00:00Z",
    "to_date": "2024-03-05T00:00:00Z",
    "dag_run_conf": {"version": 3},
    "reprocess_behavior": "none",
    "max_active_runs": 2,
}
LOCKED = httpx.Response(503, json={"detail": "database is locked, try again"})


def _backfill(number: int, first: str, last: str, conf: dict, completed: str | None = None) -> dict:
    return {"id": number, "dag_id": "stix_reprocess", "from_date": first, "to_date": last, "dag_run_conf": conf,
            "completed_at": completed}  # fmt: skip


def _api(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[AirflowApi, list[str]]:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return handler(request)

    api = AirflowApi("http://127.0.0.1:9", "admin", "")
    api._client = httpx.Client(transport=httpx.MockTransport(record))
    return api, seen


def test_locked_database_is_retried_until_the_backfill_exists(monkeypatch) -> None:
    monkeypatch.setattr("stix_lib.monitor.api.time.sleep", lambda seconds: None)
    answers = [LOCKED, LOCKED, httpx.Response(200, json=_backfill(7, BODY["from_date"], BODY["to_date"], {}))]
    api, seen = _api(lambda request: answers.pop(0))
    assert api.create_backfill(BODY)["id"] == 7
    assert seen == ["POST /api/v2/backfills"] * 3


def test_a_lost_answer_is_not_a_second_backfill(monkeypatch) -> None:
    """The first POST created the backfill but its answer was lost; the retry's 409 finds it."""
    monkeypatch.setattr("stix_lib.monitor.api.time.sleep", lambda seconds: None)
    created: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if created:
                return httpx.Response(409, json={"detail": "There is already a running backfill"})
            created.append(_backfill(11, "2024-03-03T00:00:00Z", "2024-03-05T00:00:00Z", {"version": 3}))
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(200, json={"backfills": created, "total_entries": len(created)})

    api, seen = _api(handler)
    assert api.create_backfill(BODY)["id"] == 11
    assert seen == ["POST /api/v2/backfills", "POST /api/v2/backfills", "GET /api/v2/backfills"]


def test_another_running_backfill_is_named() -> None:
    running = _backfill(4, "2024-01-01T00:00:00Z", "2024-01-31T00:00:00Z", {"version": 3})
    done = _backfill(3, "2024-03-03T00:00:00Z", "2024-03-05T00:00:00Z", {"version": 3}, completed="2024-05-01")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(409, json={"detail": "There is already a running backfill"})
        return httpx.Response(200, json={"backfills": [running, done], "total_entries": 2})

    api, _ = _api(handler)
    with pytest.raises(AirflowApiConflict, match=r"#4 2024-01-01\.\.2024-01-31.*cancel"):
        api.create_backfill(BODY)


def test_server_errors_give_up_after_the_attempts(monkeypatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("stix_lib.monitor.api.time.sleep", pauses.append)
    api, seen = _api(lambda request: LOCKED)
    with pytest.raises(AirflowApiError, match="503"):
        api.create_backfill(BODY, attempts=4)
    assert len(seen) == 4 and pauses == [2.0, 4.0, 8.0]


def test_cli_refuses_a_reversed_range_and_reports_an_unreachable_api(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("STIX_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("STIX_AIRFLOW_API_URL", "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.setattr("stix_lib.monitor.api.time.sleep", lambda seconds: None)
    assert main(["reprocess", "--from", "2024-03-05", "--to", "2024-03-03"]) == 2
    assert "before --from" in capsys.readouterr().err
    assert main(["reprocess", "--from", "2024-03-03", "--to", "2024-03-05"]) == 3
    assert "unreachable" in capsys.readouterr().err


def test_cli_body_defaults_to_the_next_processing_version(monkeypatch, tmp_path) -> None:
    from stix_lib.cli import reprocess_cmd
    from stix_lib.cli.main import build_parser
    from stix_lib.settings import load_settings

    settings = load_settings(environ={"STIX_DATA_ROOT": str(tmp_path), "STIX_PROCESSING_VERSION": "5"})
    argv = ["reprocess", "--from", "2024-03-03", "--to", "2024-03-03", "--end-level", "L1", "--run-per", "day"]
    body = reprocess_cmd.backfill_body(build_parser().parse_args(argv), settings)
    assert body["dag_id"] == "stix_reprocess"
    assert body["dag_run_conf"] == {"version": 6, "end_level": "L1"}
    assert json.loads(json.dumps(body))["from_date"] == "2024-03-03T00:00:00Z"


def test_cli_body_by_default_makes_one_run_per_month(tmp_path) -> None:
    """The month runs start on the 1st; the asked days travel in the conf and cut the first and last month."""
    from stix_lib.cli import reprocess_cmd
    from stix_lib.cli.main import build_parser
    from stix_lib.settings import load_settings

    settings = load_settings(environ={"STIX_DATA_ROOT": str(tmp_path), "STIX_PROCESSING_VERSION": "2"})
    args = build_parser().parse_args(["reprocess", "--from", "2024-03-05", "--to", "2025-02-10", "--version", "3"])
    body = reprocess_cmd.backfill_body(args, settings)
    assert (body["dag_id"], body["from_date"], body["to_date"]) == (
        "stix_reprocess_monthly", "2024-03-01T00:00:00Z", "2025-02-10T00:00:00Z",
    )  # fmt: skip
    assert body["dag_run_conf"] == {"version": 3, "first_day": "2024-03-05", "last_day": "2025-02-10"}
