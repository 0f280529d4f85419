"""Telemetry ingest from a real OpenSSH server: pinned host key, new files once, quarantine, growing files."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pendulum
import pytest

pytestmark = pytest.mark.airflow

GOOD = ["solo_BatchRequest.PktTmRaw.SOL.0.2019.331.10.00.00.000.AAAA@1.xml", "b.PktTmRaw.xml"]
BAD = "broken.PktTmRaw.xml"


@pytest.fixture
def soc_source(tmp_path: Path, settings, monkeypatch) -> Path:
    """The SOC exchange folder, served over SSH (``tm_source`` remote)."""
    source = tmp_path / "soc" / "from_edds" / "tm"
    source.mkdir(parents=True)
    monkeypatch.setenv("STIX_TM_SOURCE", str(source))
    monkeypatch.setenv("STIX_TM_SOURCE_LOCAL", "false")
    return source


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_ingest_dag_over_ssh_pulls_once_and_quarantines(
    dagbag, settings, soc_source, soc_connection, tm_bytes, monkeypatch, smtp_sink
):
    from airflow.utils.state import DagRunState
    from sqlalchemy import select

    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState, tm_files
    from stix_lib.tm.obt_range import read_obt_range
    from tests.support.ingest_helpers import asset_events

    for name in GOOD:
        (soc_source / name).write_bytes(tm_bytes)
    (soc_source / BAD).write_text("<ResponsePart><Response><PktRawResponse><PktRawResponseElement packetID='1'>")
    _age(soc_source / BAD, 2 * 3600)  # older than the settle time: really broken, not still being written
    (soc_source / "notes.txt").write_text("not matched by the pattern")
    events_before = len(asset_events("stix://tm/incoming"))

    dag = dagbag.get_dag("stix_tm_ingest")
    run = dag.test(logical_date=pendulum.datetime(2026, 2, 1, tz="UTC"))
    # a corrupt file at the SOC exchange is a data problem: a red run and one mail naming file and reason
    assert run.state == DagRunState.FAILED
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"pull_tm": "success", "report_data_problems": "failed"}
    (mail,) = smtp_sink.wait_for(1)
    assert BAD in mail["Subject"] and "DATA PROBLEM" in mail["Subject"]
    body = mail.get_body(("html", "plain")).get_content()
    assert "truncated or broken XML" in body and "Next step" in body

    incoming = settings.soc_incoming_dir
    assert sorted(p.name for p in incoming.iterdir()) == sorted(GOOD)
    assert all((incoming / name).read_bytes() == tm_bytes for name in GOOD)
    engine = connect(settings.pipeline_db_url)
    rows = {r.name: r for r in ledger.in_state(engine, TMState.INCOMING)}
    assert sorted(rows) == sorted(GOOD)
    expected = read_obt_range(incoming / GOOD[0])
    with engine.connect() as conn:
        stored = {row.name: row for row in conn.execute(select(tm_files)).all()}
    assert all(stored[n].source.startswith(f"{soc_connection['login']}@127.0.0.1:") for n in GOOD)
    starts = {n: stored[n].obt_start for n in GOOD}
    obt = {n: stored[n].obt_end for n in GOOD}
    assert starts[GOOD[0]] == expected.start == (628184120 << 16) + 37943
    assert obt[GOOD[0]] == expected.end == (628189995 << 16) + 42007

    # the broken file: quarantined with a reason file and a ledger reason naming file and cause
    quarantined = ledger.in_state(engine, TMState.QUARANTINED)
    assert [r.name for r in quarantined] == [BAD]
    assert BAD in quarantined[0].error and "truncated or broken XML" in quarantined[0].error
    assert (settings.quarantine_dir / BAD).read_bytes() == (soc_source / BAD).read_bytes()
    assert "truncated or broken XML" in (settings.quarantine_dir / f"{BAD}.reason").read_text()

    events = asset_events("stix://tm/incoming")[events_before:]
    assert [sorted(e["files"]) for e in events] == [sorted(GOOD)]

    # second run: everything is known (even after staging moved a file away): nothing pulled again
    (incoming / GOOD[0]).unlink()
    run = dag.test(logical_date=pendulum.datetime(2026, 2, 1, 0, 15, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"pull_tm": "skipped", "report_data_problems": "success"}
    assert len(smtp_sink.messages) == 1  # the quarantined file is mailed once, not again
    assert sorted(p.name for p in incoming.iterdir()) == [GOOD[1]]
    assert len(ledger.in_state(engine, TMState.INCOMING)) == 2
    assert len(asset_events("stix://tm/incoming")) == events_before + 1


def test_wrong_host_key_fails_with_clear_error(settings, soc_source, soc_connection, tm_bytes, monkeypatch):
    import subprocess

    from stix_lib.db import connect, ledger
    from stix_lib.transfer.rsync import HostKeyError
    from stix_ops.operators.ingest import TMIngestOperator

    (soc_source / GOOD[0]).write_bytes(tm_bytes)
    other = settings.data_root / "impostor_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    wrong = " ".join(Path(f"{other}.pub").read_text().split()[:2])
    monkeypatch.setenv(
        "AIRFLOW_CONN_STIX_SOC", json.dumps({**soc_connection, "extra": {**soc_connection["extra"], "host_key": wrong}})
    )
    with pytest.raises(HostKeyError, match=r"does not match the pinned host key") as failure:
        TMIngestOperator(task_id="pull_tm").execute({})
    assert f"127.0.0.1:{soc_connection['port']}" in str(failure.value)
    assert "Host key verification failed" in str(failure.value)
    assert list(settings.soc_incoming_dir.iterdir()) == []
    assert ledger.count_by_state(connect(settings.pipeline_db_url)) == {}


def _tm_chunks(tm_bytes: bytes) -> list[bytes]:
    """The file cut at packet boundaries: header, one chunk per packet element, the closing tags."""
    text = tm_bytes
    marker = b"<PktRawResponseElement"
    first = text.index(marker)
    cuts = [first]
    while (nxt := text.find(marker, cuts[-1] + 1)) != -1:
        cuts.append(nxt)
    end = text.rindex(b"</PktRawResponseElement>") + len(b"</PktRawResponseElement>")
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, end], strict=True)]
    return [p for p in pieces if p] + [text[end:]]


def test_growing_file_is_never_seen_partial(settings, soc_source, ssh_server, soc_connection, tm_bytes):
    """A writer appends to a TM file at the source while ingest runs over SSH again and again.

    Asserted: (1) while the file is incomplete, ingest defers it (no ledger row, nothing in
    incoming/); (2) every time a watcher thread sees the file in incoming/ during the race, its
    content is the complete final file — never a prefix; (3) once complete it is ingested exactly
    once with the full content. rsync's own temp files never appear in incoming/ either.
    """
    from stix_lib.db import connect, ledger
    from stix_lib.settings import load_settings
    from stix_lib.stages.ingest import ingest
    from stix_ops.hooks.ssh import RsyncSSHHook

    name = "growing.PktTmRaw.xml"
    chunks = _tm_chunks(tm_bytes)
    assert b"".join(chunks) == tm_bytes and len(chunks) > 10
    target = soc_source / name
    half = len(chunks) // 2
    with target.open("wb") as out:
        out.write(b"".join(chunks[:half]))
    cfg = load_settings()
    engine = connect(cfg.pipeline_db_url)
    incoming = cfg.soc_incoming_dir
    seen: list[bytes] = []
    foreign: set[str] = set()
    scans = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            scans[0] += 1
            for entry in os.listdir(incoming):
                if entry != name:
                    foreign.add(entry)
                    continue
                try:
                    seen.append((incoming / entry).read_bytes())
                except FileNotFoundError:
                    pass

    def write_rest() -> None:
        with target.open("ab") as out:
            for chunk in chunks[half:]:
                out.write(chunk)
                out.flush()
                time.sleep(0.15)

    with RsyncSSHHook("stix_soc").endpoint() as ssh:
        first = ingest(cfg, engine, ssh)
        assert name in first.deferred and "not complete telemetry yet" in first.deferred[name]
        assert first.new_files == [] and ledger.get(engine, name) is None
        assert not (incoming / name).exists()

        watcher = threading.Thread(target=watch, daemon=True)
        writer = threading.Thread(target=write_rest, daemon=True)
        watcher.start()
        writer.start()
        results = []
        while writer.is_alive():
            results.append(ingest(cfg, engine, ssh))
        writer.join()
        deadline = time.monotonic() + 120  # generous: only waiting, not asserting speed
        while ledger.get(engine, name) is None and time.monotonic() < deadline:
            results.append(ingest(cfg, engine, ssh))
        settled = scans[0]
        while scans[0] < settled + 2 and time.monotonic() < deadline:  # the watcher looks at the result too
            time.sleep(0.01)
        stop.set()
        watcher.join(timeout=30)

    row = ledger.get(engine, name)
    assert row is not None and row.size == len(tm_bytes)
    assert (incoming / name).read_bytes() == tm_bytes
    assert sum(len(r.new_files) for r in results) == 1  # ingested exactly once
    assert seen and all(content == tm_bytes for content in seen), "a partial file was visible in incoming/"
    assert foreign == set()
