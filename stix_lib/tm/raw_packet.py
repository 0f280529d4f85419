"""The packet record produced by the telemetry readers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawPacket:
    """One CCSDS packet as read from a file.

    Attributes
    ----------
    packet_id
        The ``packetID`` of its XML element (running number within the file), or the id column of
        a hex dump.
    data
        The CCSDS packet bytes (primary header onwards; the ground header already removed).
    """

    packet_id: int
    data: bytes
