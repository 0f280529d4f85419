"""One STIX instrument database (IDB) version: SQLite conversion of the SCOS-2000 MIB.

The file is opened read-only (SQLite URI ``mode=ro``) and copied into an in-memory database on
first use; the calibrations of :mod:`stix_lib.idb.injected` are then added to the in-memory copy.
The file itself is never written. Every query result is cached on the instance. An ``IDB``
pickles as its file name and re-opens lazily in the receiving process.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from stix_lib.idb.injected import INJECTED_CALIBRATIONS, WIDTH_FIXES, calibration_ident
from stix_lib.idb.records import (
    CalibrationCurve,
    PacketTypeInfo,
    ParameterInfo,
    Polynomial,
    StructureEntry,
    TextualRange,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_PARAMETER_COLUMNS = (
    "PCF_NAME, PCF_DESCR, PCF_WIDTH, PCF_PTC, PCF_PFC, "
    "(SELECT S2K_TYPE FROM tblConfigS2KParameterTypes "
    " WHERE PTC = PCF_PTC AND PCF_PFC BETWEEN PFC_LB AND PFC_UB LIMIT 1), "
    "PCF_CURTX, PCF_CATEG, PCF_UNIT"
)


class IDBError(Exception):
    """The IDB file cannot be used, or it lacks something a query needs."""


def _parameter(row: tuple[Any, ...]) -> ParameterInfo:
    name, descr, width, ptc, pfc, s2k, curtx, categ, unit = row
    return ParameterInfo(
        name=str(name),
        description=str(descr or ""),
        width=int(width or 0),
        ptc=int(ptc or 0),
        pfc=int(pfc or 0),
        s2k_type=s2k,
        calibration_id=curtx or None,
        category=categ or None,
        unit=unit or None,
    )


class IDB:
    """Read-only access to one IDB version.

    Parameters
    ----------
    path
        The ``idb.sqlite`` file.

    Notes
    -----
    Nothing is read until the first query (or :meth:`connect`). Queries are serialised by a
    per-instance lock, so an instance may be shared by threads.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._cache: dict[Hashable, Any] = {}
        self._version: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def connect(self) -> IDB:
        """Load the file into memory (idempotent) and return ``self``.

        Raises
        ------
        FileNotFoundError
            The file does not exist.
        sqlite3.Error
            The file is not an SQLite database (or is a directory).
        """
        with self._lock:
            if self._conn is not None:
                return self
            if not self.path.exists():
                raise FileNotFoundError(f"IDB file not found: {self.path}")
            source = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                memory = sqlite3.connect(":memory:", check_same_thread=False)
                source.backup(memory)
            finally:
                source.close()
            try:
                memory.execute("SELECT count(*) FROM PID").fetchone()
            except sqlite3.Error:
                memory.close()
                raise
            self._conn = memory
            self._apply_fixes()
            return self

    def close(self) -> None:
        """Drop the in-memory copy and every cached result."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._cache.clear()
            self._version = None

    @property
    def is_connected(self) -> bool:
        """True once the file has been loaded."""
        return self._conn is not None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"IDB({str(self.path)!r})"

    # -- internals -----------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._conn is None:
                self.connect()
            assert self._conn is not None
            return self._conn.execute(sql, params).fetchall()

    def cached(self, key: Hashable, factory: Callable[[], T]) -> T:
        """Return the value cached under ``key``, computing it with ``factory`` once.

        Used for derived objects (compiled packet layouts, calibration evaluators) so that they
        live exactly as long as this instance.
        """
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = factory()
        with self._lock:
            return self._cache.setdefault(key, value)

    def _apply_fixes(self) -> None:
        conn = self._conn
        assert conn is not None
        with conn:
            for name, width in WIDTH_FIXES.items():
                conn.execute("UPDATE PCF SET PCF_WIDTH = ? WHERE PCF_NAME = ?", (width, name))
            idents: list[str] = []
            for table, column in (
                ("PCF", "PCF_CURTX"),
                ("MCF", "MCF_IDENT"),
                ("CAP", "CAP_NUMBR"),
                ("TXP", "TXP_NUMBR"),
                ("CAF", "CAF_NUMBR"),
                ("TXF", "TXF_NUMBR"),
            ):
                try:
                    idents += [r[0] for r in conn.execute(f"SELECT {column} FROM {table}") if r[0]]
                except sqlite3.OperationalError:
                    continue
            numbers = [int(m.group()) for m in (re.search(r"\d+", str(i)) for i in idents) if m]
            next_number = max(numbers, default=0) + 1
            mcf_columns = {r[1] for r in conn.execute("PRAGMA table_info(MCF)")}
            for injected in INJECTED_CALIBRATIONS:
                ident = calibration_ident(next_number)
                next_number += 1
                row = conn.execute("SELECT PCF_CURTX FROM PCF WHERE PCF_NAME = ?", (injected.parameter,)).fetchone()
                if row is None or row[0]:
                    continue
                values: dict[str, Any] = {
                    "MCF_IDENT": ident,
                    "MCF_DESCR": injected.description,
                    **{f"MCF_POL{i + 1}": repr(c) for i, c in enumerate(injected.coefficients)},
                }
                if "SDB_IMPORTED" in mcf_columns:
                    values["SDB_IMPORTED"] = "0"
                conn.execute(
                    f"INSERT INTO MCF ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                    tuple(values.values()),
                )
                conn.execute(
                    "UPDATE PCF SET PCF_CURTX = ?, PCF_CATEG = 'N', PCF_UNIT = ? WHERE PCF_NAME = ?",
                    (ident, injected.unit, injected.parameter),
                )

    # -- general ---------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """The ``IDB.version`` row (empty string when the table is missing)."""
        if self._version is None:
            try:
                rows = self._query("SELECT version FROM IDB LIMIT 1")
            except sqlite3.OperationalError:
                rows = []
            self._version = str(rows[0][0]) if rows and rows[0][0] else ""
        return self._version

    # -- packets ---------------------------------------------------------------------------------
    def get_packet_pi1_position(self, service_type: int, service_subtype: int) -> tuple[int, int] | None:
        """Return ``(PIC_PI1_OFF, PIC_PI1_WID)`` (bytes from packet start, bits) or ``None``.

        ``None`` means the packet type has no PI1 field.
        """

        def load() -> tuple[int, int] | None:
            rows = self._query(
                "SELECT PIC_PI1_OFF, PIC_PI1_WID FROM PIC WHERE PIC_TYPE = ? AND PIC_STYPE = ?"
                " AND PIC_PI1_OFF >= 0 LIMIT 1",
                (service_type, service_subtype),
            )
            return (int(rows[0][0]), int(rows[0][1])) if rows else None

        return self.cached(("pi1", service_type, service_subtype), load)

    def get_apids(self) -> frozenset[int]:
        """The APIDs of the IDB's TM packet types (``PID_APID``): the telemetry STIX sends."""

        def load() -> frozenset[int]:
            rows = self._query("SELECT DISTINCT PID_APID FROM PID")
            return frozenset(int(row[0]) for row in rows if row[0] is not None)

        return self.cached(("apids",), load)

    def get_packet_type_info(
        self, service_type: int, service_subtype: int, pi1_val: int | None = None
    ) -> PacketTypeInfo | None:
        """Return the ``PID`` row of a packet type, or ``None`` when the IDB does not know it."""

        def load() -> PacketTypeInfo | None:
            sql = (
                "SELECT PID_TYPE, PID_STYPE, PID_PI1_VAL, PID_SPID, PID_DESCR, PID_TPSD FROM PID"
                " WHERE PID_TYPE = ? AND PID_STYPE = ?"
            )
            params: tuple[Any, ...] = (service_type, service_subtype)
            if pi1_val is not None:
                sql += " AND PID_PI1_VAL = ?"
                params += (pi1_val,)
            rows = self._query(sql + " LIMIT 1", params)
            if not rows:
                return None
            t, st, pi1, spid, descr, tpsd = rows[0]
            return PacketTypeInfo(
                service_type=int(t),
                service_subtype=int(st),
                pi1_val=None if pi1_val is None else int(pi1),
                spid=int(spid),
                description=str(descr or ""),
                tpsd=int(tpsd if tpsd is not None else -1),
            )

        return self.cached(("pid", service_type, service_subtype, pi1_val), load)

    def get_static_structure(
        self, service_type: int, service_subtype: int, pi1_val: int | None = None
    ) -> tuple[StructureEntry, ...]:
        """Return the parameters of a fixed (PLF) packet ordered by position.

        ``position`` is the absolute bit position from the first byte of the CCSDS packet.
        """

        def load() -> tuple[StructureEntry, ...]:
            info = self.get_packet_type_info(service_type, service_subtype, pi1_val)
            if info is None:
                return ()
            rows = self._query(
                f"SELECT PLF_OFFBY, PLF_OFFBI, {_PARAMETER_COLUMNS} FROM PLF"
                " JOIN PCF ON PCF_NAME = PLF_NAME WHERE PLF_SPID = ? ORDER BY PLF_OFFBY, PLF_OFFBI",
                (info.spid,),
            )
            return tuple(
                StructureEntry(parameter=_parameter(r[2:]), position=int(r[0]) * 8 + int(r[1] or 0)) for r in rows
            )

        return self.cached(("static", service_type, service_subtype, pi1_val), load)

    def get_variable_structure(
        self, service_type: int, service_subtype: int, pi1_val: int | None = None
    ) -> tuple[StructureEntry, ...]:
        """Return the VPD rows of a variable packet in ``VPD_POS`` order (a flat list)."""

        def load() -> tuple[StructureEntry, ...]:
            info = self.get_packet_type_info(service_type, service_subtype, pi1_val)
            if info is None:
                return ()
            rows = self._query(
                f"SELECT VPD_POS, VPD_GRPSIZE, VPD_OFFSET, {_PARAMETER_COLUMNS} FROM VPD"
                " JOIN PCF ON PCF_NAME = VPD_NAME WHERE VPD_TPSD = ? ORDER BY VPD_POS",
                (info.tpsd,),
            )
            return tuple(
                StructureEntry(
                    parameter=_parameter(r[3:]),
                    position=int(r[0]),
                    group_size=int(r[1] or 0),
                    offset=int(r[2] or 0),
                )
                for r in rows
            )

        return self.cached(("variable", service_type, service_subtype, pi1_val), load)

    def get_structure(
        self, service_type: int, service_subtype: int, pi1_val: int | None = None
    ) -> tuple[PacketTypeInfo, tuple[StructureEntry, ...]] | None:
        """Return the packet info and its static or variable structure (``None`` if unknown)."""
        info = self.get_packet_type_info(service_type, service_subtype, pi1_val)
        if info is None:
            return None
        if info.is_variable:
            return info, self.get_variable_structure(service_type, service_subtype, pi1_val)
        return info, self.get_static_structure(service_type, service_subtype, pi1_val)

    # -- parameters ------------------------------------------------------------------------------
    def get_parameter(self, name: str) -> ParameterInfo | None:
        """Return the PCF characteristics of a parameter (``None`` if unknown)."""

        def load() -> ParameterInfo | None:
            rows = self._query(f"SELECT {_PARAMETER_COLUMNS} FROM PCF WHERE PCF_NAME = ? LIMIT 1", (name,))
            return _parameter(rows[0]) if rows else None

        return self.cached(("pcf", name), load)

    def get_parameter_description(self, name: str) -> str:
        """Return ``PCF_DESCR`` of a parameter, ``""`` when unknown."""
        info = self.get_parameter(name)
        return info.description if info else ""

    def get_s2k_parameter_type(self, ptc: int, pfc: int) -> str | None:
        """Return the S2K read type for a (PTC, PFC) pair, ``None`` when not defined."""

        def load() -> str | None:
            rows = self._query(
                "SELECT S2K_TYPE FROM tblConfigS2KParameterTypes WHERE PTC = ? AND ? BETWEEN PFC_LB AND PFC_UB LIMIT 1",
                (ptc, pfc),
            )
            return rows[0][0] if rows else None

        return self.cached(("s2k", ptc, pfc), load)

    # -- calibrations ----------------------------------------------------------------------------
    def get_calibration_polynomial(self, ident: str) -> Polynomial | None:
        """Return the MCF polynomial ``ident`` (``None`` when unknown or malformed)."""

        def load() -> Polynomial | None:
            rows = self._query(
                "SELECT MCF_POL1, MCF_POL2, MCF_POL3, MCF_POL4, MCF_POL5 FROM MCF WHERE MCF_IDENT = ? LIMIT 1",
                (ident,),
            )
            if not rows:
                return None
            try:
                coeffs = tuple(float(c) if c not in (None, "") else 0.0 for c in rows[0])
            except ValueError:
                log.error("IDB %s: malformed polynomial %s: %s", self.version, ident, rows[0])
                return None
            return Polynomial(ident, coeffs)  # type: ignore[arg-type]

        return self.cached(("mcf", ident), load)

    def get_calibration_curve(self, ident: str) -> CalibrationCurve:
        """Return the CAP support points of ``ident`` sorted by raw value (may be invalid/empty)."""

        def load() -> CalibrationCurve:
            rows = self._query(
                "SELECT CAP_XVALS, CAP_YVALS FROM CAP WHERE CAP_NUMBR = ? ORDER BY CAST(CAP_XVALS AS REAL)",
                (ident,),
            )
            points = sorted((float(x), float(y)) for x, y in rows)
            return CalibrationCurve(ident, tuple(p[0] for p in points), tuple(p[1] for p in points))

        return self.cached(("cap", ident), load)

    def get_textual_calibration(self, ident: str) -> tuple[TextualRange, ...]:
        """Return the TXP ranges of ``ident``; the TEXT columns are compared as numbers."""

        def load() -> tuple[TextualRange, ...]:
            rows = self._query("SELECT TXP_FROM, TXP_TO, TXP_ALTXT FROM TXP WHERE TXP_NUMBR = ?", (ident,))
            out = []
            for low, high, text in rows:
                try:
                    out.append(TextualRange(float(low), float(high), str(text)))
                except (TypeError, ValueError):
                    log.error("IDB %s: malformed textual range %s: %r..%r", self.version, ident, low, high)
            return tuple(sorted(out, key=lambda r: (r.low, r.high)))

        return self.cached(("txp", ident), load)

    def textual_interpret(self, ident: str, raw: float) -> str | None:
        """Return the text of ``ident`` for one raw value (``None`` when no range matches)."""
        for entry in self.get_textual_calibration(ident):
            if entry.low <= raw <= entry.high:
                return entry.text
        return None
