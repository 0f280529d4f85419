"""TM-file ledger and product lineage: what arrived, where it is, what it produced."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from stix_lib.db.schema import TMState, product_lineage, products, tm_files


@dataclass(frozen=True)
class TMFileRecord:
    """One ledger row."""

    name: str
    size: int
    sha256: str
    state: TMState
    path: str
    received_at: datetime
    error: str | None = None


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks (bounded memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _record(row) -> TMFileRecord:
    return TMFileRecord(
        name=row.name,
        size=row.size,
        sha256=row.sha256,
        state=TMState(row.state),
        path=row.path,
        received_at=row.received_at,
        error=row.error,
    )


def record_incoming(engine: Engine, path: Path, source: str = "") -> bool:
    """Record a newly ingested TM file in state ``incoming``.

    Returns
    -------
    bool
        True if the file was new; False if a file of that name is already in the ledger (its
        row is left unchanged, so re-delivery changes nothing).
    """
    path = Path(path)
    stat = path.stat()
    digest = file_sha256(path)
    now = _now()
    with engine.begin() as conn:
        exists = conn.execute(select(tm_files.c.id).where(tm_files.c.name == path.name)).first()
        if exists:
            return False
        conn.execute(
            tm_files.insert().values(
                name=path.name,
                size=stat.st_size,
                sha256=digest,
                state=TMState.INCOMING.value,
                path=str(path),
                source=source,
                received_at=now,
                updated_at=now,
            )
        )
    return True


def set_state(
    engine: Engine,
    name: str,
    state: TMState,
    *,
    path: Path | None = None,
    error: str | None = None,
) -> None:
    """Move a ledger row to ``state`` (optionally with its new path and an error text).

    Raises
    ------
    KeyError
        If no TM file of that name is in the ledger.
    """
    now = _now()
    values: dict[str, object] = {"state": state.value, "updated_at": now, "error": error}
    if path is not None:
        values["path"] = str(path)
    if state is TMState.STAGED:
        values["staged_at"] = now
    if state is TMState.PROCESSED:
        values["processed_at"] = now
    with engine.begin() as conn:
        result = conn.execute(tm_files.update().where(tm_files.c.name == name).values(**values))
    if result.rowcount == 0:
        raise KeyError(f"TM file {name!r} is not in the ledger")


def get(engine: Engine, name: str) -> TMFileRecord | None:
    """Return the ledger row of ``name`` or None."""
    with engine.connect() as conn:
        row = conn.execute(select(tm_files).where(tm_files.c.name == name)).first()
    return _record(row) if row else None


def in_state(engine: Engine, *states: TMState) -> list[TMFileRecord]:
    """Return the ledger rows in any of ``states``, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(tm_files)
            .where(tm_files.c.state.in_([s.value for s in states]))
            .order_by(tm_files.c.received_at, tm_files.c.name)
        ).all()
    return [_record(row) for row in rows]


def count_by_state(engine: Engine) -> dict[str, int]:
    """Return the number of ledger rows per state."""
    with engine.connect() as conn:
        rows = conn.execute(select(tm_files.c.state, func.count()).group_by(tm_files.c.state)).all()
    return {state: count for state, count in rows}


def record_products(
    engine: Engine, tm_file: str, product_paths: Iterable[Path], level_of: dict[str, str], run_id: str = ""
) -> int:
    """Record produced files and their lineage to the TM file ``tm_file``.

    Parameters
    ----------
    engine
        Pipeline database.
    tm_file
        Ledger name of the TM file the products came from.
    product_paths
        Files written (or rewritten) for it.
    level_of
        Product level by path string (``LB``, ``L0``, ``L1``, ...).
    run_id
        Airflow run id or CLI invocation id.

    Returns
    -------
    int
        Number of lineage rows added.
    """
    now = _now()
    added = 0
    with engine.begin() as conn:
        tm_id = conn.execute(select(tm_files.c.id).where(tm_files.c.name == tm_file)).scalar_one()
        for product in product_paths:
            key = str(product)
            row = conn.execute(select(products.c.id).where(products.c.path == key)).first()
            if row:
                product_id = row.id
                conn.execute(products.update().where(products.c.id == product_id).values(updated_at=now))
            else:
                product_id = conn.execute(
                    products.insert().values(
                        path=key, level=level_of[key], name=Path(key).name, created_at=now, updated_at=now
                    )
                ).inserted_primary_key[0]
            link = conn.execute(
                select(product_lineage.c.id).where(
                    product_lineage.c.product_id == product_id,
                    product_lineage.c.tm_file_id == tm_id,
                    product_lineage.c.run_id == run_id,
                )
            ).first()
            if not link:
                conn.execute(
                    product_lineage.insert().values(
                        product_id=product_id, tm_file_id=tm_id, run_id=run_id, recorded_at=now
                    )
                )
                added += 1
    return added


def products_per_level(engine: Engine) -> dict[str, int]:
    """Return the number of recorded product files per level."""
    with engine.connect() as conn:
        rows = conn.execute(select(products.c.level, func.count()).group_by(products.c.level)).all()
    return {level: count for level, count in rows}
