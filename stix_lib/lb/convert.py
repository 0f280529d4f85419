"""Telemetry files -> Level Binary (LB) FITS products, merged into the archive.

Steps for one or more telemetry files (deliveries, oldest first):

1. read the packets (:func:`stix_lib.tm.iter_packet_batches`); per-packet read errors are kept.
   A file is converted batch by batch (:data:`BATCH_BYTES` of packets each: memory does not grow
   with the file size); steps 2-5 run per batch, a packet whose key an earlier batch of the same
   file already had is a duplicate (the first occurrence in a file wins, as in one batch);
2. classify every packet: headers, IDB version at its own time, SSID from the PI1 position of
   that IDB, BSD request id ``(psc, rid)`` for science packets;
3. group by ``(service, subtype, ssid)``; de-duplicate on ``(scet_coarse, scet_fine,
   sequence_count)`` (see :mod:`stix_lib.lb.product`);
4. split: science (BSD) packets per request ``(psc, rid)``; all others per SCET day
   ``coarse // 86400`` of each packet. Deviation from STIXCore, which takes the index range from
   the first to the last packet of a day and so assumes time-ordered input: here every packet
   goes to the file of its own day whatever the input order;
5. merge into the existing file of each product (newer deliveries win, identical re-deliveries
   change nothing) and write atomically; a file whose content would not change is not rewritten.

Admission: only STIX TM packets of known APIDs/types (:func:`stix_lib.decode.classify.classify_packets`)
and, when a :class:`~stix_lib.time.mission_window.MissionWindow` is given, times inside the
mission become LB rows; every other packet is a packet error naming file, packet id and reason,
counted per admission class in :attr:`LBResult.rejected`. Raw file names are stored ASCII-escaped
(:func:`fits_safe_name`): FITS headers and tables hold printable ASCII only.

A packet that cannot be classified costs only that packet; an existing LB file that cannot be
read, or an LB file that cannot be written (a disk error), costs only that product (reported in
``file_errors``; the file on disk is left as it was). A full, over-quota or read-only file system
(:func:`stix_lib.atomic.is_storage_fault`) raises: no later file could be written either.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stix_lib.atomic import is_storage_fault, sweep_stale_temps_once
from stix_lib.decode.bits import BitBuffer
from stix_lib.decode.classify import NO_SSID, classify_packets, request_ids
from stix_lib.fits.lock import folder_lock
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.fits_io import LOCK_FILE, LBFileError, WrittenLB, read_lb, write_lb
from stix_lib.lb.lb_names import SECONDS_PER_DAY, lb_directory, lb_file_name, parse_lb_file_name
from stix_lib.lb.product import LBProduct
from stix_lib.memory import release_free_memory
from stix_lib.tm.errors import PacketError, TelemetryFileError
from stix_lib.tm.raw_packet import RawPacket
from stix_lib.tm.xml_reader import iter_packet_batches

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.time.mission_window import MissionWindow

log = logging.getLogger(__name__)

TypeKey = tuple[int, int, "int | None"]

#: Packet bytes converted at once (:func:`tms_to_lb`); the LB files of a day are merged per batch.
BATCH_BYTES = 32 * 2**20

#: Admission class of packets timed outside the mission window.
REJECT_TIME = "outside_mission_time"


def fits_safe_name(name: str) -> str:
    """``name`` with every character outside printable ASCII written as a Python escape.

    ``"Sönne ☀.xml"`` -> ``"S\\xf6nne \\u2600.xml"``; printable ASCII names are unchanged.
    """
    return "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in name)


@dataclass
class LBResult:
    """Outcome of a TM -> LB run.

    Attributes
    ----------
    tm_files
        The telemetry files processed.
    written
        LB files created or updated.
    unchanged
        LB files whose content already held every packet (not rewritten).
    errors
        Packets that could not be used (read or classification problems).
    file_errors
        Products that could not be merged (their existing file is unusable) or written. A file
        written by an earlier batch of the same run stays in ``written`` when a later batch's
        write to it fails: it holds the earlier batches' packets.
    packets_read
        Packets read from the telemetry files (errors included).
    packets_used
        Packets that went into LB products (before de-duplication).
    duplicates
        Packets dropped as duplicates (inside the delivery or against the archive).
    by_type
        Packets used per ``(service, subtype, ssid)``.
    rejected
        Packets refused by admission per class (``tc``, ``foreign_apid``, ``unknown_type``,
        ``outside_mission_time``); each is also in ``errors``.
    truncated
        Why a telemetry file ended part way (its complete packets were used).
    """

    tm_files: list[Path] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    errors: list[PacketError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    packets_read: int = 0
    packets_used: int = 0
    duplicates: int = 0
    by_type: dict[TypeKey, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no packet and no product failed."""
        return not self.errors and not self.file_errors


def _split(product: LBProduct) -> list[tuple[str, LBProduct, dict]]:
    """Split into per-day or per-request parts: ``(kind, part, naming kwargs)``."""
    parts = []
    if product.request is not None:
        pairs, inverse = np.unique(product.request, axis=0, return_inverse=True)
        for number, (psc, rid) in enumerate(pairs.tolist()):
            parts.append(("request", product.take(np.flatnonzero(inverse.ravel() == number)), {"request": (psc, rid)}))
    else:
        days = product.headers["scet_coarse"].astype(np.int64) // SECONDS_PER_DAY
        for day in np.unique(days).tolist():
            parts.append(("day", product.take(np.flatnonzero(days == day)), {"day": day}))
    return parts


def packets_to_lb(
    deliveries: Sequence[tuple[str, Sequence[RawPacket]]],
    archive: Path,
    idb_manager: IDBManager,
    *,
    version: int = 2,
    vers_cfg: str = "",
    date: str | None = None,
    result: LBResult | None = None,
    handover: WrittenLB | None = None,
    window: MissionWindow | None = None,
    seen: dict[TypeKey, np.ndarray] | None = None,
    swept: set[Path] | None = None,
) -> LBResult:
    """Turn packets of one or more deliveries (``(raw file name, packets)``, oldest first) into LB files.

    Parameters
    ----------
    deliveries
        Packets per telemetry file, in delivery order (later deliveries are newer).
    archive
        FITS archive root (files go to ``<archive>/LB/...``).
    idb_manager
        IDB selection for SSID and request-id positions.
    version
        Processing version (file names ``_V<vv>``, header ``VERSION``).
    vers_cfg
        STIX-CONF version for the header.
    date
        Fixed ``DATE`` header value (default: now).
    result
        Result to extend (used by :func:`tms_to_lb`).
    handover
        Remembers the daily LB products written, for the LB -> L0 step of the same pipeline.
    window
        Packet times accepted (``None``: any time).
    seen
        De-duplication keys per type of the packets of the same file converted by earlier calls
        (batches): packets with such a key are dropped as duplicates; the keys of this call are
        added.
    swept
        Folders whose stale temporary files the caller's run has removed (once per folder and
        run, under its lock: a folder holds the files of every day of a type, so scanning it
        before each write would cost the size of the archive per file); ``None``: this call's.
    """
    result = result if result is not None else LBResult()
    swept = swept if swept is not None else set()
    data: list[bytes] = []
    ids: list[int] = []
    files: list[str] = []
    generation: list[int] = []
    for number, (name, packets) in enumerate(deliveries):
        data += [p.data for p in packets]
        ids += [p.packet_id for p in packets]
        files += [fits_safe_name(name)] * len(packets)
        generation += [number] * len(packets)
    result.packets_read += len(data)
    if not data:
        return result
    ids_a = np.asarray(ids, dtype=np.int64)
    files_a = np.asarray(files, dtype=str)
    generation_a = np.asarray(generation, dtype=np.int64)
    buf = BitBuffer(data)
    index = classify_packets(buf, idb_manager)
    is_bsd, psc, rid, rid_errors = request_ids(buf, index, idb_manager)
    problems = {**index.errors, **rid_errors}
    rejected = dict(index.rejected)
    if window is not None:
        outside = np.flatnonzero(window.outside(index.headers["scet_coarse"]))
        for i in outside.tolist():
            if i not in problems:
                problems[i] = window.reason(int(index.headers["scet_coarse"][i]))
                rejected[i] = REJECT_TIME
    for kind in rejected.values():
        result.rejected[kind] = result.rejected.get(kind, 0) + 1
    for i, reason in sorted(problems.items()):
        result.errors.append(PacketError(str(files_a[i]), int(ids_a[i]), reason))
    usable = np.ones(len(data), dtype=bool)
    if problems:
        usable[list(problems)] = False
    headers = index.headers
    for key, members in index.groups(by_version=False).items():
        members = members[usable[members]]
        if not len(members):
            continue
        service, subtype, ssid = key
        result.by_type[(service, subtype, ssid)] = result.by_type.get((service, subtype, ssid), 0) + len(members)
        result.packets_used += len(members)
        bsd = bool(is_bsd[members[0]])
        per_delivery = []
        for gen in np.unique(generation_a[members]).tolist():
            rows = members[generation_a[members] == gen]
            per_delivery.append(
                LBProduct(
                    service,
                    subtype,
                    None if ssid in (None, NO_SSID) else ssid,
                    headers[rows],
                    files_a[rows],
                    ids_a[rows],
                    [data[i] for i in rows.tolist()],
                    np.stack([psc[rows], rid[rows]], axis=1) if bsd else None,
                ).combine()
            )
        combined = per_delivery[0]
        for newer in per_delivery[1:]:
            combined = combined.combine(newer)
        if seen is not None:
            combined = _first_in_file(combined, seen)
        result.duplicates += len(members) - len(combined)
        if not len(combined):
            continue
        for _kind, part, naming in _split(combined):
            _merge_into_archive(
                part, naming, archive, version=version, vers_cfg=vers_cfg, date=date,
                result=result, handover=handover, swept=swept,
            )  # fmt: skip
    return result


def _first_in_file(product: LBProduct, seen: dict[TypeKey, np.ndarray]) -> LBProduct:
    """The rows of ``product`` whose key no earlier batch of the file had; remembers their keys."""
    keys = product.dedup_keys()
    earlier = seen.get(product.key)
    if earlier is None:
        seen[product.key] = keys
        return product
    seen[product.key] = np.union1d(earlier, keys)
    return product.take(np.flatnonzero(~np.isin(keys, earlier)))


def _merge_into_archive(
    part: LBProduct,
    naming: dict,
    archive: Path,
    *,
    version: int,
    vers_cfg: str,
    date: str | None,
    result: LBResult,
    handover: WrittenLB | None,
    swept: set[Path],
) -> None:
    folder = lb_directory(archive, *part.key)
    path = folder / lb_file_name(*part.key, version=version, **naming)
    with folder_lock(folder, LOCK_FILE):
        sweep_stale_temps_once(folder, swept, parse_lb_file_name)
        merged = part
        if path.exists():
            try:
                existing = read_lb(path, handover)
            except LBFileError as exc:
                log.error("not merging into %s: %s", path, exc)
                result.file_errors.append(str(exc))
                return
            merged = existing.combine(part)
            result.duplicates += len(existing) + len(part) - len(merged)
            if merged.same_content(existing):
                result.unchanged.append(path)
                return
        try:
            write_lb(merged, path, version=version, vers_cfg=vers_cfg, date=date, handover=handover)
        except OSError as exc:
            if is_storage_fault(exc):  # no later file can be written either: the run stops
                raise
            log.error("writing %s failed: %s", path, exc)
            result.file_errors.append(f"{path}: not written: {exc}")
            return
    result.written.append(path)


def tms_to_lb(
    tm_files: Sequence[Path],
    archive: Path,
    idb_manager: IDBManager,
    *,
    version: int = 2,
    vers_cfg: str = "",
    date: str | None = None,
    handover: WrittenLB | None = None,
    window: MissionWindow | None = None,
) -> LBResult:
    """Process several telemetry files, one after the other (the given order = delivery order).

    Each file is streamed in batches of :data:`BATCH_BYTES` of packets, each batch merged into the
    archive before the next is read. A truncated file (cut after its telemetry started)
    contributes its complete packets; the reason is listed in ``result.truncated``.

    Raises
    ------
    stix_lib.tm.errors.TelemetryFileError
        If a file as a whole cannot be read. Nothing of it is written when the problem is found
        in its first batch (a bad head, DTD, TC report, any file below :data:`BATCH_BYTES`);
        files before it in ``tm_files`` are converted.
    """
    result = LBResult(tm_files=[Path(f) for f in tm_files])
    swept: set[Path] = set()
    for tm_file in result.tm_files:
        _stream_file_to_lb(
            tm_file, archive, idb_manager, result,
            version=version, vers_cfg=vers_cfg, date=date, handover=handover, window=window, swept=swept,
        )  # fmt: skip
    written = list(dict.fromkeys(result.written))
    result.unchanged = [p for p in dict.fromkeys(result.unchanged) if p not in written]
    result.written = written
    return result


def _stream_file_to_lb(
    tm_file: Path,
    archive: Path,
    idb_manager: IDBManager,
    result: LBResult,
    **options,
) -> None:
    """Convert one telemetry file batch by batch (:data:`BATCH_BYTES`) into ``result``."""
    seen: dict[TypeKey, np.ndarray] = {}
    batches = 0
    try:
        for packets, errors in iter_packet_batches(tm_file, BATCH_BYTES):
            _add_batch(tm_file, packets, errors, archive, idb_manager, result, seen, **options)
            del packets, errors
            release_free_memory()
            batches += 1
    except TelemetryFileError as exc:
        if not exc.truncated or not (batches or exc.packets or exc.errors):
            raise
        result.truncated.append(str(exc))
        log.warning("%s; using its complete packets", exc)
        _add_batch(tm_file, list(exc.packets), list(exc.errors), archive, idb_manager, result, seen, **options)


def _add_batch(
    tm_file: Path,
    packets: list[RawPacket],
    errors: list[PacketError],
    archive: Path,
    idb_manager: IDBManager,
    result: LBResult,
    seen: dict[TypeKey, np.ndarray],
    **options,
) -> None:
    result.errors.extend(errors)
    result.packets_read += len(errors)
    packets_to_lb([(tm_file.name, packets)], archive, idb_manager, result=result, seen=seen, **options)


def tm_to_lb(
    tm_file: Path,
    archive: Path,
    idb_manager: IDBManager,
    *,
    version: int = 2,
    vers_cfg: str = "",
    date: str | None = None,
    handover: WrittenLB | None = None,
    window: MissionWindow | None = None,
) -> LBResult:
    """Convert one telemetry XML file into LB files under ``archive`` (see module docstring).

    Parameters
    ----------
    tm_file
        A ``*PktTmRaw*.xml`` file.
    archive
        FITS archive root.
    idb_manager
        IDB selection.
    version
        Processing version (``Settings.processing_version``).
    vers_cfg
        STIX-CONF version for the headers.
    date
        Fixed ``DATE`` header value (default: now).
    handover
        Remembers the daily LB products written (see :class:`stix_lib.lb.fits_io.WrittenLB`).
    window
        Packet times accepted (``None``: any time).

    Returns
    -------
    LBResult
        Written files, per-packet errors and counts.

    Raises
    ------
    stix_lib.tm.errors.TelemetryFileError
        If the file as a whole cannot be read.
    """
    return tms_to_lb(
        [tm_file], archive, idb_manager, version=version, vers_cfg=vers_cfg, date=date, handover=handover, window=window
    )
