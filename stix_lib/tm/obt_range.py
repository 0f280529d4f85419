"""On-board time (OBT) range of a telemetry file, from its packet headers.

Used by ingest (stored in the ledger as ``tm_files.obt_start/obt_end``) and staging (a file is
released early once the flown SPICE kernels cover its range). Only **synchronised** packet times
count (top coarse bit clear, see :func:`stix_lib.time.scet.time_sync`): unsynchronised times are
not clock readings and no kernel changes how they convert. TC packets (packet type 1) are ignored.

The file is streamed; only the first 16 bytes of each packet are kept, so memory stays small for
large files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stix_lib.time.scet import SCETime
from stix_lib.tm.errors import TelemetryFileError
from stix_lib.tm.headers import TM_HEADERS_BYTES, decode_headers, is_tc
from stix_lib.tm.raw_packet import RawPacket
from stix_lib.tm.xml_reader import iter_packets


@dataclass(frozen=True)
class ObtRange:
    """What the packet headers of one file say about its time span.

    Attributes
    ----------
    packets
        Number of readable packets.
    packet_errors
        Number of unreadable packets (the file is still usable).
    synchronised
        Number of TM packets with a synchronised time.
    start, end
        Earliest and latest synchronised time as binary SCET (``coarse << 16 | fine``), or
        ``None`` when there is none.
    """

    packets: int
    packet_errors: int
    synchronised: int
    start: int | None
    end: int | None

    @property
    def times(self) -> SCETime:
        """``[start, end]`` as :class:`SCETime` (empty when no synchronised time)."""
        if self.start is None or self.end is None:
            return SCETime([], [])
        return SCETime.from_btime(np.array([self.start, self.end], dtype=np.int64))


def read_obt_range(path: Path) -> ObtRange:
    """Read a TM XML file completely and return its OBT range.

    Parameters
    ----------
    path
        A ``PktRawResponse`` XML file.

    Returns
    -------
    ObtRange

    Raises
    ------
    TelemetryFileError
        The file is not usable telemetry: any file-level problem of the reader (not XML,
        truncated, TC report, DTD, ...) or not a single readable packet.
    """
    path = Path(path)
    heads: list[bytes] = []
    errors = 0
    first_error = ""
    for item in iter_packets(path):
        if isinstance(item, RawPacket):
            heads.append(item.data[:TM_HEADERS_BYTES])
        else:
            errors += 1
            first_error = first_error or str(item)
    if not heads:
        detail = f"; first: {first_error}" if first_error else ""
        raise TelemetryFileError(path, f"no readable packet ({errors} packet errors{detail})")
    headers = decode_headers(heads, pad_short=True)
    full = np.array([len(head) == TM_HEADERS_BYTES for head in heads], dtype=bool)
    tm = headers[(headers["packet_type"] == 0) & full & ~is_tc(headers)]
    times = SCETime(tm["scet_coarse"], tm["scet_fine"])
    synced = times.btime[times.time_sync]
    if synced.size == 0:
        return ObtRange(len(heads), errors, 0, None, None)
    return ObtRange(len(heads), errors, int(synced.size), int(synced.min()), int(synced.max()))
