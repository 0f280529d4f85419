"""Per-packet classification of a batch: IDB version, SSID (PI1) and BSD request id.

* The IDB version of each packet is the one valid at its own header SCET (coarse seconds),
  looked up vectorised through :class:`~stix_lib.idb.manager.IDBManager`.
* The SSID is the PI1 field; its position comes from the ``PIC`` table of that IDB:
  ``PIC_PI1_OFF`` bytes from the packet start, ``PIC_PI1_WID`` bits. Packet types without a PIC
  row have no SSID (:data:`NO_SSID`).
* Admission: only STIX TM packets of types the IDB knows are classified. TC packets, packets of
  a foreign APID (none of the ``PID_APID`` values of their IDB) and packet types (service, subtype, SSID)
  without a ``PID`` row in their IDB get an error entry and an admission class
  (:data:`REJECT_TC`, :data:`REJECT_FOREIGN_APID`, :data:`REJECT_UNKNOWN_TYPE`) in
  :attr:`PacketIndex.rejected`, so callers report and count them instead of merging or dropping
  them silently.
* BSD packets (21/6 with SSID 20-24, 42) carry the request that produced them in their leading
  parameters: ``NIX00002`` (TC packet sequence control, "psc") and ``NIX00037`` (unique request
  id, "rid"). A structure without ``NIX00037`` (old aspect packets) yields ``(0, 0)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stix_lib.decode.bits import BitBuffer
from stix_lib.decode.layout import LayoutError, PacketKey, get_layout
from stix_lib.idb.manager import IDBManager
from stix_lib.tm.headers import TM_HEADERS_BYTES, apid, decode_header_bytes, is_tc

#: SSID value stored for packets whose type has no PI1 field.
NO_SSID = -1
#: SSIDs of science (bulk science data, BSD) packets of service 21/6 that carry a request id.
BSD_SSIDS = frozenset({20, 21, 22, 23, 24, 42})

#: Admission classes (see the module docstring); values of :attr:`PacketIndex.rejected`.
REJECT_TC = "tc"
REJECT_FOREIGN_APID = "foreign_apid"
REJECT_UNKNOWN_TYPE = "unknown_type"

REQUEST_PSC = "NIX00002"
REQUEST_RID = "NIX00037"


@dataclass
class PacketIndex:
    """Classification of every packet of a batch.

    Attributes
    ----------
    headers
        Decoded headers (:data:`stix_lib.tm.headers.HEADER_DTYPE`), one per packet.
    ssid
        SSID (PI1) per packet, :data:`NO_SSID` when the type has none (int64).
    idb_version
        Installed IDB version used for each packet.
    errors
        ``packet index -> reason`` for packets that cannot be classified.
    rejected
        ``packet index -> admission class`` for the packets of ``errors`` refused by admission
        (TC, foreign APID, unknown type).
    """

    headers: np.ndarray
    ssid: npt.NDArray[np.int64]
    idb_version: npt.NDArray[np.str_]
    errors: dict[int, str] = field(default_factory=dict)
    rejected: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.headers)

    @property
    def ok(self) -> npt.NDArray[np.bool_]:
        """True for packets without a classification error."""
        mask = np.ones(len(self), dtype=bool)
        if self.errors:
            mask[list(self.errors)] = False
        return mask

    def key(self, index: int) -> PacketKey:
        """The packet type key of packet ``index``."""
        ssid = int(self.ssid[index])
        return PacketKey(
            int(self.headers["service_type"][index]),
            int(self.headers["service_subtype"][index]),
            None if ssid == NO_SSID else ssid,
        )

    def groups(self, *, by_version: bool = True) -> dict[tuple, npt.NDArray[np.intp]]:
        """Packet indices (ascending) per ``(service, subtype, ssid[, idb_version])``.

        Only packets without classification errors are included; ``ssid`` is ``None`` for types
        without PI1.
        """
        ok = np.nonzero(self.ok)[0]
        if not len(ok):
            return {}
        service = self.headers["service_type"][ok].astype(np.int64)
        subtype = self.headers["service_subtype"][ok].astype(np.int64)
        ssid = self.ssid[ok]
        if by_version:
            versions, version_code = _version_codes(self.idb_version[ok])
        else:
            versions, version_code = [""], np.zeros(len(ok), dtype=np.int64)
        code = ((service * 256 + subtype) * (1 << 33) + (ssid + 1)) * len(versions) + version_code
        order = np.argsort(code, kind="stable")
        sorted_code = code[order]
        bounds = np.flatnonzero(np.diff(sorted_code)) + 1
        out: dict[tuple, npt.NDArray[np.intp]] = {}
        for chunk in np.split(order, bounds):
            first = ok[chunk[0]]
            key: tuple[int | str | None, ...] = tuple(self.key(int(first)))
            if by_version:
                key = (*key, str(self.idb_version[first]))
            out[key] = ok[chunk].astype(np.intp)
        return out


def _version_codes(versions: npt.NDArray[np.str_]) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The distinct versions (sorted) and the position of each packet's version among them."""
    if not len(versions):
        return [], np.zeros(0, dtype=np.int64)
    first = versions[0]
    if bool(np.all(versions == first)):  # the usual case: one IDB for the whole batch
        return [str(first)], np.zeros(len(versions), dtype=np.int64)
    labels, codes = np.unique(versions, return_inverse=True)
    return labels.tolist(), codes.astype(np.int64).ravel()


def _all_equal(values: npt.NDArray[np.int64]) -> bool:
    """Whether every element of a non-empty array equals the first."""
    return bool(np.all(values == values[0]))


def _among(values: npt.NDArray[np.int64], known: frozenset[int]) -> npt.NDArray[np.bool_]:
    """``np.isin(values, known)``; one set look-up when all values are equal (the usual case)."""
    if len(values) and _all_equal(values):
        return np.full(len(values), int(values[0]) in known)
    return np.isin(values, np.fromiter(known, dtype=np.int64))


def classify_packets(
    packets: Sequence[bytes] | BitBuffer,
    idb_manager: IDBManager,
    *,
    headers: np.ndarray | None = None,
) -> PacketIndex:
    """Decode headers, choose the IDB version and read the SSID of every packet.

    Parameters
    ----------
    packets
        Complete CCSDS packets (each at least 16 bytes) or a :class:`BitBuffer` of them.
    idb_manager
        Chooses the IDB per packet time.
    headers
        Already decoded headers (skips decoding).

    Returns
    -------
    PacketIndex
        Packets refused by admission (module docstring) and packets too short for their headers
        or PI1 field get an error entry.
    """
    buf = packets if isinstance(packets, BitBuffer) else BitBuffer(packets)
    if headers is None:
        headers = decode_header_bytes(buf.leading_bytes(TM_HEADERS_BYTES))
    count = len(headers)
    errors: dict[int, str] = {}
    rejected: dict[int, str] = {}
    versions = idb_manager.versions_for(headers["scet_coarse"]) if count else np.zeros(0, dtype=str)
    labels, version_code = _version_codes(versions)
    idbs = [idb_manager.get_idb(version) for version in labels]
    ssid = np.full(count, NO_SSID, dtype=np.int64)
    apids = apid(headers)
    tc = is_tc(headers) | (headers["packet_type"] == 1)
    for i in np.flatnonzero(tc).tolist():
        errors[i] = f"TC packet (APID {int(apids[i])}) in a TM stream"
        rejected[i] = REJECT_TC
    foreign = np.zeros(count, dtype=bool)
    for code, idb in enumerate(idbs):
        in_version = ~tc if len(idbs) == 1 else (version_code == code) & ~tc
        foreign[in_version] = ~_among(apids[in_version], idb.get_apids())
    for i in np.flatnonzero(foreign).tolist():
        errors[i] = f"foreign APID {int(apids[i])} (process id {int(headers['process_id'][i])}): not a STIX APID"
        rejected[i] = REJECT_FOREIGN_APID
    short_tm = ~tc & ~foreign & (buf.byte_lengths < TM_HEADERS_BYTES)
    for i in np.flatnonzero(short_tm).tolist():
        errors[i] = f"packet has {int(buf.byte_lengths[i])} bytes, shorter than the CCSDS + PUS TM headers"
    # admitted packets grouped by (version, service, subtype): one stable sort
    admitted = np.flatnonzero(~tc & ~foreign & ~short_tm)
    type_code = (
        (version_code[admitted] << 16)
        | (headers["service_type"][admitted].astype(np.int64) << 8)
        | headers["service_subtype"][admitted]
    )
    if len(type_code) and _all_equal(type_code):  # the usual case: one packet type (an LB product)
        order, sorted_code = np.arange(len(type_code)), type_code
        starts, ends = np.zeros(1, dtype=np.int64), np.array([len(type_code)])
    else:
        order = np.argsort(type_code, kind="stable")
        sorted_code = type_code[order]
        starts = np.flatnonzero(np.diff(sorted_code, prepend=-1))
        ends = np.append(starts[1:], len(order))[: len(starts)]
    for first, stop in zip(starts.tolist(), ends.tolist(), strict=True):
        code = int(sorted_code[first])
        version, idb, st, sst = labels[code >> 16], idbs[code >> 16], (code >> 8) & 0xFF, code & 0xFF
        members = admitted[order[first:stop]]
        if idb.get_packet_type_info(st, sst) is None:
            for i in members.tolist():
                errors[i] = f"packet type {st}/{sst} unknown to IDB {version}"
                rejected[i] = REJECT_UNKNOWN_TYPE
            continue
        position = idb.get_packet_pi1_position(st, sst)
        if position is None:
            continue
        offset, width = position
        needed = offset * 8 + width
        short = buf.bit_lengths[members] < needed
        for i in members[short].tolist():
            errors[i] = f"packet too short for its PI1 field ({needed} bits needed)"
        good = members[~short]
        ssid[good] = buf.read(buf.bit_starts[good] + offset * 8, width)
        found = ssid[good]
        for value in [int(found[0])] if len(found) and _all_equal(found) else np.unique(found).tolist():
            if idb.get_packet_type_info(st, sst, int(value)) is None:
                for i in good[ssid[good] == value].tolist():
                    errors[i] = f"packet type {st}/{sst} with SSID {value} unknown to IDB {version}"
                    rejected[i] = REJECT_UNKNOWN_TYPE
    return PacketIndex(headers=headers, ssid=ssid, idb_version=versions, errors=errors, rejected=rejected)


def request_ids(
    packets: Sequence[bytes] | BitBuffer,
    index: PacketIndex,
    idb_manager: IDBManager,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64], dict[int, str]]:
    """Read the BSD request id ``(psc, rid)`` of every science packet.

    Returns
    -------
    is_bsd, psc, rid, errors
        ``is_bsd`` marks 21/6 packets with an SSID in :data:`BSD_SSIDS`; ``psc``/``rid`` are 0
        elsewhere and for structures without ``NIX00037``. ``errors`` lists packets too short to
        hold their request id, or whose type is unknown to their IDB.
    """
    buf = packets if isinstance(packets, BitBuffer) else BitBuffer(packets)
    count = len(index)
    headers = index.headers
    is_bsd = (
        (headers["service_type"] == 21)
        & (headers["service_subtype"] == 6)
        & np.isin(index.ssid, list(BSD_SSIDS))
        & index.ok
    )
    psc = np.zeros(count, dtype=np.int64)
    rid = np.zeros(count, dtype=np.int64)
    errors: dict[int, str] = {}
    if not is_bsd.any():
        return is_bsd, psc, rid, errors
    for key, members in index.groups().items():
        service, subtype, ssid, version = key
        if not is_bsd[members[0]]:
            continue
        try:
            layout = get_layout(idb_manager.get_idb(version), service, subtype, ssid)
        except LayoutError as exc:
            for i in members.tolist():
                errors[i] = str(exc)
            continue
        positions = layout.static_positions()
        if REQUEST_RID not in positions:
            continue
        needed = max(p + w for p, w, _ in (positions[REQUEST_RID], positions.get(REQUEST_PSC, (0, 0, False))))
        short = buf.bit_lengths[members] < needed
        for i in members[short].tolist():
            errors[i] = f"packet too short for its request id ({needed} bits needed)"
        good = members[~short]
        start = buf.bit_starts[good]
        bit, width, _ = positions[REQUEST_RID]
        rid[good] = buf.read(start + bit, width)
        if REQUEST_PSC in positions:
            bit, width, _ = positions[REQUEST_PSC]
            psc[good] = buf.read(start + bit, width)
    return is_bsd, psc, rid, errors
