"""Counts conserved from the decoded packets to the L0/L1 file of a science request.

An invariant that holds whatever the implementation: the counts (and triggers) of a request's
packets, summed per time bin and per energy group straight from the decoded, decompressed packet
values, equal the totals of its FITS file, where each file channel holds the packet groups whose
native channels it spans. It deliberately does not use the request decoder
(:mod:`stix_lib.products.l0.science`) nor the writer (:mod:`stix_lib.products.science`):

* time bins are the distinct (request time stamp, relative start) pairs of the substructures
  (rpd/cpd/scpd; a bin split over substructures is one bin), the substructures (vis) or the
  samples (spec), in time order; an L1 file with the time/count offset fix (HISTORY "Time and
  count arrays were shifted ...") has lost the first and last bin;
* energy groups: rpd one native channel per count entry (NIXD0154), cpd/scpd/vis ``NIXD0016`` ..
  ``NIXD0017``, spec ``e_min + k * step`` .. ``+ step - 1`` (NIXD0442, NIXD0019);
* values: rpd ``NIX00065``, cpd/scpd ``NIX00260``, spec ``NIX00268``, vis the flux ``NIX00261``;
  triggers of a bin's first substructure: rpd ``NIX00408..423``, cpd/scpd/vis ``NIX00242..257``,
  spec ``NIX00267`` (not compared when the file's triggers were descaled, ``TRIG_SCA``);
* file channels: the 32 native channels when the counts have 32, otherwise the spec's rule on the
  CONTROL ``energy_bin_edge_mask`` (channel c spans the native channels between the c-th and the
  (c+1)-th set edge).

:func:`check_conservation` compares one file with its packets; :func:`request_packets` finds the
packets of an archive file (file -> parent L0 -> parent LB, all in the archive that holds the
file) and :func:`add_conservation_findings` reports the result for ``stix-pipeline validate
--conservation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from astropy.io import fits

from stix_lib.idb.manager import IDBManager
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.l0.packets import PacketBatch, decode_lb_product, ramp
from stix_lib.validate.report import FileReport

#: SSIDs with counts, by kind (user requests and their auto twins).
RPD, PIXEL_DATA, VISIBILITIES, SPECTROGRAM = {20, 10}, {21, 22, 11, 12}, {23, 13}, {24, 14}
COUNT_SSIDS = frozenset(RPD | PIXEL_DATA | VISIBILITIES | SPECTROGRAM)
SHIFTED_HISTORY = "Time and count arrays were shifted"


@dataclass(frozen=True)
class RequestTotals:
    """Per time bin and energy group totals of one request.

    Attributes
    ----------
    low, high
        Native channel range of each energy group (inclusive).
    counts
        ``(T, G)`` counts per time bin and group.
    triggers
        ``(T,)`` summed triggers per time bin.
    """

    low: npt.NDArray[np.int64]
    high: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]
    triggers: npt.NDArray[np.int64]


def _value(batch: PacketBatch, name: str) -> np.ndarray:
    """Decompressed values of ``name`` when it is compressed, else the raw values."""
    part = batch.decompressed.get(name)
    return np.asarray(part.values if part is not None else batch.values(name), dtype=np.int64)


def _relative_start(batch: PacketBatch) -> np.ndarray:
    return batch.values("NIX00404" if batch.has("NIX00404") else "NIX00441").astype(np.int64)


def _bins(stamp: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, int]:
    """Time bin (0 .. n - 1, in time order) of each (stamp, relative start) pair."""
    if not len(start):
        return np.zeros(0, dtype=np.int64), 0
    keys, inverse = np.unique(np.stack([stamp, start], axis=1), axis=0, return_inverse=True)
    return inverse.ravel().astype(np.int64), len(keys)


def _totals(n_bins: int, bin_of: np.ndarray, low: np.ndarray, high: np.ndarray, values: np.ndarray) -> tuple:
    pairs, group = np.unique(np.stack([low, high], axis=1), axis=0, return_inverse=True)
    group = group.ravel()
    counts = np.zeros((n_bins, len(pairs)), dtype=np.int64)
    np.add.at(counts, (bin_of, group), values)
    return pairs[:, 0], pairs[:, 1], counts


def _first_per_bin(bin_of_sub: np.ndarray, n_bins: int, values: np.ndarray) -> np.ndarray:
    _, first = np.unique(bin_of_sub, return_index=True)
    out = np.zeros(n_bins, dtype=np.int64)
    out[bin_of_sub[first]] = values[first]
    return out


def request_totals(batch: PacketBatch) -> RequestTotals:
    """Counts and triggers of one complete request, from its decoded packets (see the module docstring).

    Raises
    ------
    ValueError
        The batch is not a science request with counts.
    """
    ssid = int(batch.decoded.layout.key.ssid)
    if ssid not in COUNT_SSIDS:
        raise ValueError(f"SSID {ssid} is not a science request with counts")
    stamp_of_packet = batch.scalar("NIX00402").astype(np.int64)
    start = _relative_start(batch)
    if ssid in SPECTROGRAM:
        sub_of_sample, _ = ramp(batch.values("NIX00089"))
        packet_of_sub = np.repeat(np.arange(len(batch)), batch.counts("NIX00089"))
        bin_of, n_bins = _bins(stamp_of_packet[packet_of_sub][sub_of_sample], start)
        sample_of_value, k = ramp(batch.values("NIX00270"))
        sub = sub_of_sample[sample_of_value]
        step = batch.values("NIXD0019").astype(np.int64)[sub] + 1
        low = batch.values("NIXD0442").astype(np.int64)[sub] + k * step
        low_, high_, counts = _totals(n_bins, bin_of[sample_of_value], low, low + step - 1, _value(batch, "NIX00268"))
        triggers = np.zeros(n_bins, dtype=np.int64)
        np.add.at(triggers, bin_of, _value(batch, "NIX00267"))
        return RequestTotals(low_, high_, counts, triggers)
    packet_of_sub = np.repeat(np.arange(len(batch)), batch.counts("NIX00405"))
    bin_of_sub, n_bins = _bins(stamp_of_packet[packet_of_sub], start)
    if ssid in RPD:
        sub_of_entry = np.repeat(np.arange(len(bin_of_sub)), batch.values("NIX00406").astype(np.int64))
        channel = batch.values("NIXD0154").astype(np.int64)
        low_, high_, counts = _totals(n_bins, bin_of_sub[sub_of_entry], channel, channel, _value(batch, "NIX00065"))
        trigger_names = [f"NIX00{408 + g}" for g in range(16)]
    else:
        sub_of_group = np.repeat(np.arange(len(bin_of_sub)), batch.values("NIX00258").astype(np.int64))
        low, high = (batch.values(n).astype(np.int64) for n in ("NIXD0016", "NIXD0017"))
        if ssid in VISIBILITIES:
            per_group = _value(batch, "NIX00261")
        else:
            group_of_value, _ = ramp(batch.values("NIX00259"))
            per_group = np.zeros(len(low), dtype=np.int64)
            np.add.at(per_group, group_of_value, _value(batch, "NIX00260"))
        low_, high_, counts = _totals(n_bins, bin_of_sub[sub_of_group], low, high, per_group)
        trigger_names = [f"NIX00{242 + g}" for g in range(16)]
    per_sub = np.sum([_value(batch, name) for name in trigger_names], axis=0)
    return RequestTotals(low_, high_, counts, _first_per_bin(bin_of_sub, n_bins, per_sub))


def _file_channels(control: fits.FITS_rec, n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Native channel range of each file channel (see the module docstring)."""
    if n_channels == 32:
        native = np.arange(32)
        return native, native
    if "energy_bin_edge_mask" not in control.names:
        raise ValueError(f"{n_channels} energy channels and no energy_bin_edge_mask in CONTROL")
    edges = np.flatnonzero(np.asarray(control["energy_bin_edge_mask"][0]).astype(bool))
    if len(edges) - 1 != n_channels:
        raise ValueError(f"{n_channels} energy channels but the edge mask has {len(edges)} set edges")
    return edges[:-1], edges[1:] - 1


def check_conservation(batch: PacketBatch, path: Path) -> list[str]:
    """Mismatches between a request's packets and its L0/L1 file (empty when counts are conserved).

    Parameters
    ----------
    batch
        The request's packets, decoded and decompressed (one complete sequence).
    path
        Its L0 or L1 FITS file.

    Returns
    -------
    list of str
        One line per problem, naming the file, the time bin and the channel.
    """
    path = Path(path)
    expected = request_totals(batch)
    with fits.open(path) as hdul:
        header, control, data = hdul[0].header, hdul["CONTROL"].data, hdul["DATA"].data
        name = "flux" if "flux" in data.names else "counts"
        values = np.asarray(data[name], dtype=np.int64)
        counts = values.reshape(len(values), -1, values.shape[-1]).sum(axis=1) if values.ndim > 2 else values
        triggers = np.asarray(data["triggers"], dtype=np.int64).reshape(len(data), -1).sum(axis=1)
        shifted = SHIFTED_HISTORY in str(header.get("HISTORY", ""))
        descaled = "TRIG_SCA" in header
        try:
            low, high = _file_channels(control, counts.shape[1])
        except ValueError as exc:
            return [f"{path.name}: {exc}"]
    packet_counts, packet_triggers = expected.counts, expected.triggers
    if shifted:
        packet_counts, packet_triggers = packet_counts[1:-1], packet_triggers[1:-1]
    if len(packet_counts) != len(counts):
        return [f"{path.name}: {len(counts)} time bins, the packets have {len(packet_counts)}"]
    problems = []
    column = np.full(len(expected.low), -1)
    for g, (a, b) in enumerate(zip(expected.low, expected.high, strict=True)):
        inside = np.flatnonzero((low <= a) & (b <= high))
        if not len(inside):
            problems.append(f"{path.name}: packet energy group {a}-{b} lies in no channel of the file")
        else:
            column[g] = inside[0]
    want = np.zeros_like(counts)
    for found in np.flatnonzero(column >= 0):
        want[:, column[found]] += packet_counts[:, found]
    for t, c in zip(*np.nonzero(want != counts), strict=True):
        problems.append(
            f"{path.name}: {name} of time bin {t}, channel {c} (native {low[c]}-{high[c]}): "
            f"file {counts[t, c]}, packets {want[t, c]}"
        )
    if not descaled:
        for t in np.flatnonzero(packet_triggers != triggers):
            problems.append(f"{path.name}: triggers of time bin {t}: file {triggers[t]}, packets {packet_triggers[t]}")
    return problems


def _archive_file(path: Path, level: str, ssid: int, name: str) -> Path:
    """``<archive>/<level>/21/6/<ssid>/<name>`` of the archive that holds ``path``."""
    for parent in path.parents:
        if parent.name in ("L0", "L1"):
            return parent.parent / level / "21" / "6" / str(ssid) / name
    raise FileNotFoundError(f"{path.name} is not inside an archive (no L0/L1 folder above it)")


def request_packets(path: Path, idb_manager: IDBManager) -> PacketBatch:
    """The decoded packets of the request of an archive's science L0/L1 file (file -> L0 -> LB).

    Raises
    ------
    FileNotFoundError
        The parent L0 or LB file is not in the archive.
    ValueError
        The LB file has no complete, decodable sequence of the file's request.
    """
    path = Path(path)
    with fits.open(path) as hdul:
        header, control = hdul[0].header, hdul["CONTROL"].data
        ssid, parent = int(header["SSID"]), str(control["parent"][0]).strip()
        request = (int(control["tc_packet_seq_control"][0]), int(control["request_id"][0]))
    if header["LEVEL"] == "L1":
        l0 = _archive_file(path, "L0", ssid, parent)
        if not l0.exists():
            raise FileNotFoundError(f"{path.name}: parent {l0} not found")
        parent = str(fits.getdata(l0, "CONTROL")["parent"][0]).strip()
    lb_path = _archive_file(path, "LB", ssid, parent)
    if not lb_path.exists():
        raise FileNotFoundError(f"{path.name}: LB file {lb_path} not found")
    lb = read_lb(lb_path)
    report = request_sequences(lb.headers["sequence_flag"], lb.headers["sequence_count"], lb.key)
    for sequence in report.complete:
        batches, _ = decode_lb_product(lb.take(np.asarray(sequence.rows, dtype=np.int64)), idb_manager)
        for batch in batches:
            ids = (int(batch.scalar("NIX00002", default=0)[0]), int(batch.scalar("NIX00037", default=0)[0]))
            if ids == request:
                return batch
    raise ValueError(f"{lb_path.name}: no complete decodable sequence of request {request[1]}-{request[0]}")


def is_count_request_file(path: Path) -> bool:
    """True for the L0/L1 file of a science request with counts (by its primary header)."""
    header = fits.getheader(path)
    return (
        header.get("LEVEL") in ("L0", "L1")
        and (header.get("STYPE"), header.get("SSTYPE")) == (21, 6)
        and header.get("SSID") in COUNT_SSIDS
    )


def add_conservation_findings(report: FileReport, idb_manager: IDBManager) -> None:
    """Check a validated file's counts against its packets; errors ``conservation`` into ``report``.

    Files other than science count products are left alone; a count product whose packets cannot
    be found or decoded is an error ``conservation-unchecked``.
    """
    try:
        if not is_count_request_file(report.path):
            return
        batch = request_packets(report.path, idb_manager)
    except (OSError, ValueError, KeyError) as exc:
        report.error("conservation-unchecked", f"counts not checked against the packets: {exc}")
        return
    for problem in check_conservation(batch, report.path):
        report.error("conservation", problem)
    if not any(f.code == "conservation" for f in report.findings):
        report.info("conservation", f"counts and triggers equal the sums of the {len(batch)} packets")
