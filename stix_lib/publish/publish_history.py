"""The SOAR publishing history in the pipeline database (table ``published``, migration 10).

One row per *complete* product name offered to SOAR, with STIXCore's fields (operations spec
§6.3: ``name, path, version, p_date, m_date, esaname, modified_esaname, result``) plus the delivery
state that makes publishing safe to repeat:

``status``
    ``pending`` — claimed by a run, nothing recorded yet (a run that died leaves this);
    ``failed`` — the last attempt failed (``result`` ERROR, ``error`` says why);
    ``parked`` — held back by the publish gate (:mod:`stix_lib.publish.gate`; ``error`` says
    which product check failed); never delivered while it fails, checked again by every run;
    ``done`` — final outcome in ``result``.
    Only ``done`` rows keep a file from being offered again; ``pending``, ``failed`` and
    ``parked`` rows are offered again by the next run (STIXCore recorded copy errors forever).
``attempts``, ``error``, ``delivered_name``, ``delivered_at``, ``updated_at``, ``run_id``
    Delivery bookkeeping; ``delivered_name`` is the name at the target (the supplement name for
    a supplement). A delivery is recorded only after the file is complete at the target.

ESA-name conflicts (:meth:`PublishHistory.add`) are judged against the rows that were actually
delivered (``done`` with PUBLISHED or MODIFIED): SOAR knows only those. STIXCore compared with
every row, including failed, ignored and blacklisted ones.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from sqlalchemy import Engine, func, select

from stix_lib.db.schema import published
from stix_lib.publish.product_name import ProductName
from stix_lib.publish.timestamps import product_time


class PublishResult(IntEnum):
    """Stored outcome of a product (STIXCore's codes)."""

    PUBLISHED = 10
    IGNORED = 11
    MODIFIED = 12  # delivered as a supplement
    BLACKLISTED = 13
    ERROR = 14


class PublishConflict(IntEnum):
    """How a product relates to the history when it is added (not stored)."""

    ADDED = 0  # no delivered product has its ESA name
    SAME_ESA_NAME = 1  # a different product with the same ESA name was delivered
    SAME_EXISTS = 2  # this very name is already final in the history


class DeliveryStatus(StrEnum):
    """Delivery state of a history row."""

    PENDING = "pending"
    FAILED = "failed"
    PARKED = "parked"
    DONE = "done"


#: Results that mean "the file is at SOAR".
DELIVERED = (PublishResult.PUBLISHED, PublishResult.MODIFIED)


@dataclass(frozen=True)
class HistoryRow:
    """One history row."""

    id: int
    name: str
    path: str
    version: int
    p_date: float
    m_date: float
    esaname: str
    modified_esaname: str | None = None
    result: PublishResult | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    error: str | None = None
    delivered_name: str | None = None
    delivered_at: datetime | None = None
    run_id: str = ""

    @property
    def file(self) -> Path:
        """The archive file of this row."""
        return Path(self.path) / self.name

    @property
    def delivered(self) -> bool:
        """Whether this product is at SOAR."""
        return self.status is DeliveryStatus.DONE and self.result in DELIVERED

    @property
    def retry(self) -> bool:
        """Whether the next run offers this product again (unfinished or failed)."""
        return self.status is not DeliveryStatus.DONE


def _row(record) -> HistoryRow:
    return HistoryRow(
        id=record.id,
        name=record.name,
        path=record.path,
        version=record.version,
        p_date=record.p_date,
        m_date=record.m_date,
        esaname=record.esaname,
        modified_esaname=record.modified_esaname,
        result=None if record.result is None else PublishResult(record.result),
        status=DeliveryStatus(record.status),
        attempts=record.attempts,
        error=record.error,
        delivered_name=record.delivered_name,
        delivered_at=record.delivered_at,
        run_id=record.run_id,
    )


class HistoryStore(Protocol):
    """What the publisher needs from a history (the database, or its dry-run overlay)."""

    def get(self, name: str) -> HistoryRow | None:
        """The row of ``name``."""

    def states(self) -> dict[str, HistoryRow]:
        """Every row by name (for candidate selection)."""

    def esa_group(self, esaname: str) -> list[HistoryRow]:
        """Delivered rows with this ESA name, oldest first."""

    def add(
        self, path: Path, *, name: str | None = None, m_date: float | None = None, run_id: str = ""
    ) -> tuple[PublishConflict, list[HistoryRow]]:
        """Claim ``path`` for this run."""

    def finish(
        self,
        row_id: int,
        result: PublishResult,
        *,
        delivered_name: str | None = None,
        modified_esaname: str | None = None,
        note: str | None = None,
        attempted: bool = False,
    ) -> HistoryRow:
        """Record a final outcome."""

    def park(self, row_id: int, reason: str) -> HistoryRow:
        """Record that the publish gate held the product back (checked again next run)."""

    def fail(self, row_id: int, error: str) -> HistoryRow:
        """Record a failed attempt (retried next run)."""


def _describe(path: Path, name: str | None) -> tuple[ProductName, float]:
    """Stat and parse before anything is stored (errors leave the history untouched)."""
    stat = Path(path).stat()  # FileNotFoundError first, like STIXCore
    return ProductName.parse(name or Path(path).name), product_time(Path(path), stat)


class PublishHistory:
    """The publishing history of a pipeline database.

    Parameters
    ----------
    engine
        Engine of the pipeline database (schema migrated to version ≥ 10).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reading -------------------------------------------------------------------------------
    def get(self, name: str) -> HistoryRow | None:
        """The row of ``name`` (None if the name was never added)."""
        with self.engine.connect() as conn:
            record = conn.execute(select(published).where(published.c.name == name)).first()
        return _row(record) if record else None

    def get_by_id(self, row_id: int) -> HistoryRow:
        """The row with primary key ``row_id``.

        Raises
        ------
        KeyError
            If there is none.
        """
        with self.engine.connect() as conn:
            record = conn.execute(select(published).where(published.c.id == row_id)).first()
        if record is None:
            raise KeyError(f"no publishing history row {row_id}")
        return _row(record)

    def rows(self) -> list[HistoryRow]:
        """Every row, in insertion order."""
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(select(published).order_by(published.c.id))]

    def states(self) -> dict[str, HistoryRow]:
        """Every row by name (one query; used to filter candidates)."""
        return {row.name: row for row in self.rows()}

    def count(self) -> int:
        """Number of rows."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(published)).scalar_one())

    def esa_group(self, esaname: str) -> list[HistoryRow]:
        """Delivered rows (PUBLISHED, MODIFIED) with ``esaname``, oldest first."""
        query = (
            select(published)
            .where(published.c.esaname == esaname)
            .where(published.c.status == DeliveryStatus.DONE.value)
            .where(published.c.result.in_([int(r) for r in DELIVERED]))
            .order_by(published.c.p_date, published.c.id)
        )
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    # -- writing -------------------------------------------------------------------------------
    def add(
        self,
        path: Path,
        *,
        name: str | None = None,
        m_date: float | None = None,
        run_id: str = "",
        now: float | None = None,
    ) -> tuple[PublishConflict, list[HistoryRow]]:
        """Claim the product ``path`` for delivery.

        Parameters
        ----------
        path
            The archive file.
        name
            The history name (default: the file name; the publisher passes the complete name).
        m_date
            Its product time (default :func:`~stix_lib.publish.timestamps.product_time`).
        run_id
            Recorded on the row.
        now
            Epoch seconds for ``p_date`` of a new row (default: now).

        Returns
        -------
        (PublishConflict, list of HistoryRow)
            ``SAME_EXISTS`` and ``[existing row]`` when the name is final in the history (nothing
            changes); else the row is inserted (or, for a retry, reused) as ``pending`` and the
            result is ``ADDED, [row]`` or ``SAME_ESA_NAME, [delivered rows…, row]``.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist (nothing is stored).
        ProductNameError
            If the name has fewer than five tokens (nothing is stored).
        """
        path = Path(path)
        product, product_mtime = _describe(path, name)
        m_date = product_mtime if m_date is None else m_date
        stamp = datetime.now(UTC)
        with self.engine.begin() as conn:
            record = conn.execute(select(published).where(published.c.name == product.name)).first()
            if record is not None and DeliveryStatus(record.status) is DeliveryStatus.DONE:
                return PublishConflict.SAME_EXISTS, [_row(record)]
            values = {
                "path": str(path.parent),
                "m_date": float(m_date),
                "status": DeliveryStatus.PENDING.value,
                "updated_at": stamp,
                "run_id": run_id,
            }
            if record is None:
                inserted = conn.execute(
                    published.insert().values(
                        name=product.name,
                        version=product.version,
                        p_date=float(time.time() if now is None else now),
                        esaname=product.esa_name,
                        attempts=0,
                        **values,
                    )
                )
                row_id = inserted.inserted_primary_key[0]
            else:
                row_id = record.id
                conn.execute(published.update().where(published.c.id == row_id).values(**values))
            row = _row(conn.execute(select(published).where(published.c.id == row_id)).one())
        group = [r for r in self.esa_group(product.esa_name) if r.id != row.id]
        if group:
            return PublishConflict.SAME_ESA_NAME, [*group, row]
        return PublishConflict.ADDED, [row]

    def finish(
        self,
        row_id: int,
        result: PublishResult,
        *,
        delivered_name: str | None = None,
        modified_esaname: str | None = None,
        note: str | None = None,
        attempted: bool = False,
    ) -> HistoryRow:
        """Record the final outcome of a row (status ``done``).

        Parameters
        ----------
        row_id
            The row.
        result
            PUBLISHED/MODIFIED only after the file is complete at the target (then
            ``delivered_name`` is required), or IGNORED/BLACKLISTED.
        delivered_name, modified_esaname
            Name at the target; for a supplement also its ESA name (``modified_esaname``).
        note
            Stored in ``error`` (e.g. why a product was parked).
        attempted
            Count this as a delivery attempt (a copy was made).
        """
        if result is PublishResult.ERROR:
            raise ValueError("use fail() for errors: they are retried")
        if result in DELIVERED and not delivered_name:
            raise ValueError("a delivered result needs the delivered name")
        now = datetime.now(UTC)
        values: dict[str, object] = {
            "result": int(result),
            "status": DeliveryStatus.DONE.value,
            "error": note,
            "updated_at": now,
        }
        if result in DELIVERED:
            values |= {"delivered_name": delivered_name, "delivered_at": now}
        if modified_esaname is not None:
            values["modified_esaname"] = modified_esaname
        if attempted or result in DELIVERED:
            values["attempts"] = published.c.attempts + 1
        return self._update(row_id, values)

    def park(self, row_id: int, reason: str) -> HistoryRow:
        """Record that the publish gate held the product back: status ``parked``, ``reason`` in ``error``."""
        values = {
            "result": None, "status": DeliveryStatus.PARKED.value, "error": reason, "updated_at": datetime.now(UTC),
        }  # fmt: skip
        return self._update(row_id, values)

    def parked(self) -> list[HistoryRow]:
        """Rows held back by the publish gate, oldest first (for ``stix-pipeline status``)."""
        with self.engine.connect() as conn:
            records = conn.execute(
                select(published).where(published.c.status == DeliveryStatus.PARKED.value).order_by(published.c.id)
            ).all()
        return [_row(r) for r in records]

    def fail(self, row_id: int, error: str) -> HistoryRow:
        """Record a failed attempt: result ERROR, status ``failed`` (offered again next run)."""
        values = {
            "result": int(PublishResult.ERROR),
            "status": DeliveryStatus.FAILED.value,
            "error": error,
            "attempts": published.c.attempts + 1,
            "updated_at": datetime.now(UTC),
        }
        return self._update(row_id, values)

    def release(self, name: str) -> None:
        """Forget the IGNORED or BLACKLISTED row of ``name``, so the next run offers the file again.

        Raises
        ------
        KeyError
            If ``name`` has no row.
        ValueError
            If the row is not a final IGNORED/BLACKLISTED one (delivered products cannot be
            released: SOAR has them; unfinished ones are retried anyway).
        """
        row = self.get(name)
        if row is None:
            raise KeyError(f"{name} is not in the publishing history")
        if row.retry or row.result not in (PublishResult.IGNORED, PublishResult.BLACKLISTED):
            state = row.result.name if row.result is not None else row.status.value
            raise ValueError(f"{name} is {state}: only IGNORED or BLACKLISTED rows can be released")
        with self.engine.begin() as conn:
            conn.execute(published.delete().where(published.c.id == row.id))

    def _update(self, row_id: int, values: dict[str, object]) -> HistoryRow:
        with self.engine.begin() as conn:
            done = conn.execute(published.update().where(published.c.id == row_id).values(**values))
            if done.rowcount == 0:
                raise KeyError(f"no publishing history row {row_id}")
            return _row(conn.execute(select(published).where(published.c.id == row_id)).one())


class DryRunHistory:
    """A read-only view of a history that keeps this run's changes in memory.

    Reads see the database plus what the dry run would have written, so a dry run plans the same
    outcomes (e.g. ``-sup1`` for the second product of an ESA name in one run) without writing.

    Parameters
    ----------
    base
        The real history, or None for an empty one.
    """

    def __init__(self, base: PublishHistory | None = None) -> None:
        self.base = base
        self._rows: dict[str, HistoryRow] = {}
        self._next_id = -1

    def get(self, name: str) -> HistoryRow | None:
        """The overlay row of ``name``, else the stored one."""
        if name in self._rows:
            return self._rows[name]
        return self.base.get(name) if self.base else None

    def states(self) -> dict[str, HistoryRow]:
        """Stored rows updated by the overlay."""
        return {**(self.base.states() if self.base else {}), **self._rows}

    def esa_group(self, esaname: str) -> list[HistoryRow]:
        """Delivered rows of ``esaname`` from the database and the overlay, oldest first."""
        rows = {r.name: r for r in (self.base.esa_group(esaname) if self.base else [])}
        rows |= {n: r for n, r in self._rows.items() if r.esaname == esaname}
        return sorted((r for r in rows.values() if r.delivered), key=lambda r: (r.p_date, abs(r.id)))

    def add(
        self,
        path: Path,
        *,
        name: str | None = None,
        m_date: float | None = None,
        run_id: str = "",
        now: float | None = None,
    ) -> tuple[PublishConflict, list[HistoryRow]]:
        """As :meth:`PublishHistory.add`, in memory."""
        path = Path(path)
        product, product_mtime = _describe(path, name)
        existing = self.get(product.name)
        if existing is not None and not existing.retry:
            return PublishConflict.SAME_EXISTS, [existing]
        fields = {"path": str(path.parent), "m_date": product_mtime if m_date is None else m_date, "run_id": run_id}
        if existing is None:
            row = HistoryRow(
                id=self._next_id,
                name=product.name,
                version=product.version,
                p_date=time.time() if now is None else now,
                esaname=product.esa_name,
                **fields,
            )
            self._next_id -= 1
        else:
            row = replace(existing, status=DeliveryStatus.PENDING, **fields)
        self._rows[row.name] = row
        group = [r for r in self.esa_group(product.esa_name) if r.id != row.id]
        return (PublishConflict.SAME_ESA_NAME, [*group, row]) if group else (PublishConflict.ADDED, [row])

    def _by_id(self, row_id: int) -> HistoryRow:
        for row in self._rows.values():
            if row.id == row_id:
                return row
        raise KeyError(f"no publishing history row {row_id} in this dry run")

    def finish(
        self,
        row_id: int,
        result: PublishResult,
        *,
        delivered_name: str | None = None,
        modified_esaname: str | None = None,
        note: str | None = None,
        attempted: bool = False,
    ) -> HistoryRow:
        """As :meth:`PublishHistory.finish`, in memory."""
        row = self._by_id(row_id)
        row = replace(
            row,
            result=result,
            status=DeliveryStatus.DONE,
            error=note,
            delivered_name=delivered_name if result in DELIVERED else None,
            modified_esaname=modified_esaname if modified_esaname is not None else row.modified_esaname,
        )
        self._rows[row.name] = row
        return row

    def park(self, row_id: int, reason: str) -> HistoryRow:
        """As :meth:`PublishHistory.park`, in memory."""
        row = replace(self._by_id(row_id), result=None, status=DeliveryStatus.PARKED, error=reason)
        self._rows[row.name] = row
        return row

    def fail(self, row_id: int, error: str) -> HistoryRow:
        """As :meth:`PublishHistory.fail`, in memory."""
        row = replace(self._by_id(row_id), result=PublishResult.ERROR, status=DeliveryStatus.FAILED, error=error)
        self._rows[row.name] = row
        return row


def _supplement_number(modified_esaname: str | None) -> int | None:
    if not modified_esaname:
        return None
    try:
        descriptor = modified_esaname.split("_")[2]
    except IndexError:
        return None
    tail = descriptor.rsplit("-sup", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def import_stixcore_history(engine: Engine, sqlite_file: Path) -> int:
    """Copy the rows of a STIXCore ``published.sqlite`` into the pipeline database.

    Rows whose name is already present are skipped (the import can be repeated). PUBLISHED,
    MODIFIED, IGNORED and BLACKLISTED rows become ``done``; ERROR rows and rows without a result
    become ``failed``, so the new publisher retries them (STIXCore never did).

    Parameters
    ----------
    engine
        Pipeline database.
    sqlite_file
        STIXCore's history database (opened read-only).

    Returns
    -------
    int
        Number of rows imported.
    """
    if not Path(sqlite_file).is_file():
        raise FileNotFoundError(f"STIXCore history {sqlite_file} does not exist")
    source = sqlite3.connect(f"file:{quote(str(Path(sqlite_file).resolve()))}?mode=ro", uri=True)
    try:
        records = source.execute(
            "SELECT name, path, version, p_date, m_date, esaname, modified_esaname, result FROM published ORDER BY id"
        ).fetchall()
    finally:
        source.close()
    with engine.connect() as conn:
        known = set(conn.execute(select(published.c.name)).scalars())
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = []
    for name, path, version, p_date, m_date, esaname, modified, result in records:
        if name in known:
            continue
        known.add(name)
        code = PublishResult(result) if result in {int(r) for r in PublishResult} else None
        final = code in (*DELIVERED, PublishResult.IGNORED, PublishResult.BLACKLISTED)
        delivered_name = None
        if code is PublishResult.PUBLISHED:
            delivered_name = name
        elif code is PublishResult.MODIFIED and (number := _supplement_number(modified)):
            delivered_name = ProductName.parse(name).supplement(number).name
        rows.append(
            {
                "name": name,
                "path": path,
                "version": version,
                "p_date": p_date,
                "m_date": m_date,
                "esaname": esaname,
                "modified_esaname": modified,
                "result": None if code is None else int(code),
                "status": (DeliveryStatus.DONE if final else DeliveryStatus.FAILED).value,
                "attempts": 1 if code in (*DELIVERED, PublishResult.ERROR) else 0,
                "error": None if final else "imported from STIXCore without a final result",
                "delivered_name": delivered_name,
                "updated_at": now,
                "run_id": "stixcore-import",
            }
        )
    _insert_many(engine, rows)
    return len(rows)


def _insert_many(engine: Engine, rows: Iterable[dict[str, object]], chunk: int = 1000) -> None:
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            with engine.begin() as conn:
                conn.execute(published.insert(), batch)
            batch = []
    if batch:
        with engine.begin() as conn:
            conn.execute(published.insert(), batch)
