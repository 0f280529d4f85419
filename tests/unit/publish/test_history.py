"""The publishing history in the pipeline database, on SQLite and PostgreSQL (spec §6.3, §11)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from stix_lib.db import connect, current_version
from stix_lib.publish.product_name import ProductNameError
from stix_lib.publish.publish_history import (
    DeliveryStatus,
    DryRunHistory,
    PublishConflict,
    PublishHistory,
    PublishResult,
    import_stixcore_history,
)
from tests.support.publish_support import days_ago, write_product

CPD = "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V01_{rid:010d}-50883.fits"
ESA = "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V01"


@pytest.fixture
def history(db_url: str) -> PublishHistory:
    return PublishHistory(connect(db_url))


def test_publish_history_create_empty(history: PublishHistory) -> None:
    assert current_version(history.engine) >= 10
    assert "published" in inspect(history.engine).get_table_names()
    assert history.count() == 0 and history.rows() == [] and history.states() == {}


def test_publish_history_add_file_not_found(history: PublishHistory, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        history.add(tmp_path / CPD.format(rid=1))
    assert history.count() == 0


def test_publish_history_add_file_wrong_name_structure(history: PublishHistory, tmp_path: Path) -> None:
    path = tmp_path / "solo_L1_stix-ql-lightcurve_V01.fits"
    path.write_bytes(b"x")
    with pytest.raises(ProductNameError):
        history.add(path)
    assert history.count() == 0


def test_publish_history_add_file(history: PublishHistory, tmp_path: Path) -> None:
    first = write_product(tmp_path / "a", CPD.format(rid=123), created=days_ago(20))
    conflict, rows = history.add(first, now=1000.0)
    assert conflict is PublishConflict.ADDED and len(rows) == 1
    row = rows[0]
    assert (row.name, row.path, row.version, row.esaname) == (first.name, str(first.parent), 1, ESA)
    assert row.status is DeliveryStatus.PENDING and row.result is None and row.p_date == 1000.0
    assert abs(row.m_date - days_ago(20).timestamp()) < 5  # the product time (DATE)
    published = history.finish(row.id, PublishResult.PUBLISHED, delivered_name=first.name)
    assert published.delivered and published.attempts == 1 and published.delivered_at is not None

    conflict, rows = history.add(first)
    assert conflict is PublishConflict.SAME_EXISTS and rows == [published]

    second = write_product(tmp_path / "b", CPD.format(rid=124), created=days_ago(20))
    conflict, rows = history.add(second, now=2000.0)
    assert conflict is PublishConflict.SAME_ESA_NAME
    assert [r.name for r in rows] == [first.name, second.name]  # older first, the new row last
    history.finish(rows[-1].id, PublishResult.MODIFIED, delivered_name="x-sup1", modified_esaname="m.fits")

    conflict, rows = history.add(second)
    assert conflict is PublishConflict.SAME_EXISTS and rows[0].modified_esaname == "m.fits"
    assert history.count() == 2


def test_failed_rows_are_retried(history: PublishHistory, tmp_path: Path) -> None:
    path = write_product(tmp_path, CPD.format(rid=5))
    _, (row,) = history.add(path)
    failed = history.fail(row.id, "TransportError: disk full")
    assert (failed.status, failed.result, failed.attempts, failed.error) == (
        DeliveryStatus.FAILED, PublishResult.ERROR, 1, "TransportError: disk full",
    )  # fmt: skip
    assert failed.retry and history.states()[path.name].retry

    conflict, rows = history.add(path)  # the next run claims the same row again
    assert conflict is PublishConflict.ADDED and rows[0].id == row.id and rows[0].status is DeliveryStatus.PENDING
    done = history.finish(row.id, PublishResult.PUBLISHED, delivered_name=path.name)
    assert done.attempts == 2 and done.error is None and not done.retry
    assert history.count() == 1


def test_conflicts_count_only_delivered_products(history: PublishHistory, tmp_path: Path) -> None:
    failed = write_product(tmp_path, CPD.format(rid=1))
    ignored = write_product(tmp_path, CPD.format(rid=2))
    history.fail(history.add(failed)[1][0].id, "boom")
    history.finish(history.add(ignored)[1][0].id, PublishResult.IGNORED, note="future")
    conflict, _ = history.add(write_product(tmp_path, CPD.format(rid=3)))
    assert conflict is PublishConflict.ADDED


def test_finish_rules(history: PublishHistory, tmp_path: Path) -> None:
    _, (row,) = history.add(write_product(tmp_path, CPD.format(rid=1)))
    with pytest.raises(ValueError, match="fail"):
        history.finish(row.id, PublishResult.ERROR)
    with pytest.raises(ValueError, match="delivered name"):
        history.finish(row.id, PublishResult.PUBLISHED)
    with pytest.raises(KeyError):
        history.fail(row.id + 100, "x")


def test_release_only_ignored_or_blacklisted(history: PublishHistory, tmp_path: Path) -> None:
    blacklisted, delivered = write_product(tmp_path, CPD.format(rid=1)), write_product(tmp_path, CPD.format(rid=2))
    history.finish(history.add(blacklisted)[1][0].id, PublishResult.BLACKLISTED)
    history.finish(history.add(delivered)[1][0].id, PublishResult.PUBLISHED, delivered_name=delivered.name)
    with pytest.raises(ValueError, match="PUBLISHED"):
        history.release(delivered.name)
    with pytest.raises(KeyError):
        history.release("solo_nothing_x_y_V01.fits")
    history.release(blacklisted.name)
    assert history.get(blacklisted.name) is None and history.count() == 1


def test_dry_run_overlay_writes_nothing(history: PublishHistory, tmp_path: Path) -> None:
    stored = write_product(tmp_path, CPD.format(rid=1))
    history.finish(history.add(stored)[1][0].id, PublishResult.PUBLISHED, delivered_name=stored.name)
    before = history.rows()

    dry = DryRunHistory(history)
    conflict, rows = dry.add(write_product(tmp_path, CPD.format(rid=2)))
    assert conflict is PublishConflict.SAME_ESA_NAME and rows[0].name == stored.name
    dry.finish(rows[-1].id, PublishResult.MODIFIED, delivered_name="sup1", modified_esaname="sup1.fits")
    conflict, rows = dry.add(write_product(tmp_path, CPD.format(rid=3)))
    assert conflict is PublishConflict.SAME_ESA_NAME and len(rows) == 3  # sees its own supplement
    assert dry.add(stored)[0] is PublishConflict.SAME_EXISTS
    assert history.rows() == before
    assert DryRunHistory().add(stored)[0] is PublishConflict.ADDED  # without a database


def _stixcore_db(path: Path, rows: list[tuple]) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE published (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL, path TEXT NOT NULL,"
        " version INTEGER NOT NULL, p_date FLOAT NOT NULL, m_date FLOAT NOT NULL, esaname TEXT NOT NULL,"
        " modified_esaname TEXT, result INTEGER)"
    )
    conn.executemany(
        "INSERT INTO published (name, path, version, p_date, m_date, esaname, modified_esaname, result)"
        " VALUES (?, ?, 1, 1.0, 1.0, ?, ?, ?)",
        rows,
    )
    conn.commit()
    conn.close()
    return path


def test_import_stixcore_history(history: PublishHistory, tmp_path: Path) -> None:
    sup = "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V01.fits"
    source = _stixcore_db(
        tmp_path / "published.sqlite",
        [
            (CPD.format(rid=1), "/data/fits", ESA, None, 10),
            (CPD.format(rid=2), "/data/fits", ESA, sup, 12),
            (CPD.format(rid=3), "/data/fits", ESA, None, 14),  # a copy error STIXCore never retried
            (CPD.format(rid=4), "/data/fits", ESA, None, 13),
        ],
    )
    assert import_stixcore_history(history.engine, source) == 4
    assert import_stixcore_history(history.engine, source) == 0  # repeatable
    rows = history.states()
    assert rows[CPD.format(rid=1)].delivered and rows[CPD.format(rid=1)].delivered_name == CPD.format(rid=1)
    assert rows[CPD.format(rid=2)].delivered_name == (
        "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V01_0000000002-50883.fits"
    )
    assert rows[CPD.format(rid=3)].retry and rows[CPD.format(rid=3)].status is DeliveryStatus.FAILED
    assert rows[CPD.format(rid=4)].result is PublishResult.BLACKLISTED and not rows[CPD.format(rid=4)].retry
