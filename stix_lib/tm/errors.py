"""Error types of the telemetry reader.

Two kinds of problems are distinguished:

* :class:`TelemetryFileError` (an exception): the file as a whole cannot be used (missing, empty,
  not XML, truncated, a TC report instead of TM, forbidden DTD/entities, no ``PktRawResponse``).
* :class:`PacketError` (a value): one packet of an otherwise readable file is bad; readers yield
  it in place of the packet and carry on with the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.tm.raw_packet import RawPacket


class TelemetryFileError(Exception):
    """A telemetry file that cannot be used as a whole.

    Parameters
    ----------
    path
        The file concerned.
    reason
        Human readable cause, e.g. ``"not an XML file: syntax error: line 1, column 0"``.
    packets
        Packets read successfully before the problem was found (only set by
        :func:`stix_lib.tm.xml_reader.read_packets`; a truncated file keeps its good packets).
    errors
        Packet errors collected before the problem was found (as ``packets``).
    truncated
        The file ends (or breaks) part way through, after the telemetry started: the complete
        packets before that point are usable.

    Notes
    -----
    ``str(error) == f"{path}: {reason}"``.
    """

    def __init__(
        self,
        path: Path | str,
        reason: str,
        *,
        packets: Sequence[RawPacket] = (),
        errors: Sequence[PacketError] = (),
        truncated: bool = False,
    ) -> None:
        self.path = Path(path)
        self.truncated = truncated
        self.reason = reason
        self.packets: tuple[RawPacket, ...] = tuple(packets)
        self.errors: tuple[PacketError, ...] = tuple(errors)
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep the error picklable (worker processes, task results)
        return (_rebuild_file_error, (self.path, self.reason, self.packets, self.errors, self.truncated))


def _rebuild_file_error(
    path: Path, reason: str, packets: tuple[RawPacket, ...], errors: tuple[PacketError, ...], truncated: bool = False
) -> TelemetryFileError:
    return TelemetryFileError(path, reason, packets=packets, errors=errors, truncated=truncated)


@dataclass(frozen=True)
class PacketError:
    """A problem with one packet of a telemetry file.

    Attributes
    ----------
    file
        Name (path as given) of the file holding the packet.
    packet_id
        The ``packetID`` attribute of the XML element (or the id column of a hex dump); ``None``
        when it is missing or not an integer.
    reason
        Human readable cause.
    """

    file: str
    packet_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: packet {self.packet_id}: {self.reason}"
