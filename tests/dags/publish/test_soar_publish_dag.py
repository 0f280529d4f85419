"""``stix_soar_publish`` under ``dag.test()``: local and SFTP delivery, pinned host key, killed upload,
report mail through a real SMTP server, dry run, RID LUT refresh modes, Param validation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from astropy.io import fits

from tests.support.publish_dag_support import DAG_ID, published_events, queued_runs, run_dag, task_states, xcom
from tests.support.publish_support import data_counts, tree_state, write_product

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[3]
CPD = "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V02_{rid:010d}-50883.fits"
SUP = "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V02_{rid:010d}-50883.fits"
DAILY = "solo_L1_stix-ql-lightcurve_20200506_V02.fits"
DAILY2 = "solo_L1_stix-ql-lightcurve_20200507_V02.fits"


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _html_body(message) -> str:
    return message.get_body(preferencelist=("html", "plain")).get_content()


# -- the DAG and its Params --------------------------------------------------------------------------
def test_dag_shape_and_params(dagbag) -> None:
    from stix_lib.publish.selection import DEFAULT_LEVELS, DEFAULT_PRODUCTS
    from stix_ops.operators import publish as publish_ops

    dag = dagbag.get_dag(DAG_ID)
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 5 * * *", "UTC")
    assert dag.max_active_runs == 1 and dag.catchup is False
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:2] == ["refresh_rid_lut", "publish"] and sorted(order[2:]) == ["announce_published", "report_mail"]
    assert dag.get_task("announce_published").upstream_task_ids == {"publish"}
    assert [o.name for o in dag.get_task("announce_published").outlets] == ["stix_soar_published"]
    assert dag.get_task("publish").outlets == []  # a declared outlet of a successful task always gets an event
    assert dag.get_task("report_mail").is_teardown and not dag.get_task("publish").is_teardown
    cli_options = {
        "target_dir", "target_host", "same_esa_name_dir", "rid_lut_file", "rid_lut_update", "rid_lut_update_url",
        "sort_files", "blacklist_files", "supplement_report", "waiting_period", "ll_waiting_period", "future_guard",
        "batch_size", "include_versions", "include_levels", "include_products", "fits_dir", "spice_file", "dry_run",
        "report_mail",
    }  # fmt: skip
    params = dag.params
    assert set(params.keys()) == cli_options
    for name in cli_options:
        param = params.get_param(name)
        assert param.description and param.schema.get("type"), name
    settings_backed = {"target_dir", "target_host", "fits_dir", "batch_size", "waiting_period", "rid_lut_file"}
    assert all(params[name] is None for name in settings_backed)  # "from settings", resolved at run time
    assert params.get_param("rid_lut_update").schema["enum"] == ["update", "skip", "only"]
    assert (publish_ops.DEFAULT_LEVELS, publish_ops.DEFAULT_PRODUCTS) == (DEFAULT_LEVELS, DEFAULT_PRODUCTS)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"batch_size": -5}, "Invalid input for param batch_size: -5 is less than the minimum of -1"),
        ({"waiting_period": "two weeks"}, "Invalid input for param waiting_period: 'two weeks' does not match"),
        ({"rid_lut_update": "sometimes"}, "Invalid input for param rid_lut_update: 'sometimes' is not one of"),
        ({"include_versions": "V01,latest"}, "Invalid input for param include_versions"),
    ],
)
def test_bad_params_are_rejected(dagbag, settings, conf: dict, message: str) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError) as raised:
        run_dag(dagbag, conf)
    assert message in str(raised.value)
    assert _visible(Path(settings.soar_target_dir)) == []


# -- local delivery, report mail, retry of a failed copy --------------------------------------------
def test_local_delivery_report_mail_and_retry(dagbag, soar, smtp_sink, unpause_nas_sync, tmp_path: Path) -> None:
    for rid, counts in {1: (1, 1), 3: (1, 1), 42: (4, 2)}.items():  # 3: same DATA as 1; 42: a supplement
        write_product(soar.fits / "L1" / "BSD", CPD.format(rid=rid), counts=counts)
    write_product(soar.fits / "L1" / "QL", DAILY)
    write_product(soar.fits / "L1" / "QL", DAILY2)
    blacklist = tmp_path / "blacklist.txt"
    blacklist.write_text(f"{DAILY}\n")
    (soar.target / DAILY2).mkdir(parents=True)  # this copy fails on the first run

    run = run_dag(dagbag, {"blacklist_files": str(blacklist)})

    assert run.state == "failed"
    assert task_states(run) == {
        "refresh_rid_lut": "success", "publish": "failed", "announce_published": "upstream_failed",
        "report_mail": "success",
    }  # fmt: skip
    assert len(soar.rid_api.requests) == 1  # the LUT was one window behind
    report = xcom(run)
    assert report["counts"] == {"E": 1, "I": 2, "S": 1, "P": 1}
    assert _visible(soar.target) == sorted([CPD.format(rid=1), SUP.format(rid=42), DAILY2])
    comment = str(fits.getheader(soar.target / SUP.format(rid=42))["COMMENT"])
    assert "BSD request id: '42' reason: 'big flare, imaging, api'" in comment  # from the refreshed LUT
    assert data_counts(soar.target / SUP.format(rid=42)) == [4, 2]
    assert published_events(run) == []  # a failed task emits no asset event
    messages = {m["Subject"]: m for m in smtp_sink.wait_for(2)}
    assert len(smtp_sink.messages) == 2
    mail = messages["[STIX pipeline] STIX SOAR publishing ERROR-report E 1 I 2 S 1 P 1"]
    assert mail["To"] == "stix-ops@example.org" and mail["From"] == "stix-pipeline@example.org"
    body = _html_body(mail)
    assert "errors E 1, ignored I 2, supplements S 1, published P 1" in body and DAILY2 in body
    assert "[STIX pipeline] FAILED stix_soar_publish.publish" in messages

    (soar.target / DAILY2).rmdir()
    nas_sync = unpause_nas_sync()
    run = run_dag(dagbag, {"blacklist_files": str(blacklist)})

    assert run.state == "success"
    assert task_states(run) == {
        "refresh_rid_lut": "success", "publish": "success", "announce_published": "success", "report_mail": "success"
    }  # fmt: skip
    report = xcom(run)
    assert report["counts"] == {"E": 0, "I": 0, "S": 0, "P": 1}
    assert [(o["name"], o["outcome"], o["attempt"]) for o in report["outcomes"]] == [(DAILY2, "published", 2)]
    assert _visible(soar.target) == sorted([CPD.format(rid=1), SUP.format(rid=42), DAILY2])
    assert data_counts(soar.target / DAILY2) == data_counts(soar.fits / "L1" / "QL" / DAILY2)
    (event,) = published_events(run)
    assert event["files"] == [DAILY2] and event["counts"]["P"] == 1
    assert queued_runs(nas_sync) == 1  # the NAS mirror follows
    assert smtp_sink.wait_for(3)[-1]["Subject"] == "[STIX pipeline] STIX SOAR publishing report E 0 I 0 S 0 P 1"
    supplement_report = soar.settings.data_root / "publish" / "supplement_report.csv"
    assert supplement_report.read_text().splitlines()[1].startswith(SUP.format(rid=42))


# -- SFTP over the real sshd, RID API down, host key pinned -------------------------------------------
def test_sftp_delivery_and_pinned_host_key(
    dagbag, soar, soar_connection, smtp_sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = soar_connection["remote"]
    write_product(soar.fits / "L1", DAILY)
    soar.rid_api.status[0] = 500  # the API is down; the local LUT is used

    run = run_dag(dagbag)

    assert run.state == "success", task_states(run)
    assert _visible(remote) == [DAILY] and data_counts(remote / DAILY) == data_counts(soar.fits / "L1" / DAILY)
    assert _visible(soar.target) == []  # nothing went to the local default folder
    report = xcom(run)
    assert report["counts"] == {"E": 0, "I": 0, "S": 0, "P": 1}
    assert report["target"].startswith(f"{soar_connection['login']}@127.0.0.1:") and str(remote) in report["target"]
    assert len(soar.rid_api.requests) == 3  # three attempts, then a warning
    assert any(w.startswith("RID API ERROR") for w in report["warnings"])
    assert "RID API ERROR" in _html_body(smtp_sink.wait_for(1)[0])

    # The host presents a key other than the pinned one: refused before anything is claimed.
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True, timeout=60)
    pinned_wrong = {**soar_connection["extra"], "host_key": other.with_suffix(".pub").read_text()}
    wrong = {key: value for key, value in soar_connection.items() if key != "remote"} | {"extra": pinned_wrong}
    monkeypatch.setenv("AIRFLOW_CONN_STIX_SOAR", json.dumps(wrong))
    write_product(soar.fits / "L1", DAILY2)

    run = run_dag(dagbag, {"rid_lut_update": "skip"})

    assert run.state == "failed"
    assert task_states(run) == {
        "refresh_rid_lut": "skipped", "publish": "failed", "announce_published": "upstream_failed",
        "report_mail": "skipped",
    }  # fmt: skip
    assert _visible(remote) == [DAILY]
    failure = smtp_sink.wait_for(2)[-1]
    assert failure["Subject"] == "[STIX pipeline] FAILED stix_soar_publish.publish"
    assert "differs from the pinned key" in _html_body(failure)
    from stix_lib.db import connect
    from stix_lib.publish import PublishHistory

    assert PublishHistory(connect(soar.settings.pipeline_db_url)).get(DAILY2) is None  # nothing claimed


# -- an upload killed half-way is delivered once by the next run ------------------------------------
_SLOW_UPLOAD = """
import sys, time
import paramiko
put = paramiko.SFTPClient.put
def slow_put(self, localpath, remotepath, callback=None, confirm=True):
    return put(self, localpath, remotepath, callback=lambda done, total: time.sleep(0.02), confirm=confirm)
paramiko.SFTPClient.put = slow_put
from stix_ops.config import get_settings, pipeline_db_url
from stix_ops.operators.publish import param_defaults, publish_with_params
settings = get_settings()
params = {**param_defaults(), "rid_lut_update": "skip"}
report = publish_with_params(params, settings, pipeline_db_url(settings), run_id="to-be-killed")
print(report.counts, flush=True)
"""


def test_killed_upload_is_delivered_once_by_the_next_run(dagbag, soar, soar_connection, smtp_sink) -> None:
    remote = soar_connection["remote"]
    source = write_product(soar.fits / "L1", DAILY, counts=range(400_000))  # ~3 MB: ~100 slow SFTP writes
    part = remote / f".{DAILY}.part"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-c", _SLOW_UPLOAD], env=env, cwd=ROOT, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (part.exists() and part.stat().st_size > 0):
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert _visible(remote) == [part.name]  # half a file under the temporary name, nothing under the real one
    assert part.stat().st_size < source.stat().st_size

    run = run_dag(dagbag, {"rid_lut_update": "skip"})

    assert run.state == "success", task_states(run)
    assert _visible(remote) == [DAILY]  # the stale .part is gone
    assert data_counts(remote / DAILY) == data_counts(source)
    report = xcom(run)
    assert [(o["name"], o["outcome"]) for o in report["outcomes"]] == [(DAILY, "published")]
    assert f"removed 1 stale partial upload(s): {part.name}" in report["warnings"]
    delivered = (remote / DAILY).stat()
    assert smtp_sink.wait_for(1)[0]["Subject"] == "[STIX pipeline] STIX SOAR publishing report E 0 I 0 S 0 P 1"

    # Exactly once: the next run has nothing to deliver (and, with report_mail=activity, nothing to mail).
    run = run_dag(dagbag, {"rid_lut_update": "skip", "report_mail": "activity"})

    assert run.state == "success" and xcom(run)["counts"] == {"E": 0, "I": 0, "S": 0, "P": 0}
    assert task_states(run)["report_mail"] == "skipped" and len(smtp_sink.messages) == 1
    assert published_events(run) == []
    assert (remote / DAILY).stat().st_mtime_ns == delivered.st_mtime_ns and _visible(remote) == [DAILY]


# -- dry run, RID LUT only ----------------------------------------------------------------------------
def test_dry_run_lists_and_delivers_nothing(dagbag, soar, smtp_sink) -> None:
    write_product(soar.fits / "L1" / "BSD", CPD.format(rid=1), counts=(1,))
    write_product(soar.fits / "L1" / "BSD", CPD.format(rid=2), counts=(2,))
    write_product(soar.fits / "L0", "solo_L0_stix-hk-maxi_0642038400_V02U.fits", spice_mk=None)
    before = tree_state(soar.fits, soar.lut)

    run = run_dag(dagbag, {"dry_run": True, "waiting_period": "0s"})

    assert run.state == "success"
    assert task_states(run) == {
        "refresh_rid_lut": "skipped", "publish": "success", "announce_published": "skipped", "report_mail": "skipped"
    }  # fmt: skip
    report = xcom(run)
    assert report["dry_run"] is True and report["counts"] == {"E": 0, "I": 0, "S": 1, "P": 2}
    assert {(o["name"], o["outcome"], o["delivered_name"]) for o in report["outcomes"]} == {
        (CPD.format(rid=1), "published", CPD.format(rid=1)),
        (CPD.format(rid=2), "supplement", SUP.format(rid=2)),
        ("solo_L0_stix-hk-maxi_0642038400_V02.fits", "published", "solo_L0_stix-hk-maxi_0642038400_V02.fits"),
    }
    assert "dry run: RID LUT not updated" in report["warnings"]
    assert report["subject"].startswith("[DRY RUN] ")
    assert _visible(soar.target) == [] and _visible(soar.settings.soar_conflicts_dir) == []
    assert tree_state(soar.fits, soar.lut) == before
    assert not (soar.settings.data_root / "pipeline.sqlite").exists()  # no history written (nor created)
    assert soar.rid_api.requests == [] and smtp_sink.messages == [] and published_events(run) == []


def test_rid_lut_update_only(dagbag, soar) -> None:
    from stix_lib.ridlut import RidLut

    write_product(soar.fits / "L1", DAILY)
    run = run_dag(dagbag, {"rid_lut_update": "only"})

    assert run.state == "success"
    assert task_states(run) == {
        "refresh_rid_lut": "success", "publish": "skipped", "announce_published": "skipped", "report_mail": "skipped"
    }  # fmt: skip
    assert xcom(run, "refresh_rid_lut")["added"] == 1 and RidLut.read(soar.lut).reason(42) == "big flare, imaging, api"
    assert _visible(soar.target) == []
