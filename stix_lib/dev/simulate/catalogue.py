"""The TM packet types an IDB defines (its ``PID`` rows), with APID and SSID.

The :class:`~stix_lib.idb.database.IDB` class answers questions about one packet type; listing
all of them needs the ``PID`` table itself, read here through a separate read-only connection to
the same file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from stix_lib.decode.layout import PacketKey
from stix_lib.idb.database import IDB


@dataclass(frozen=True)
class PacketType:
    """One ``PID`` row.

    Attributes
    ----------
    key
        ``(service, subtype, ssid)``; ``ssid`` is None when the service has no PI1 field.
    apid
        ``PID_APID``.
    spid
        ``PID_SPID``.
    description
        ``PID_DESCR``.
    pi1
        ``(byte offset from the packet start, width in bits)`` of the PI1 field, or None.
    """

    key: PacketKey
    apid: int
    spid: int
    description: str
    pi1: tuple[int, int] | None


@lru_cache(maxsize=16)
def _pid_rows(path: str) -> tuple[tuple[int, int, int, int | None, int, str], ...]:
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute(
            "SELECT PID_TYPE, PID_STYPE, PID_APID, PID_PI1_VAL, PID_SPID, PID_DESCR FROM PID"
            " ORDER BY PID_TYPE, PID_STYPE, PID_PI1_VAL, PID_SPID"
        ).fetchall()
    return tuple(
        (int(t), int(st), int(apid), pi1, int(spid), str(descr or "")) for t, st, apid, pi1, spid, descr in rows
    )


def packet_types(idb: IDB) -> tuple[PacketType, ...]:
    """Every TM packet type of ``idb`` (one per ``PID`` row, PI1 resolved through ``PIC``).

    Rows of a service without a PI1 field carry ``ssid`` None; if several such rows share
    ``(service, subtype)`` only the first is kept (they are the same packet type to a decoder).
    """
    out: dict[PacketKey, PacketType] = {}
    for service, subtype, apid, pi1_val, spid, descr in _pid_rows(str(idb.path)):
        pi1 = idb.get_packet_pi1_position(service, subtype)
        ssid = int(pi1_val) if pi1 is not None and pi1_val is not None else None
        key = PacketKey(service, subtype, ssid)
        out.setdefault(key, PacketType(key, apid, spid, descr, pi1))
    return tuple(out.values())


def apid_of(idb: IDB, key: PacketKey) -> int | None:
    """``PID_APID`` of a packet type, or None when ``idb`` does not define it."""
    for packet_type in packet_types(idb):
        if packet_type.key == key:
            return packet_type.apid
    return None
