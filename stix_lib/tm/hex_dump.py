"""Reader for "id hex" packet dumps (one packet per line, no ground header).

Format (e.g. ``esa_2018_packets.hex``)::

    1 0da7c0000015100501000000000b287200010000ffff000000008672
    2 0da4c000002910031900...

Blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

from pathlib import Path

from stix_lib.tm.errors import TelemetryFileError
from stix_lib.tm.headers import packet_length_problem
from stix_lib.tm.hex_text import decode_hex
from stix_lib.tm.raw_packet import RawPacket


def read_hex_dump(path: Path) -> list[RawPacket]:
    """Read an "id hex" packet dump.

    Parameters
    ----------
    path
        The dump file.

    Returns
    -------
    list of RawPacket
        The packets in file order (``packet_id`` from the first column).

    Raises
    ------
    TelemetryFileError
        If the file is missing, or a line is malformed (not two fields, non-integer id, bad hex,
        packet length not matching its CCSDS length field); the reason names the line number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as exc:
        raise TelemetryFileError(path, "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TelemetryFileError(path, f"cannot read as ASCII text: {exc}") from exc
    packets: list[RawPacket] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        if len(fields) != 2:
            raise TelemetryFileError(path, f"line {number}: expected 'id hex', found {len(fields)} fields")
        try:
            packet_id = int(fields[0])
            data = decode_hex(fields[1])
        except ValueError as exc:
            raise TelemetryFileError(path, f"line {number}: {exc}") from exc
        problem = packet_length_problem(data)
        if problem is not None:
            raise TelemetryFileError(path, f"line {number} (packet {packet_id}): {problem}")
        packets.append(RawPacket(packet_id, data))
    return packets
