"""Fault injection: an exception in any stage for one file costs that file only (issue 16, containment).

Each case makes one stage raise for the delivery ``c`` (or for the products of ``c``'s day) while
``a`` is processed in the same batch; the run must finish, report the failure on ``c``'s input
naming the stage's error, and give ``a``'s products exactly as the clean run of ``a`` alone.
Infrastructure faults (disk full) are the exception: they stop the run.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from stix_lib.products.writer import ProductWriter
from tests.support.robustness_support import Corpus, assert_products_equal, run_pipeline

INJECTED = "injected fault"


class Injected(RuntimeError):
    """The fault raised by the injected stage."""


def _markers(corpus: Corpus) -> tuple[str, str]:
    """Name parts of ``c``'s daily products: SCET day start (LB/L0) and UTC date (L1)."""
    day = corpus.scet_day(corpus.c)
    utc = date(2000, 1, 1) + timedelta(days=day)
    return f"{day * 86400:010d}", utc.strftime("%Y%m%d")


def _is_c_product(corpus: Corpus, name: str) -> bool:
    scet, utc = _markers(corpus)
    return f"_{scet}_" in name or f"_{utc}_" in name


#: stage -> (module attribute to replace, predicate on the current TM name and the call arguments)
Stage = tuple[str, Callable[..., bool]]


def _stages(corpus: Corpus, current: dict[str, str]) -> dict[str, Stage]:
    def tm_is_c(*_args, **_kwargs) -> bool:
        return current.get("tm") == corpus.c.name

    def lb_is_c(lb, *_args, **_kwargs) -> bool:
        return _is_c_product(corpus, Path(lb).name)

    return {
        "read": ("stix_lib.lb.convert.iter_packet_batches", lambda path, *a, **k: Path(path).name == corpus.c.name),
        "decode": ("stix_lib.lb.convert.classify_packets", tm_is_c),
        "naming": ("stix_lib.lb.convert.lb_file_name", tm_is_c),
        "write LB": ("stix_lib.lb.convert.write_lb", tm_is_c),
        "build L0": ("stix_lib.pipeline.stream.l0_product_of", lb_is_c),
        "L0 -> L1": ("stix_lib.pipeline.stream.l1_product_of", lambda l0, name, *a, **k: _is_c_product(corpus, name)),
    }


def _inject(monkeypatch: pytest.MonkeyPatch, target: str, bad: Callable[..., bool], error: BaseException) -> None:
    module_name, attribute = target.rsplit(".", 1)
    module = __import__(module_name, fromlist=[attribute])
    original = getattr(module, attribute)

    def faulty(*args, **kwargs):
        if bad(*args, **kwargs):
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(module, attribute, faulty)


def _track_current_tm(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import stix_lib.lb.convert as convert

    current: dict[str, str] = {}
    original = convert.tms_to_lb

    def tracking(tm_files, *args, **kwargs):
        current["tm"] = Path(tm_files[0]).name
        return original(tm_files, *args, **kwargs)

    monkeypatch.setattr(convert, "tms_to_lb", tracking)
    return current


def _check_contained(corpus: Corpus, run, archive: Path) -> None:
    failed = [r for r in run.files if any(INJECTED in e for e in r.file_errors)]
    assert failed, [r.to_dict() for r in run.files]
    for report in failed:
        name = Path(report.source).name
        assert name == corpus.c.name or _is_c_product(corpus, name), report.to_dict()
        assert report.status in ("failed", "partial")
    others = [r for r in run.files if r not in failed]
    assert all(r.status == "ok" for r in others), [r.to_dict() for r in others if r.status != "ok"]
    assert_products_equal(archive, corpus.clean_a)


@pytest.mark.parametrize("stage", ["read", "decode", "naming", "write LB", "build L0", "L0 -> L1"])
def test_a_fault_in_one_stage_for_one_file_costs_that_file_only(corpus, tmp_path, monkeypatch, stage) -> None:
    current = _track_current_tm(monkeypatch)
    target, bad = _stages(corpus, current)[stage]
    _inject(monkeypatch, target, bad, Injected(INJECTED))
    archive = tmp_path / "fits"
    run = run_pipeline(corpus.settings, archive, [corpus.c, corpus.a])
    _check_contained(corpus, run, archive)


def test_a_fault_writing_one_daily_product_costs_that_product_only(corpus, tmp_path, monkeypatch) -> None:
    original = ProductWriter.merge_write

    def faulty(self, path, *args, **kwargs):
        if _is_c_product(corpus, Path(path).name) and Path(path).name.startswith("solo_L1_"):
            raise Injected(INJECTED)
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(ProductWriter, "merge_write", faulty)
    archive = tmp_path / "fits"
    run = run_pipeline(corpus.settings, archive, [corpus.c, corpus.a])
    _check_contained(corpus, run, archive)
    assert any(_is_c_product(corpus, p.name) for p in (archive / "L0").rglob("*.fits"))  # c's L0 still written


def test_disk_full_stops_the_run(corpus, tmp_path, monkeypatch) -> None:
    current = _track_current_tm(monkeypatch)
    full = OSError(errno.ENOSPC, "No space left on device")
    _inject(monkeypatch, "stix_lib.lb.convert.write_lb", lambda *a, **k: current.get("tm") == corpus.c.name, full)
    with pytest.raises(OSError) as caught:
        run_pipeline(corpus.settings, tmp_path / "fits", [corpus.c, corpus.a])
    assert caught.value.errno == errno.ENOSPC


def test_disk_full_exits_3_from_process(corpus, cli_env, monkeypatch, capsys) -> None:
    from stix_lib.cli.main import main

    (cli_env["tm"] / corpus.c.name).write_bytes(corpus.c.read_bytes())
    full = OSError(errno.ENOSPC, "No space left on device")
    _inject(monkeypatch, "stix_lib.lb.convert.write_lb", lambda *a, **k: True, full)
    code = main(["process", "-t", str(cli_env["tm"]), "-f", str(cli_env["fits"]), "--json"])
    captured = capsys.readouterr()
    assert code == 3
    assert "infrastructure fault" in captured.err and "No space left" in captured.err


def test_contained_failure_reaches_the_processing_report_rows(corpus, tmp_path, monkeypatch) -> None:
    """The DAG's steps (TM -> LB per file, LB groups, record) store the contained error per file."""
    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState, processing_reports
    from stix_lib.pipeline import PipelineOptions, build_pipeline, tasks

    settings = corpus.settings.replace(pipeline_db_url=f"sqlite:///{tmp_path / 'pipeline.sqlite'}")
    engine = connect(settings.pipeline_db_url)
    for tm in (corpus.a, corpus.c):
        ledger.record_incoming(engine, tm)
        ledger.set_state(engine, tm.name, TMState.STAGED, path=tm)
    current = _track_current_tm(monkeypatch)
    _inject(monkeypatch, "stix_lib.lb.convert.classify_packets", lambda *a, **k: current.get("tm") == corpus.c.name,
            Injected(INJECTED))  # fmt: skip
    archive = tmp_path / "fits"
    pipeline = build_pipeline(settings, PipelineOptions(fits_dir=archive, end_level="L1"))
    results = [tasks.tm_to_lb_step(pipeline, settings, engine, str(tm)) for tm in (corpus.c, corpus.a)]
    groups = [tasks.lb_group_step(pipeline, group, end_level="L1") for group in tasks.lb_groups(results)]
    summary = tasks.record_step(engine, archive, results, groups, run_id="fault")
    assert summary["files"] == {corpus.c.name: "failed", corpus.a.name: "ok"}
    with engine.connect() as conn:
        rows = {row.tm_file: row for row in conn.execute(processing_reports.select())}
    report = json.loads(rows[corpus.c.name].report)
    assert any(corpus.c.name in e and INJECTED in e for e in report["file_errors"])
    assert ledger.get(engine, corpus.c.name).state is TMState.FAILED  # retried by the next run
    assert ledger.get(engine, corpus.a.name).state is TMState.PROCESSED
    assert_products_equal(archive, corpus.clean_a)
