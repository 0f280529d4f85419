"""Decode a mixed stream of packets: classify, group by type and IDB version, decode each group."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stix_lib.decode.bits import BitBuffer
from stix_lib.decode.classify import PacketIndex, classify_packets
from stix_lib.decode.decoder import DEFAULT_PAD_TOLERANCE, DecodedPackets, decode_layout
from stix_lib.decode.layout import LayoutError, PacketKey, get_layout
from stix_lib.idb.manager import IDBManager
from stix_lib.idb.version_history import version_key
from stix_lib.tm.errors import PacketError
from stix_lib.tm.raw_packet import RawPacket

log = logging.getLogger(__name__)

#: Group key: ``(service_type, service_subtype, ssid or None, idb_version)``.
GroupKey = tuple[int, int, "int | None", str]


@dataclass
class DecodeResult:
    """Decoded packets of a stream, grouped by packet type and IDB version.

    Attributes
    ----------
    index
        Classification of the packets long enough to hold headers (headers, SSID, IDB version).
    positions
        Input position of each row of ``index``.
    packet_ids
        Packet id of each row of ``index`` (the input position when plain bytes were given).
    groups
        ``(service, subtype, ssid, idb_version)`` -> decoded packets of that group; their
        ``indices`` refer to positions in the input sequence.
    errors
        One :class:`~stix_lib.tm.errors.PacketError` per packet that could not be decoded.
    notes
        Informational messages (pad bytes within tolerance).
    """

    index: PacketIndex
    positions: npt.NDArray[np.intp]
    packet_ids: npt.NDArray[np.int64]
    groups: dict[GroupKey, DecodedPackets] = field(default_factory=dict)
    errors: list[PacketError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def by_type(self, service: int, subtype: int, ssid: int | None = None) -> list[DecodedPackets]:
        """All groups of one packet type (one per IDB version), in version order."""
        return [
            group
            for key, group in sorted(self.groups.items(), key=lambda item: version_key(item[0][3]))
            if key[:3] == (service, subtype, ssid)
        ]

    @property
    def decoded_count(self) -> int:
        """Number of packets decoded successfully."""
        return sum(len(g) for g in self.groups.values())


def decode_packets(
    packets: Sequence[RawPacket] | Sequence[bytes],
    idb_manager: IDBManager,
    *,
    file: str = "",
    pad_tolerance: int = DEFAULT_PAD_TOLERANCE,
    select: Callable[[PacketKey], bool] | None = None,
) -> DecodeResult:
    """Decode every packet of a stream with the IDB valid at its time.

    Parameters
    ----------
    packets
        Packets from :func:`stix_lib.tm.read_packets` (or plain packet bytes).
    idb_manager
        Chooses the IDB per packet.
    file
        File name used in the error records.
    pad_tolerance
        Trailing bytes allowed after a layout.
    select
        Decode only the packet types for which this returns True (others are neither decoded
        nor reported).

    Returns
    -------
    DecodeResult
        A packet that cannot be classified or decoded costs only itself.
    """
    if packets and isinstance(packets[0], RawPacket):
        ids = np.fromiter((p.packet_id for p in packets), dtype=np.int64, count=len(packets))  # type: ignore[union-attr]
        datas = [p.data for p in packets]  # type: ignore[union-attr]
    else:
        ids = np.arange(len(packets), dtype=np.int64)
        datas = list(packets)
    errors: list[PacketError] = []
    keep = np.arange(len(datas))
    kept = datas
    buf = BitBuffer(kept)
    index = classify_packets(buf, idb_manager)
    result = DecodeResult(index=index, positions=keep.astype(np.intp), packet_ids=ids[keep])
    for i, reason in sorted(index.errors.items()):
        errors.append(PacketError(file, int(ids[keep[i]]), reason))
    for key, members in index.groups().items():
        service, subtype, ssid, version = key
        packet_key = PacketKey(service, subtype, ssid)
        if select is not None and not select(packet_key):
            continue
        try:
            layout = get_layout(idb_manager.get_idb(version), service, subtype, ssid)
        except LayoutError as exc:
            errors.extend(PacketError(file, int(ids[keep[i]]), str(exc)) for i in members.tolist())
            continue
        decoded = decode_layout(layout, buf, members, pad_tolerance=pad_tolerance)
        errors.extend(PacketError(file, int(ids[keep[i]]), reason) for i, reason in decoded.errors)
        result.notes.extend(decoded.notes)
        for note in decoded.notes:
            log.info("%s: %s", file or "packets", note)
        decoded.indices = keep[decoded.indices].astype(np.intp)
        if len(decoded):
            result.groups[(service, subtype, ssid, version)] = decoded
    errors.sort(key=lambda e: (e.packet_id is None, e.packet_id if e.packet_id is not None else 0))
    result.errors = errors
    return result
