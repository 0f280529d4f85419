"""The operator's first week in a real browser: log in, DAG list, trigger forms, backfill, asset graph.

One local stack for the module (`make up`'s setup over empty demo folders); Debian's chromium under
Playwright. Screenshots go to ``build/ui-screenshots`` (kept as CI artifacts). Run under
``flock /tmp/stix-heavy.lock`` (a real Airflow: minutes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

# one stack and one browser page shared by the module: steps in file order (unpausing, triggering and
# backfills change the stack for the steps after them)
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.scenario]

STIX_DAGS = (
    "stix_conf_sync", "stix_daily_products", "stix_fits_nas_sync", "stix_level_processing", "stix_pipeline_monitor",
    "stix_reprocess", "stix_soar_publish", "stix_spice_sync", "stix_tm_ingest", "stix_tm_staging",
)  # fmt: skip


def _wait(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _manual_runs(stack, dag_id: str) -> list[dict]:
    return [r for r in stack.runs(dag_id) if r["run_type"] == "manual"]


def _open_trigger_dialog(page, stack, dag_id: str) -> None:
    page.goto(f"{stack.config.api_url}/dags/{dag_id}")
    page.get_by_test_id("trigger-dag-button").click()
    page.get_by_role("dialog").wait_for()


def _submit_trigger_form_unchanged(page, stack, dag_id: str, shot) -> dict:
    """Open the DAG's trigger form, press Trigger without touching a field; return the run it created."""
    _open_trigger_dialog(page, stack, dag_id)
    dialog = page.get_by_role("dialog")
    if dialog.get_by_text("Single Run", exact=True).count():
        dialog.get_by_text("Single Run", exact=True).click()
    page.wait_for_timeout(1000)
    shot(f"form-{dag_id}")
    submit = dialog.get_by_test_id("trigger-dag-submit")
    assert submit.is_enabled(), f"{dag_id}: Trigger disabled on the unchanged form"
    submit.click()
    page.get_by_text("Dag Run Triggered").first.wait_for()
    shot(f"triggered-{dag_id}")
    return _wait(lambda: _manual_runs(stack, dag_id), 30, f"a manual run of {dag_id}")[-1]


@pytest.fixture(scope="module")
def shot(page, screenshots):
    counter = iter(range(2, 100))

    def take(name: str) -> None:
        page.screenshot(path=screenshots / f"{next(counter):02d}-{name}.png", full_page=True)

    return take


def test_dag_list_shows_every_stix_dag(page, ui_stack, shot):
    page.goto(f"{ui_stack.config.api_url}/dags")
    for dag_id in STIX_DAGS:
        page.get_by_text(dag_id, exact=True).first.wait_for()
    shot("dag-list")


@pytest.mark.parametrize("dag_id", ["stix_level_processing", "stix_reprocess"])
def test_trigger_form_submits_unchanged(page, ui_stack, shot, dag_id):
    """The form opens submittable; the run gets the Params' defaults (empty overrides = the settings)."""
    run = _submit_trigger_form_unchanged(page, ui_stack, dag_id, shot)
    dag = ui_stack.api("GET", f"dags/{dag_id}/details")
    defaults = {name: spec.get("value") if isinstance(spec, dict) else spec for name, spec in dag["params"].items()}
    assert {k: run["conf"].get(k) for k in defaults} == defaults


def test_backfill_from_the_ui(page, ui_stack, shot):
    """DAG page → Trigger → Backfill: two days of stix_reprocess as a backfill the scheduler knows."""
    _open_trigger_dialog(page, ui_stack, "stix_reprocess")
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Backfill", exact=True).first.click()
    pickers = dialog.get_by_test_id("datetime-input")
    for index, day in enumerate(("2024/05/13", "2024/05/14")):  # From, To (date-time pickers)
        pickers.nth(index).click()
        # the picker just opened is the last in the page (the previous one may not have closed yet)
        page.get_by_placeholder("YYYY/MM/DD").last.fill(day)
        page.get_by_placeholder("HH:mm").last.fill("00:00")
        dialog.get_by_text("Date Range").click()  # closes the picker
    dialog.get_by_text("2 runs will be triggered.").wait_for()
    shot("backfill-form")
    dialog.get_by_role("button", name="Run Backfill").click()
    page.get_by_text("Backfill generated").first.wait_for()
    shot("backfill-created")
    backfills = ui_stack.api("GET", "backfills", params={"dag_id": "stix_reprocess"})["backfills"]
    assert len(backfills) == 1
    assert (backfills[0]["from_date"][:10], backfills[0]["to_date"][:10]) == ("2024-05-13", "2024-05-14")


def test_asset_graph_shows_the_chain(page, ui_stack, shot):
    """The L1 asset: produced by level processing, consumed by the daily products and the NAS mirror."""
    assets = ui_stack.api("GET", "assets", params={"limit": 100})["assets"]
    asset = next(a for a in assets if a["name"] == "stix_fits_l1")
    consumers = {d["dag_id"] for d in asset.get("scheduled_dags", [])}
    assert {"stix_daily_products", "stix_fits_nas_sync"} <= consumers
    page.goto(f"{ui_stack.config.api_url}/assets/{asset['id']}")
    for dag_id in ("stix_level_processing", "stix_daily_products", "stix_fits_nas_sync"):
        page.get_by_text(dag_id, exact=True).first.wait_for()
    shot("asset-graph-fits-l1")


def test_unpausing_publish_and_reprocess_starts_no_run(ui_stack):
    """Under the real scheduler: unpaused, neither DAG runs a past or today's scheduled run at once."""
    from datetime import UTC, datetime

    from stix_ops.timetables import GRACE

    unpaused_at = datetime.now(UTC)
    for dag_id in ("stix_soar_publish", "stix_reprocess"):
        ui_stack.unpause(dag_id)
    time.sleep(20)  # several scheduler loops
    for dag_id in ("stix_soar_publish", "stix_reprocess"):
        # a run due within GRACE before the unpause is the day's own run (e.g. this test at 05:03): allowed
        scheduled = [
            r
            for r in ui_stack.runs(dag_id)
            if r["run_type"] == "scheduled" and datetime.fromisoformat(r["run_after"]) < unpaused_at - GRACE
        ]
        assert scheduled == [], (dag_id, scheduled)
        ui_stack.api("PATCH", f"dags/{dag_id}", json={"is_paused": True})


def test_monitor_first_run_reaches_the_api(ui_stack):
    """The local stack configures the monitor: its first run uses the REST API (no false alert)."""
    ui_stack.unpause("stix_pipeline_monitor")
    run_id = ui_stack.trigger("stix_pipeline_monitor")
    ui_stack.wait_until_idle({"stix_pipeline_monitor": run_id}, timeout=180, settle=0)
    run = ui_stack.api("GET", f"dags/stix_pipeline_monitor/dagRuns/{run_id}")
    assert run["state"] == "success"
    report = ui_stack.api(
        "GET", f"dags/stix_pipeline_monitor/dagRuns/{run_id}/taskInstances/check_pipeline/xcomEntries/return_value"
    )["value"]
    assert "airflow_api" not in " ".join(report.get("opened", [])), report
    assert report.get("health"), report


def test_a_failing_task_is_named_with_its_error(ui_stack):
    """What `make demo` prints first when a task fails: DAG, task, try and the error from the task log.

    A TM file that does not exist: the processing run's `check` fails for good, naming it and why.
    """
    missing = "/nonexistent/solo_TM_missing.PktTmRaw.xml"
    ui_stack.unpause("stix_level_processing")
    run_id = ui_stack.trigger("stix_level_processing", conf={"input_files": [missing]})
    problems = _wait(lambda: ui_stack.task_problems({"stix_level_processing": run_id}), 240, "the failed check")
    (state, text), *_ = problems
    assert state == "failed", problems
    assert text.startswith("DAG stix_level_processing, task check (try 1): "), text
    assert "solo_TM_missing.PktTmRaw.xml" in text and "file not found" in text, text
