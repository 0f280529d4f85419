"""``stix-pipeline inspect``: what is in telemetry files (packet types, OBT range, IDB versions, errors).

A truncated file shows its complete packets and the truncation as an error without packet id
(exit 1). Packets refused by admission (TC, foreign APID, unknown type) are errors and counted per class in
``rejected``. Packets timed outside the mission window (settings ``mission_time_margin_*``) decode
as usual and are only counted in ``outside_mission``: ``process`` would not turn them into
products (ground-test data such as ``moc_test``).

Exit status: 0 when every packet decodes, 1 when some packets failed, 2 when a file is unusable
(or the IDB folder is).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stix_lib.settings import Settings

if TYPE_CHECKING:
    from stix_lib.idb.manager import IDBManager
    from stix_lib.time.mission_window import MissionWindow

NAME = "inspect"
HELP = "decode telemetry files and summarise packets per type, OBT range, IDB versions and errors"

EXIT_OK, EXIT_PACKET_ERRORS, EXIT_UNUSABLE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``inspect``."""
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="TM XML file or 'id hex' dump (.hex)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--idb_dir", "--idb-dir", type=Path, help="IDB root (default: the idb_dir setting)")


def inspect_file(path: Path, manager: IDBManager, window: MissionWindow | None = None) -> dict[str, Any]:
    """Summarise one telemetry file (the JSON record of ``inspect``).

    Returns
    -------
    dict
        ``file, packets, by_type, obt_range, idb_versions, errors, rejected, outside_mission``; a
        file that cannot be read has ``packets == 0`` and one error with ``packet_id`` None.
    """
    import numpy as np

    from stix_lib.decode.batch import decode_packets
    from stix_lib.time.scet import scet_to_float
    from stix_lib.tm.errors import PacketError, TelemetryFileError
    from stix_lib.tm.hex_dump import read_hex_dump
    from stix_lib.tm.xml_reader import read_packets

    record: dict[str, Any] = {
        "file": str(path),
        "packets": 0,
        "by_type": [],
        "obt_range": None,
        "idb_versions": [],
        "errors": [],
        "rejected": {},
        "outside_mission": 0,
    }
    try:
        if path.suffix.lower() == ".hex":
            packets, read_errors = read_hex_dump(path), list[PacketError]()
        else:
            packets, read_errors = read_packets(path)
    except TelemetryFileError as exc:
        if not exc.truncated or not (exc.packets or exc.errors):
            record["errors"] = [{"packet_id": None, "reason": exc.reason}]
            record["unusable"] = True
            return record
        packets, read_errors = list(exc.packets), [*exc.errors, PacketError(str(path), None, exc.reason)]
    result = decode_packets(packets, manager, file=str(path))
    index = result.index
    record["packets"] = len(packets) + len(read_errors)
    record["by_type"] = [
        {"service": key[0], "subtype": key[1], "ssid": key[2], "count": int(len(members))}
        for key, members in sorted(
            index.groups(by_version=False).items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or -1)
        )
    ]
    if len(index):
        times = scet_to_float(index.headers["scet_coarse"], index.headers["scet_fine"])
        record["obt_range"] = [float(times.min()), float(times.max())]
    record["idb_versions"] = sorted(set(index.idb_version[index.ok].tolist()))
    record["rejected"] = dict(sorted(Counter(index.rejected.values()).items()))
    if window is not None and len(index):
        record["outside_mission"] = int(np.count_nonzero(window.outside(index.headers["scet_coarse"][index.ok])))
    errors = sorted([*read_errors, *result.errors], key=lambda e: (e.packet_id is None, e.packet_id or 0))
    record["errors"] = [{"packet_id": e.packet_id, "reason": e.reason} for e in errors]
    return record


def _print_text(record: dict[str, Any]) -> None:
    print(f"{record['file']}: {record['packets']} packet(s)")
    if record["obt_range"]:
        print(f"  OBT {record['obt_range'][0]:.5f} .. {record['obt_range'][1]:.5f}")
    if record["idb_versions"]:
        print(f"  IDB {', '.join(record['idb_versions'])}")
    for entry in record["by_type"]:
        ssid = "" if entry["ssid"] is None else f"/{entry['ssid']}"
        print(f"  {entry['service']:>3}/{entry['subtype']}{ssid:<6} {entry['count']:>8}")
    for kind, count in record["rejected"].items():
        print(f"  refused ({kind}): {count}")
    if record["outside_mission"]:
        print(f"  outside the mission window (no products): {record['outside_mission']}")
    for error in record["errors"]:
        print(f"  ERROR packet {error['packet_id']}: {error['reason']}")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Inspect the files and print a summary (text or JSON)."""
    from stix_lib.idb.manager import IDBManager
    from stix_lib.time.mission_window import MissionWindow

    root = Path(args.idb_dir or settings.idb_dir)
    manager = IDBManager(root)
    try:
        manager.history  # noqa: B018 - validate the IDB folder before reading telemetry
        if not manager.installed_versions:
            raise ValueError(f"no IDB installed under {root}")
    except ValueError as exc:
        print(f"stix-pipeline inspect: {exc}")
        return EXIT_UNUSABLE
    window = MissionWindow.from_settings(settings)
    records = [inspect_file(Path(f), manager, window) for f in args.files]
    status = EXIT_OK
    for record in records:
        if record.pop("unusable", False):
            status = max(status, EXIT_UNUSABLE)
        elif record["errors"]:
            status = max(status, EXIT_PACKET_ERRORS)
    if args.json:
        print(json.dumps({"files": records}, indent=2))
    else:
        for record in records:
            _print_text(record)
    return status
