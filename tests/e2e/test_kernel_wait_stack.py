"""Issue 17 acceptance under the real scheduler (api-server, scheduler, dag-processor, triggerer; SQLite).

One story on one stack, in steps (``scenario``: file order):

1. TM delivered at the SOC exchange with no SPICE kernels: the exchange watcher starts ingest,
   staging and level processing follow by asset events; no L1 file, every TM file is "waiting for
   kernels" in the ledger.
2. Kernel zips arrive in the ``from_soc`` tree: its watcher starts ``stix_spice_sync``, whose
   ``stix_spice_kernels`` event runs level processing; the L1 files are made, each naming its meta
   kernel.
3. ``stix_soar_publish`` (loopback SOAR target, a local folder) delivers exactly one file per
   product and day/request and announces them (``stix_soar_published``); a second run delivers
   nothing new and announces nothing.
4. A corrupt TM file at the SOC exchange: one mail naming the file and the reason, a red ingest run.

The truths used do not come from our own output: "no L1 at all", "every L1 names its kernels",
"one delivered file per product and request", "one mail naming the file".
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.ridlut_support import RidApi, api_row
from tests.support.stack_wait import wait_on_stack

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.scenario]

#: Hour of simulated telemetry with science requests (as tests/dags/pipeline/test_kernel_wait.py).
START = "2024-05-14T10:00:00"
#: Kernel deliveries covering it: predicted to the end, flown up to the third date.
KERNELS = ("2024-05-01", "2024-06-30", "2024-05-20")
CHAIN = ("stix_tm_ingest", "stix_tm_staging", "stix_level_processing", "stix_spice_sync", "stix_soar_publish")
BAD = "solo_TM_broken.PktTmRaw.SOL.0.2024.135.xml"



def deliver(source: Path, folder: Path) -> Path:
    """Place a file the way the SOC does (temp name, then rename), keeping its modification time."""
    folder.mkdir(parents=True, exist_ok=True)
    temp, target = folder / f".{source.name}.part", folder / source.name
    shutil.copy2(source, temp)
    os.replace(temp, target)
    return target


class Story:
    """The running stack, its settings and what the steps hand on."""

    def __init__(self, stack, sink, root: Path, env: dict[str, str], settings, tm_files: list[str]) -> None:
        self.stack, self.sink, self.root, self.env, self.settings = stack, sink, root, env, settings
        self.tm_files = tm_files

    @property
    def engine(self):
        from stix_lib.db import connect

        return connect(self.settings.pipeline_db_url)

    def l1(self) -> list[Path]:
        folder = self.settings.fits_archive_dir / "L1"
        return sorted(folder.rglob("*.fits")) if folder.exists() else []

    def delivered(self) -> list[Path]:
        target = self.settings.soar_target_dir
        return sorted(p for p in target.rglob("*.fits") if p.is_file()) if target.exists() else []

    def event_runs(self, dag_id: str) -> list[dict]:
        return [r for r in self.stack.runs(dag_id) if r["run_type"] == "asset_triggered"]

    def idle(self, settle: float = 8.0) -> None:
        self.stack.wait_until_idle({}, timeout=300, settle=settle)

    def run_dag(self, dag_id: str, timeout: float = 300) -> dict:
        run_id = self.stack.trigger(dag_id)

        def finished():
            run = self.stack.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        return wait_on_stack(finished, timeout, f"{dag_id} run {run_id}", self.stack)

    def published_events(self, run_id: str) -> list[dict]:
        """``stix_soar_published`` events of one ``stix_soar_publish`` run (REST API)."""
        params = {"source_dag_id": "stix_soar_publish", "source_run_id": run_id, "limit": 100}
        events = self.stack.api("GET", "assets/events", params=params)["asset_events"]
        return [e for e in events if e["name"] == "stix_soar_published"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        path = f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self.stack.api("GET", path, params={"deserialize": True})["value"]


def _simulate(root: Path, reference: Path) -> tuple[list[Path], list[dict]]:
    from stix_lib.dev.simulate import SimulationConfig, simulate

    result = simulate(
        SimulationConfig(start=START, duration=3600.0, out_dir=root / "simulated",
                         idb_dir=reference / "idb", scenario="bsd", seed=3)
    )  # fmt: skip
    import json

    return [Path(p) for p in result.files], json.loads(result.manifest_path.read_text())["requests"]


@pytest.fixture(scope="module")
def story(reference_data):
    from stix_lib.ridlut.table import write_rows_atomic
    from stix_lib.settings import load_settings
    from stix_ops.dev.localservices import SmtpSink, TextHttpServer
    from stix_ops.dev.localstack import LocalStack, StackConfig

    root = Path(tempfile.mkdtemp(prefix="stix-kernel-wait-stack-"))
    env = {
        "STIX_DATA_ROOT": str(root / "data"),
        "STIX_REFERENCE_DATA": str(reference_data),
        "STIX_IDB_DIR": str(reference_data / "idb"),
        "STIX_CONF_DIR": str(reference_data / "stix-conf"),
        "STIX_TM_SOURCE": str(root / "soc-exchange"),
        "STIX_TM_SOURCE_LOCAL": "true",
        "STIX_FROM_SOC_SOURCE": str(root / "soc-from_soc"),
        "STIX_FROM_SOC_SOURCE_LOCAL": "true",
        "STIX_WATCH_INTERVAL": "1",
        "STIX_STAGING_DELAY": "0",
        "STIX_PUBLISH_WAITING_PERIOD": "0",
        "STIX_ALERT_TO": "stix-ops@example.org",
        "STIX_ALERT_FROM": "stix-pipeline@example.org",
    }
    settings = load_settings(environ=env)
    settings.ensure_folders()
    (root / "soc-exchange").mkdir()
    (root / "soc-from_soc" / "spice").mkdir(parents=True)
    tm, requests = _simulate(root, reference_data)
    # the local LUT starts empty; the publishing run's refresh fetches the requests from a loopback data-center API
    write_rows_atomic(settings.rid_lut_file, [])
    rid_api = RidApi(rows=[api_row(i, r["request_id"], r["start_utc"][:19]) for i, r in enumerate(requests, 1)])
    rid_server = TextHttpServer(rid_api.answer).start()
    env["STIX_RID_LUT_UPDATE_URL"] = rid_api.url = f"{rid_server.url}/api/bsd/info/"
    sink = SmtpSink().start()
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.connection_json()
    stack = LocalStack(StackConfig(home=root / "airflow-home", extra_env=env, parallelism=2))
    try:
        stack.prepare()
        stack.start()
        stack.wait_healthy(components=("scheduler", "dag_processor", "triggerer"))
        stack.wait_for_dags(CHAIN)
        for dag_id in CHAIN:
            stack.unpause(dag_id)
        story = Story(stack, sink, root, env, settings, [p.name for p in tm])
        story.rid_api = rid_api

        def watchers_registered() -> bool:
            assets = stack.api("GET", "assets", params={"name_pattern": "stix_soc_", "limit": 10})["assets"]
            names = {w["name"] for a in assets for w in a["watchers"]}
            return {"stix_soc_tm_watcher", "stix_soc_from_soc_watcher"} <= names

        wait_on_stack(watchers_registered, 120, "the exchange watchers", stack)
        for path in tm:
            deliver(path, root / "soc-exchange")
        yield story
    finally:
        stack.stop(grace=5)
        sink.stop()
        rid_server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_tm_without_kernels_waits_and_makes_no_l1(story):
    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState

    def all_waiting():
        rows = ledger.in_state(story.engine, TMState.WAITING_KERNELS)
        return rows if sorted(r.name for r in rows) == sorted(story.tm_files) else None

    rows = wait_on_stack(all_waiting, 300, "every TM file to wait for kernels", story.stack)
    story.idle()
    assert all(r.error.startswith("waiting for kernels") for r in rows), [r.error for r in rows]
    assert story.l1() == []
    # the chain ran by events (watcher → ingest → staging → processing), each run green
    for dag_id in ("stix_tm_ingest", "stix_tm_staging", "stix_level_processing"):
        runs = story.event_runs(dag_id)
        assert runs and all(r["state"] == "success" for r in runs), (dag_id, runs)
    assert story.sink.messages == []


def test_kernels_arriving_run_processing_and_make_l1(story):
    from astropy.io import fits

    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    processing_before = len(story.event_runs("stix_level_processing"))
    zips = story.root / "zips"
    manifest = build_kernel_set(story.root / "kernel-build", *KERNELS, make_zips=True, zip_dir=zips)
    for path in manifest.zips:
        deliver(Path(path), story.root / "soc-from_soc" / "spice")

    def processed():
        rows = ledger.in_state(story.engine, TMState.PROCESSED)
        return rows if sorted(r.name for r in rows) == sorted(story.tm_files) else None

    wait_on_stack(processed, 300, "the TM files to be processed after the kernels arrived", story.stack)
    story.idle()
    sync = story.event_runs("stix_spice_sync")
    assert [r["state"] for r in sync] == ["success"]
    later = story.event_runs("stix_level_processing")[processing_before:]
    assert later and all(r["state"] == "success" for r in later), later
    assert ledger.in_state(story.engine, TMState.WAITING_KERNELS) == []
    l1 = story.l1()
    assert any("stix-sci-" in p.name for p in l1) and any("stix-ql-lightcurve" in p.name for p in l1)
    for path in l1:
        assert fits.getheader(path)["SPICE_MK"].strip(), path.name


def _identity(name: str) -> tuple[str, str]:
    """(level and product, request id or day) of an archive file name ``solo_<L>_<product>_<time>_V<nn>[_<rid>]``."""
    parts = Path(name).name.removesuffix(".fits").split("_")
    level_product = f"{parts[1]}_{parts[2]}"
    return (level_product, parts[5]) if len(parts) > 5 else (level_product, parts[3][:8])


def test_publishing_delivers_one_file_per_product_and_request_once(story):
    from astropy.io import fits

    from stix_lib.ridlut import RidLut

    run = story.run_dag("stix_soar_publish")
    assert run["state"] == "success", story.stack.task_problems({"stix_soar_publish": run["dag_run_id"]})
    # the refresh before publishing asked the data-center API and stored every simulated request
    assert story.rid_api.requests
    lut = RidLut.read(story.settings.rid_lut_file)
    assert all(lut.reason(int(row["unique_id"])) for row in story.rid_api.rows)
    delivered = story.delivered()
    assert delivered, "nothing delivered"
    identities = [_identity(p.name) for p in delivered]
    assert len(identities) == len(set(identities)), sorted(p.name for p in delivered)
    l1 = [p for p in delivered if "_L1_" in p.name]
    assert {_identity(p.name) for p in l1} == {_identity(p.name) for p in story.l1()}
    for path in l1:
        assert fits.getheader(path)["SPICE_MK"].strip(), path.name
    snapshot = {p: p.stat().st_mtime_ns for p in delivered}
    (event,) = story.published_events(run["dag_run_id"])  # from the declared outlet, naming every delivery
    assert event["source_task_id"] == "announce_published"
    assert sorted(event["extra"]["files"]) == sorted(p.name for p in delivered)

    again = story.run_dag("stix_soar_publish")
    assert again["state"] == "success"
    summary = story.xcom("stix_soar_publish", again["dag_run_id"], "publish")
    assert [o for o in summary["outcomes"] if o["delivered_name"]] == []
    assert {p: p.stat().st_mtime_ns for p in story.delivered()} == snapshot
    assert story.published_events(again["dag_run_id"]) == []  # nothing delivered wakes nobody


def test_corrupt_tm_file_mails_once_and_turns_the_ingest_run_red(story):
    from stix_lib.db import ledger
    from stix_lib.db.schema import TMState

    ingest_before = len(story.event_runs("stix_tm_ingest"))
    mails_before = len(story.sink.messages)
    broken = story.root / BAD
    broken.write_text("<ResponsePart><Response><PktRawResponse><PktRawResponseElement packetID='1'>")
    stamp = time.time() - 2 * 3600  # older than the settle time: broken, not still being written
    os.utime(broken, (stamp, stamp))
    deliver(broken, story.root / "soc-exchange")

    def finished():
        runs = story.event_runs("stix_tm_ingest")[ingest_before:]
        return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else None

    runs = wait_on_stack(finished, 180, "the ingest run of the corrupt file", story.stack)
    story.idle()
    assert [r["state"] for r in story.event_runs("stix_tm_ingest")[ingest_before:]] == ["failed"], runs
    mails = story.sink.wait_for(mails_before + 1)[mails_before:]
    assert len(mails) == 1, [m["Subject"] for m in mails]
    (mail,) = mails
    assert BAD in mail["Subject"] and "DATA PROBLEM" in mail["Subject"]
    body = mail.get_body(("plain", "html")).get_content()
    assert BAD in body and "truncated or broken XML" in body
    (row,) = ledger.in_state(story.engine, TMState.QUARANTINED)
    assert row.name == BAD and "truncated or broken XML" in row.error
