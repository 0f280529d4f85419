"""Science (BSD) requests: packets of one request -> time bins or samples.

Processing spec §4.5.4. :func:`decode_science_request` dispatches by SSID to
:func:`decode_xray_request` (20 rpd, 21 cpd, 22 scpd), :func:`decode_visibility_request` (23),
:func:`decode_spectrogram_request` (24) and :func:`decode_aspect_burst` (42).

"Auto" variants: the IDB (2.26.32 .. 2.26.35) defines 21/6/10-14 ("X-ray L0..L3 auto",
"Spectrogram auto") with the layouts of 20-24 minus the request header (no ``NIX00001``,
``NIX00002``, ``NIX00037``) and with the substructure repeater ``NIX00399`` instead of
``NIX00403`` (10-13); SSID 14 declares ``NIX00270`` without a repeat group, so each sample holds
one count. STIXCore has no products for them; here they are decoded like their user twins
(:data:`AUTO_SSIDS`), with request id and sequence control 0, and named ``<user name>-auto``.

:func:`decode_xray_request` turns the decoded, decompressed packets of
one complete request (a :class:`~stix_lib.products.l0.packets.PacketBatch`) into the request's
CONTROL values and one DATA row per time bin:

* substructures (``NIX00403`` repeater) carry the bin start relative to the request time stamp
  (``NIX00404``, or ``NIX00441`` before IDB 2.26.35, engineering seconds), ``rcr`` (NIX00401),
  the integration time (NIX00405, engineering seconds), the detector mask (NIX00407, LSB =
  detector 0), the pixel masks (NIXD0407) and 16 triggers (rpd: NIX00408..423 raw; cpd/scpd:
  NIX00242..257 decompressed);
* a bin too large for one packet is split over several substructures with the same start; they
  are combined into one bin (counts added, the other fields from the first substructure);
* counts: rpd one entry per (pixel NIXD0158, detector NIXD0153, channel NIXD0154, count
  NIX00065); cpd/scpd energy groups (NIXD0016 low / NIXD0017 high, NIX00259 values NIX00260,
  detector-major over the detectors of the mask, then pixel set). cpd pixel sets are single-pixel
  masks (pixel = log2 of the mask), scpd pixel sets index the summed pixel sets.
  ``energy_bin_edge_mask`` marks ``low`` and ``high + 1`` of every group; by the spec's energy
  table rule (§4.3: consecutive set edges i < j make one channel [E_low[i], E_high[j - 1]]) the
  request has one channel per pair of consecutive set edges, and counts are ``(T, 32, 12, E)``
  (time, detector, pixel or pixel set, channel of the request), a group's counts in the channel
  that starts at its ``low`` (rpd: ``(T, 32, 12, 32)`` over the 32 native channels). A group that
  spans several channels (the bins' groups differ) is an error. ``num_energy_groups`` is the
  ``NIX00258`` of a bin's first substructure, as the packets carry it (and as STIXCore writes it);
* ``time`` = stamp + start + integration / 2 (OBT seconds), ``timedel`` = integration
  (centiseconds); for rpd the engineering start and integration are truncated to whole seconds
  as STIXCore does (spec §9, quirk 8), so the reference products are reproduced;
* ``DATAWARN`` when the trigger compression scheme differs between packets (cpd/scpd).

The L0/L1 files are written by :mod:`stix_lib.products.science`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from stix_lib.products.l0.common import bits_lsb_first, skm
from stix_lib.products.l0.packets import PacketBatch, ramp
from stix_lib.time.scet import SCETimeDelta, scet_to_float

#: Science X-ray SSIDs handled by :func:`decode_xray_request` (user requests).
XRAY_SSIDS = {20: "xray-rpd", 21: "xray-cpd", 22: "xray-scpd"}

#: Product name token of every science SSID with a user request (spec §4.8).
SCIENCE_NAMES = {**XRAY_SSIDS, 23: "xray-vis", 24: "xray-spec", 42: "aspect-burst"}

#: "Auto" SSIDs of the IDB and the user SSID whose layout (minus the request header) they share.
AUTO_SSIDS = {10: 20, 11: 21, 12: 22, 13: 23, 14: 24}

#: Every SSID with a science product (user and auto).
ALL_SCIENCE_SSIDS = frozenset(SCIENCE_NAMES) | frozenset(AUTO_SSIDS)

#: SSIDs whose L1 gets the BSD time/count offset fix (spec §4.3 step 2; the auto twins too).
OFFSET_FIX_SSIDS = frozenset({20, 21, 22, 23, 24, 10, 11, 12, 13, 14})


def user_ssid(ssid: int) -> int:
    """The user-request SSID of a science SSID (an auto SSID maps to its twin)."""
    return AUTO_SSIDS.get(int(ssid), int(ssid))


def science_name(ssid: int) -> str:
    """Product name token of a science SSID (``xray-cpd``, ``xray-cpd-auto`` ...)."""
    ssid = int(ssid)
    if ssid in AUTO_SSIDS:
        return f"{SCIENCE_NAMES[AUTO_SSIDS[ssid]]}-auto"
    return SCIENCE_NAMES[ssid]


#: COMMENT of STIXCore when trigger schemes differ within a request.
MULTIPLE_SCHEMES = "Multiple compression schemes detected, trigger values maybe incorrect"


@dataclass
class XrayRequest:
    """One science X-ray request decoded to time bins.

    Attributes
    ----------
    ssid
        20, 21 or 22.
    control
        Request values: ``tc_packet_id_ref``, ``tc_packet_seq_control``, ``request_id``,
        ``time_stamp`` (OBT seconds), ``num_substructures`` (per packet) and for cpd/scpd
        ``compression_scheme_counts_skm`` / ``compression_scheme_triggers_skm`` (first packet).
    time, timedel
        Bin centres (OBT seconds) and widths (centiseconds), sorted by time.
    rcr, pixel_masks, detector_masks, triggers, counts
        Per bin; ``pixel_masks`` is ``(T, 12)`` for rpd/cpd and ``(T, n_sets, 12)`` for scpd.
    num_pixel_sets, num_energy_groups
        Per bin, from the bin's first substructure (cpd/scpd; zeros for rpd).
    triggers_var, counts_var
        Compression variances (zeros for rpd).
    energy_bin_edge_mask
        33 edge flags of the channels used.
    datawarn
        Trigger compression schemes differ between packets.
    comments
        COMMENT lines for the primary header.
    """

    ssid: int
    control: dict[str, np.ndarray | int | float]
    time: npt.NDArray[np.float64]
    timedel: npt.NDArray[np.int64]
    rcr: npt.NDArray[np.int64]
    pixel_masks: npt.NDArray[np.uint8]
    detector_masks: npt.NDArray[np.uint8]
    triggers: npt.NDArray[np.int64]
    triggers_var: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]
    counts_var: npt.NDArray[np.float64]
    num_pixel_sets: npt.NDArray[np.int64]
    num_energy_groups: npt.NDArray[np.int64]
    energy_bin_edge_mask: npt.NDArray[np.uint8]
    datawarn: bool = False
    comments: list[str] = field(default_factory=list)

    #: Per-bin fields (sliced together by the L1 time/count offset fix).
    BIN_FIELDS: ClassVar[tuple[str, ...]] = (
        "rcr", "pixel_masks", "detector_masks", "triggers", "triggers_var", "counts", "counts_var",
        "num_pixel_sets", "num_energy_groups",
    )  # fmt: skip

    @property
    def name(self) -> str:
        """Product name token (``xray-cpd`` ...)."""
        return science_name(self.ssid)


def _time_stamp(batch: PacketBatch) -> npt.NDArray[np.float64]:
    """Request time stamp ``NIX00402`` of each packet (48 bit ``coarse << 16 | fine``) as OBT seconds."""
    raw = batch.scalar("NIX00402").astype(np.int64)
    return (raw >> 16).astype(np.float64) + (raw & 0xFFFF).astype(np.float64) / 65535.0


def _relative_starts(batch: PacketBatch) -> npt.NDArray[np.float64]:
    """Engineering start times relative to the stamp: ``NIX00404``, or ``NIX00441`` before IDB 2.26.35."""
    name = "NIX00404" if batch.has("NIX00404") else "NIX00441"
    return np.asarray(batch.engineering(name), dtype=np.float64)


def _request_control(batch: PacketBatch, stamp: npt.NDArray[np.float64]) -> dict[str, np.ndarray | int | float]:
    """Request header values of the first packet (0 for the auto SSIDs, which have no request header)."""
    return {
        "tc_packet_id_ref": int(batch.scalar("NIX00001", default=0)[0]),
        "tc_packet_seq_control": int(batch.scalar("NIX00002", default=0)[0]),
        "request_id": int(batch.scalar("NIX00037", default=0)[0]),
        "time_stamp": float(stamp[0]),
    }


def _trigger_scheme(batch: PacketBatch, parameter: str) -> tuple[npt.NDArray[np.uint8], bool]:
    """The per-packet scheme of the triggers and whether it changes within the request (``DATAWARN``)."""
    schemes = skm(batch, parameter)
    return schemes, bool(len(schemes) and np.any(schemes != schemes[0]))


def _group_edges(low: npt.ArrayLike, high: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """33 energy edge flags of energy groups ``low..high`` (``low`` and ``high + 1`` set)."""
    edges = np.zeros(33, dtype=np.uint8)
    edges[np.asarray(low, dtype=np.int64)] = 1
    edges[np.asarray(high, dtype=np.int64) + 1] = 1
    return edges


def _triggers16(batch: PacketBatch) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The 16 decompressed trigger accumulators ``NIX00242..257`` per substructure and their variance."""
    parts = [batch.decompressed[f"NIX00{242 + g}"] for g in range(16)]
    values = np.stack([p.values for p in parts], axis=1).astype(np.int64)
    return values, np.stack([p.variance for p in parts], axis=1)


def _group_channels(
    edges: npt.NDArray[np.uint8], low: npt.NDArray[np.int64], high: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Channel of the request (spec §4.3 energy table rule) of each energy group ``low..high``.

    Channel ``c`` spans the native channels between the ``c``-th and ``c + 1``-th set edge.

    Raises
    ------
    ValueError
        A group spans more than one channel (the time bins' energy groups differ).
    """
    below = np.cumsum(edges) - 1  # channel that native channel n belongs to
    channel = below[low]
    straddling = below[high] != channel
    if np.any(straddling):
        i = int(np.flatnonzero(straddling)[0])
        raise ValueError(
            f"energy group {int(low[i])}-{int(high[i])} spans several channels of the request's energy "
            "edges (the time bins' energy groups differ)"
        )
    return channel


def _first(values: np.ndarray, group: npt.NDArray[np.int64], size: int) -> np.ndarray:
    """The first value of each group (``group`` sorted or not; groups numbered 0..size-1)."""
    _, first = np.unique(group, return_index=True)
    out = np.zeros((size, *values.shape[1:]), dtype=values.dtype)
    out[group[first]] = values[first]
    return out


def decode_xray_request(batch: PacketBatch) -> XrayRequest:
    """Time bins of one complete rpd/cpd/scpd request (see the module docstring).

    Parameters
    ----------
    batch
        All packets of the request, decoded with one IDB version, in sequence order.

    Raises
    ------
    ValueError
        The batch is not an rpd/cpd/scpd request or its repeater counts are inconsistent.
    """
    ssid = int(batch.decoded.layout.key.ssid)
    kind = user_ssid(ssid)
    if kind not in XRAY_SSIDS:
        raise ValueError(f"SSID {ssid} is not a science X-ray request (20, 21, 22 or auto 10, 11, 12)")
    subs_per_packet = batch.counts("NIX00405")
    n_sub = int(subs_per_packet.sum())
    packet_of_sub = np.repeat(np.arange(len(batch)), subs_per_packet)
    stamp = _time_stamp(batch)
    delta = _relative_starts(batch)
    integration = np.asarray(batch.engineering("NIX00405"), dtype=np.float64)
    if kind == 20:  # STIXCore casts rpd start and integration to integer seconds (spec §9, quirk 8)
        delta, integration = np.trunc(delta), np.trunc(integration)
    if len(delta) != n_sub or len(integration) != n_sub:
        raise ValueError("substructure parameters differ in number")
    start = stamp[packet_of_sub] + delta
    start_key = np.rint(start * 1000.0).astype(np.int64)  # bins identified to the millisecond
    bin_keys, bin_of_sub = np.unique(start_key, return_inverse=True)
    bin_of_sub = bin_of_sub.ravel()
    n_bins = len(bin_keys)

    detector_bits = bits_lsb_first(batch.values("NIX00407"), 32)
    rcr = batch.values("NIX00401").astype(np.int64)
    num_sets = np.zeros(n_sub, dtype=np.int64)
    num_groups = np.zeros(n_sub, dtype=np.int64)
    control = _request_control(batch, stamp)
    control["num_substructures"] = subs_per_packet.astype(np.int64)
    datawarn = False
    if kind == 20:
        pixel_masks_sub = bits_lsb_first(batch.values("NIXD0407"), 12)
        triggers_sub = np.stack([batch.values(f"NIX00{408 + g}") for g in range(16)], axis=1).astype(np.int64)
        triggers_var_sub = np.zeros(triggers_sub.shape, dtype=np.float64)
        counts = np.zeros((n_bins, 32, 12, 32), dtype=np.int64)
        counts_var = np.zeros(counts.shape, dtype=np.float64)
        entries = batch.values("NIX00406").astype(np.int64)
        sub_of_entry = np.repeat(np.arange(n_sub), entries)
        channel = batch.values("NIXD0154").astype(np.int64)
        np.add.at(
            counts,
            (
                bin_of_sub[sub_of_entry],
                batch.values("NIXD0153").astype(np.int64),
                batch.values("NIXD0158").astype(np.int64),
                channel,
            ),
            batch.values("NIX00065").astype(np.int64),
        )
        used = np.unique(channel)
        edges = _group_edges(used, used)
    else:
        triggers_sub, triggers_var_sub = _triggers16(batch)
        trigger_skm, datawarn = _trigger_scheme(batch, "NIX00242")
        control["compression_scheme_counts_skm"] = skm(batch, "NIX00260")[0]
        control["compression_scheme_triggers_skm"] = trigger_skm[0]
        num_sets = batch.values("NIX00442").astype(np.int64)
        set_masks = batch.values("NIXD0407").astype(np.int64)
        set_start = np.cumsum(num_sets) - num_sets
        num_groups = batch.values("NIX00258").astype(np.int64)
        sub_of_group = np.repeat(np.arange(n_sub), num_groups)
        per_group = batch.values("NIX00259").astype(np.int64)
        group_of_value, position = ramp(per_group)
        sub_of_value = sub_of_group[group_of_value]
        sets_of_value = num_sets[sub_of_value]
        if np.any(per_group != detector_bits.sum(axis=1)[sub_of_group] * num_sets[sub_of_group]):
            raise ValueError("energy group sizes differ from detectors x pixel sets")
        # detectors of each substructure's mask in ascending order come first
        detector_order = np.argsort(1 - detector_bits, axis=1, kind="stable")
        detector = detector_order[sub_of_value, position // sets_of_value]
        set_index = position % sets_of_value
        low = batch.values("NIXD0016").astype(np.int64)
        high = batch.values("NIXD0017").astype(np.int64)
        if kind == 21:
            single = set_masks[set_start[sub_of_value] + set_index]
            pixel = np.log2(np.maximum(single, 1)).astype(np.int64)
            pixel_masks_sub = np.zeros((n_sub, 12), dtype=np.uint8)
            set_pixel = np.log2(np.maximum(set_masks, 1)).astype(np.int64)
            pixel_masks_sub[np.repeat(np.arange(n_sub), num_sets), set_pixel] = 1
        else:
            pixel = set_index
            width = int(num_sets.max()) if n_sub else 0
            pixel_masks_sub = np.zeros((n_sub, width, 12), dtype=np.uint8)
            sub_of_set, set_pos = ramp(num_sets)
            pixel_masks_sub[sub_of_set, set_pos] = bits_lsb_first(set_masks, 12)
        edges = _group_edges(low, high)
        channel = _group_channels(edges, low, high)
        n_channels = max(int(edges.sum()) - 1, 0)
        counts = np.zeros((n_bins, 32, 12, n_channels), dtype=np.int64)
        counts_var = np.zeros(counts.shape, dtype=np.float64)
        where = (bin_of_sub[sub_of_value], detector, pixel, channel[group_of_value])
        np.add.at(counts, where, batch.decompressed["NIX00260"].values.astype(np.int64))
        np.add.at(counts_var, where, batch.decompressed["NIX00260"].variance)

    timedel = np.rint(_first(integration, bin_of_sub, n_bins) * 100.0).astype(np.int64)
    return XrayRequest(
        ssid=ssid,
        control=control,
        time=_first(start, bin_of_sub, n_bins) + timedel / 200.0,
        timedel=timedel,
        rcr=_first(rcr, bin_of_sub, n_bins),
        pixel_masks=_first(pixel_masks_sub, bin_of_sub, n_bins),
        detector_masks=_first(detector_bits, bin_of_sub, n_bins),
        triggers=_first(np.asarray(triggers_sub, dtype=np.int64), bin_of_sub, n_bins),
        triggers_var=_first(np.asarray(triggers_var_sub, dtype=np.float64), bin_of_sub, n_bins),
        counts=counts,
        counts_var=counts_var,
        num_pixel_sets=_first(num_sets, bin_of_sub, n_bins),
        num_energy_groups=_first(num_groups, bin_of_sub, n_bins),
        energy_bin_edge_mask=edges,
        datawarn=datawarn,
        comments=[MULTIPLE_SCHEMES] if datawarn else [],
    )


@dataclass
class SpectrogramRequest:
    """One spectrogram request (21/6/24) decoded to time bins (processing spec §4.5.4).

    Attributes
    ----------
    control
        ``tc_packet_id_ref``, ``tc_packet_seq_control``, ``request_id``, ``time_stamp`` (OBT s),
        ``compression_scheme_counts_skm``, ``compression_scheme_triggers_skm`` (first packet),
        ``detector_masks`` (32 flags of the first substructure).
    time, timedel
        Bin centres (OBT seconds) and widths (centiseconds).
    rcr, pixel_masks, triggers, triggers_var, counts, counts_var
        Per bin; counts are ``(T, E)`` over the energy bins of the request.
    energy_bin_edge_mask
        33 edge flags (``range(e_min, e_max + 2, step + 1)``).
    datawarn, comments
        Trigger compression schemes differ between packets.
    """

    control: dict[str, np.ndarray | int | float]
    time: npt.NDArray[np.float64]
    timedel: npt.NDArray[np.int64]
    rcr: npt.NDArray[np.int64]
    pixel_masks: npt.NDArray[np.uint8]
    triggers: npt.NDArray[np.int64]
    triggers_var: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]
    counts_var: npt.NDArray[np.float64]
    energy_bin_edge_mask: npt.NDArray[np.uint8]
    datawarn: bool = False
    comments: list[str] = field(default_factory=list)

    ssid: int = 24
    name: str = "xray-spec"

    #: Per-bin fields (sliced together by the L1 time/count offset fix).
    BIN_FIELDS: ClassVar[tuple[str, ...]] = (
        "rcr", "pixel_masks", "triggers", "triggers_var", "counts", "counts_var",
    )  # fmt: skip


def decode_spectrogram_request(batch: PacketBatch) -> SpectrogramRequest:
    """Time bins of one complete spectrogram request.

    Each substructure holds ``NIX00089`` samples (start ``NIX00404``/``NIX00441`` relative to the
    request time stamp, trigger NIX00267, ``NIX00270`` counts NIX00268) and closes with the width
    of its last sample (``NIX00269``): its time edges are the sample starts followed by the last
    start + the closing width; ``timedel`` are their differences.

    Raises
    ------
    ValueError
        The batch is not a spectrogram or sample sizes differ.
    """
    ssid = int(batch.decoded.layout.key.ssid)
    if user_ssid(ssid) != 24:
        raise ValueError("not a spectrogram request (SSID 24 or auto 14)")
    subs_per_packet = batch.counts("NIX00089")
    n_sub = int(subs_per_packet.sum())
    packet_of_sub = np.repeat(np.arange(len(batch)), subs_per_packet)
    stamp = _time_stamp(batch)
    samples = batch.values("NIX00089").astype(np.int64)
    sub_of_sample, position = ramp(samples)
    delta = _relative_starts(batch)
    closing = np.asarray(batch.engineering("NIX00269"), dtype=np.float64)
    if len(delta) != len(sub_of_sample) or len(closing) != n_sub:
        raise ValueError("spectrogram sample parameters differ in number")
    last = position == samples[sub_of_sample] - 1
    following = np.empty_like(delta)
    following[:-1] = delta[1:]
    following[last] = delta[last] + closing[sub_of_sample[last]]
    start = stamp[packet_of_sub][sub_of_sample] + delta
    timedel = np.rint((following - delta) * 100.0).astype(np.int64)
    n_values = len(batch.decompressed["NIX00268"].values)
    n_energy = n_values // len(delta) if len(delta) else 0
    per_sample = batch.values("NIX00270").astype(np.int64)
    if n_energy * len(delta) != n_values or (ssid == 24 and np.any(per_sample != n_energy)):
        raise ValueError("spectrogram samples differ in number of energy bins")
    counts = batch.decompressed["NIX00268"].values.astype(np.int64).reshape(-1, n_energy)
    counts_var = batch.decompressed["NIX00268"].variance.reshape(-1, n_energy)
    e_min, e_max = batch.values("NIXD0442").astype(np.int64), batch.values("NIXD0443").astype(np.int64)
    step = batch.values("NIXD0019").astype(np.int64) + 1
    edges = np.zeros(33, dtype=np.uint8)
    for low, high, width in set(zip(e_min.tolist(), e_max.tolist(), step.tolist(), strict=True)):
        edges[np.arange(low, high + 2, width)] = 1
    trigger_skm, datawarn = _trigger_scheme(batch, "NIX00267")
    order = np.argsort(start, kind="stable")
    control = {
        **_request_control(batch, stamp),
        "num_substructures": subs_per_packet.astype(np.int64),
        "compression_scheme_counts_skm": skm(batch, "NIX00268")[0],
        "compression_scheme_triggers_skm": trigger_skm[0],
        "detector_masks": bits_lsb_first(batch.values("NIX00407")[:1], 32)[0],
    }
    return SpectrogramRequest(
        control=control,
        time=(start + timedel / 200.0)[order],
        timedel=timedel[order],
        rcr=batch.values("NIX00401").astype(np.int64)[sub_of_sample][order],
        pixel_masks=bits_lsb_first(batch.values("NIXD0407"), 12)[sub_of_sample][order],
        triggers=batch.decompressed["NIX00267"].values.astype(np.int64)[order],
        triggers_var=batch.decompressed["NIX00267"].variance[order],
        counts=counts[order],
        counts_var=counts_var[order],
        energy_bin_edge_mask=edges,
        datawarn=datawarn,
        comments=[MULTIPLE_SCHEMES] if datawarn else [],
        ssid=ssid,
        name=science_name(ssid),
    )


@dataclass
class AspectBurst:
    """One aspect burst request (21/6/42) decoded to samples (processing spec §4.5.4).

    Attributes
    ----------
    control
        Per packet: ``scet_coarse``, ``scet_fine``, ``summing_value`` (NIX00088), ``samples``
        (NIX00089), ``averaging_value`` (NIX00490, 1 when absent), ``request_id`` (NIX00037, 0
        when absent), ``index``.
    time
        Sample times (OBT seconds): packet time + ``i * dt``, ``dt`` = summing * averaging / 1000 s,
        each offset rounded to SCET ticks; as in STIXCore, the time is the centre of the sample's
        ``dt`` interval (:func:`decode_aspect_burst`).
    timedel
        ``dt`` per sample (seconds), rounded to SCET ticks.
    control_index
        Packet of each sample.
    cha_diode0, cha_diode1, chb_diode0, chb_diode1
        Diode readings (NIX00090-00093, uint16).
    """

    control: dict[str, np.ndarray]
    time: npt.NDArray[np.float64]
    timedel: npt.NDArray[np.float64]
    control_index: npt.NDArray[np.int64]
    cha_diode0: npt.NDArray[np.uint16]
    cha_diode1: npt.NDArray[np.uint16]
    chb_diode0: npt.NDArray[np.uint16]
    chb_diode1: npt.NDArray[np.uint16]

    ssid: int = 42
    name: str = "aspect-burst"

    @property
    def request_id(self) -> int:
        """Request id of the burst (first packet)."""
        return int(self.control["request_id"][0]) if len(self.control["request_id"]) else 0


def decode_aspect_burst(batch: PacketBatch) -> AspectBurst | None:
    """Samples of one aspect burst request; ``None`` when the packets hold no sample.

    Time axis (issue 15 item 4, decided to follow STIXCore): the packet definition (IDB: "SCET
    coarse/fine time", "Summing value Asp FPGA", "Averaging value Asp TC", "Number of samples")
    does not say where in its interval a sample lies, so STIXCore's convention is kept: sample
    ``i`` of a packet is at ``SCET(NIX00445, NIX00446) + i * dt`` with ``dt`` and each offset
    rounded to SCET ticks (``SCETimeDelta.from_float``), and that time is the centre of a
    ``dt``-wide sample. The file's range therefore starts half a sample earlier (``OBT_BEG`` =
    first time - dt / 2, :func:`stix_lib.products.science.naming.obt_range`) and the first ``time``
    of the DATA table is dt / 2, as in STIXCore's files.

    Raises
    ------
    ValueError
        The batch is not an aspect burst or the sample counts do not match ``NIX00089``.
    """
    if int(batch.decoded.layout.key.ssid) != 42:
        raise ValueError("not an aspect burst (SSID 42)")
    samples = batch.scalar("NIX00089").astype(np.int64)
    diodes = {
        name: batch.values(f"NIX0009{i}")
        for i, name in enumerate(("cha_diode0", "cha_diode1", "chb_diode0", "chb_diode1"))
    }
    if any(len(values) != int(samples.sum()) for values in diodes.values()):
        raise ValueError("aspect samples differ from NIX00089")
    if not int(samples.sum()):
        return None
    summing = batch.scalar("NIX00088").astype(np.int64)
    averaging = batch.scalar("NIX00490", default=1).astype(np.int64)
    coarse = batch.scalar("NIX00445").astype(np.int64)
    fine = batch.scalar("NIX00446").astype(np.int64)
    dt = summing * averaging / 1000.0
    packet, position = ramp(samples)
    offset = SCETimeDelta.from_float(position * dt[packet]).btime
    ticks = (coarse[packet] << 16) + fine[packet] + offset
    control = {
        "scet_coarse": coarse,
        "scet_fine": fine,
        "summing_value": summing,
        "samples": samples,
        "averaging_value": averaging,
        "request_id": batch.scalar("NIX00037", default=0).astype(np.int64),
        "index": np.arange(len(batch), dtype=np.int64),
    }
    return AspectBurst(
        control=control,
        time=scet_to_float(ticks >> 16, ticks & 0xFFFF),
        timedel=SCETimeDelta.from_float(dt[packet]).as_float(),
        control_index=packet,
        **{name: values.astype(np.uint16) for name, values in diodes.items()},
    )


@dataclass
class VisibilityRequest:
    """One visibility request (21/6/23) decoded to time bins (processing spec §4.5.4).

    Arrays are ``(T, E, D)`` (time, energy group, detector entry) for ``detector_id``, ``real``
    and ``imaginary`` and ``(T, E)`` for ``flux``; STIXCore's reshape ``(T, n_det, -1)`` of the
    flat (group-major) values mixes groups and detectors when a bin has several energy groups,
    which is not repeated here.

    Attributes
    ----------
    control
        ``tc_packet_id_ref``, ``tc_packet_seq_control``, ``request_id``, ``time_stamp``,
        ``compression_scheme_counts_skm`` (NIX00263), ``compression_scheme_triggers_skm``.
    time, timedel
        Bin centres (OBT s) and widths (cs).
    rcr, pixel_masks, detector_masks, triggers, triggers_var
        Per bin; ``pixel_masks`` ``(T, 5, 12)`` (NIXD0407, NIXD0444..0447).
    flux, flux_var, detector_id, real, real_var, imaginary, imaginary_var
        Per bin and energy group (and detector entry).
    energy_bin_edge_mask
        Union of ``low`` and ``high + 1`` of the energy groups.
    """

    control: dict[str, np.ndarray | int | float]
    time: npt.NDArray[np.float64]
    timedel: npt.NDArray[np.int64]
    rcr: npt.NDArray[np.int64]
    pixel_masks: npt.NDArray[np.uint8]
    detector_masks: npt.NDArray[np.uint8]
    triggers: npt.NDArray[np.int64]
    triggers_var: npt.NDArray[np.float64]
    flux: npt.NDArray[np.int64]
    flux_var: npt.NDArray[np.float64]
    detector_id: npt.NDArray[np.int64]
    real: npt.NDArray[np.int64]
    real_var: npt.NDArray[np.float64]
    imaginary: npt.NDArray[np.int64]
    imaginary_var: npt.NDArray[np.float64]
    energy_bin_edge_mask: npt.NDArray[np.uint8]
    datawarn: bool = False
    comments: list[str] = field(default_factory=list)

    ssid: int = 23
    name: str = "xray-vis"

    #: Per-bin fields (sliced together by the L1 time/count offset fix).
    BIN_FIELDS: ClassVar[tuple[str, ...]] = (
        "rcr", "pixel_masks", "detector_masks", "triggers", "triggers_var", "flux", "flux_var", "detector_id",
        "real", "real_var", "imaginary", "imaginary_var",
    )  # fmt: skip


def decode_visibility_request(batch: PacketBatch) -> VisibilityRequest:
    """Time bins of one complete visibility request (one substructure per bin).

    Raises
    ------
    ValueError
        Not a visibility request, or energy groups / detector entries differ between bins.
    """
    ssid = int(batch.decoded.layout.key.ssid)
    if user_ssid(ssid) != 23:
        raise ValueError("not a visibility request (SSID 23 or auto 13)")
    subs_per_packet = batch.counts("NIX00405")
    packet_of_sub = np.repeat(np.arange(len(batch)), subs_per_packet)
    stamp = _time_stamp(batch)
    start = stamp[packet_of_sub] + _relative_starts(batch)
    timedel = np.rint(np.asarray(batch.engineering("NIX00405"), dtype=np.float64) * 100.0).astype(np.int64)
    groups = batch.values("NIX00258").astype(np.int64)
    entries = batch.values("NIX00262").astype(np.int64)
    if len(groups) == 0 or np.any(groups != groups[0]) or np.any(entries != entries[0]):
        raise ValueError("visibility bins differ in energy groups or detector entries")
    n_sub, n_groups, n_det = len(groups), int(groups[0]), int(entries[0])
    cube = (n_sub, n_groups, n_det)
    order = np.argsort(start, kind="stable")
    masks = np.stack(
        [
            bits_lsb_first(batch.values(name), 12)
            for name in ("NIXD0407", "NIXD0444", "NIXD0445", "NIXD0446", "NIXD0447")
        ],
        axis=1,
    )
    trigger_skm, datawarn = _trigger_scheme(batch, "NIX00242")
    edges = _group_edges(batch.values("NIXD0016"), batch.values("NIXD0017"))

    def per_group(name: str) -> tuple[np.ndarray, np.ndarray]:
        part = batch.decompressed[name]
        return part.values.astype(np.int64).reshape(n_sub, n_groups)[order], part.variance.reshape(n_sub, n_groups)[
            order
        ]

    def per_entry(name: str) -> tuple[np.ndarray, np.ndarray]:
        part = batch.decompressed[name]
        return part.values.astype(np.int64).reshape(cube)[order], part.variance.reshape(cube)[order]

    flux, flux_var = per_group("NIX00261")
    real, real_var = per_entry("NIX00263")
    imaginary, imaginary_var = per_entry("NIX00264")
    triggers, triggers_var = _triggers16(batch)
    control = {
        **_request_control(batch, stamp),
        "num_substructures": subs_per_packet.astype(np.int64),
        "compression_scheme_counts_skm": skm(batch, "NIX00263")[0],
        "compression_scheme_triggers_skm": trigger_skm[0],
    }
    return VisibilityRequest(
        control=control,
        time=(start + timedel / 200.0)[order],
        timedel=timedel[order],
        rcr=batch.values("NIX00401").astype(np.int64)[order],
        pixel_masks=masks[order],
        detector_masks=bits_lsb_first(batch.values("NIX00407"), 32)[order],
        triggers=triggers[order],
        triggers_var=triggers_var[order],
        flux=flux,
        flux_var=flux_var,
        detector_id=batch.values("NIX00100").astype(np.int64).reshape(cube)[order],
        real=real,
        real_var=real_var,
        imaginary=imaginary,
        imaginary_var=imaginary_var,
        energy_bin_edge_mask=edges,
        datawarn=datawarn,
        comments=[MULTIPLE_SCHEMES] if datawarn else [],
        ssid=ssid,
        name=science_name(ssid),
    )


ScienceRequest = XrayRequest | SpectrogramRequest | VisibilityRequest | AspectBurst


def decode_science_request(batch: PacketBatch) -> ScienceRequest | None:
    """The request of a batch of any science SSID (:data:`ALL_SCIENCE_SSIDS`).

    Returns
    -------
    XrayRequest, SpectrogramRequest, VisibilityRequest, AspectBurst or None
        ``None`` for an aspect burst without samples.

    Raises
    ------
    ValueError
        Not a science SSID, or the packets are inconsistent (see the decoders).
    """
    kind = user_ssid(int(batch.decoded.layout.key.ssid))
    if kind in XRAY_SSIDS:
        return decode_xray_request(batch)
    if kind == 23:
        return decode_visibility_request(batch)
    if kind == 24:
        return decode_spectrogram_request(batch)
    if kind == 42:
        return decode_aspect_burst(batch)
    raise ValueError(f"SSID {batch.decoded.layout.key.ssid} is not a science request")
