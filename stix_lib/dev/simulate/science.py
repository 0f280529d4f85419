"""Bulk science data (BSD) requests: 21/6/20-24 X-ray data and 21/6/42 aspect bursts.

A request covers a time window of the flare and is answered by one CCSDS group of packets
(FIRST/MIDDLE/LAST) on APID 1468, generated after the flare (header times one hour after the
flare ends, one request after the other). Every packet of a request repeats the request header:
SSID, TC packet id ``NIX00001`` (0x1DAC, a STIX telecommand), TC packet sequence control
``NIX00002`` (``0xC000 | tc_count``; unique per request), the unique request id ``NIX00037``
(``yymmdd * 10000 + n``), the compression schemes and the request start time ``NIX00402`` (48-bit
``coarse << 16 | fine``). The substructures (``NIX00403``) are time bins; a time bin that does
not fit into one packet is split into several substructures with the same time (by count entries
for raw pixel data, by energy groups otherwise).

Counts: per time bin the model's observed counts per science channel, shared among detectors
(the background and coarse-flare-locator detectors 9 and 10 see 2 %) and pixels (big pixels 90 %,
small 10 %), with Poisson noise. Relative times are in 0.1 s (``NIX00404``, 24 bits from IDB
2.26.35; ``NIX00441`` in older IDBs), integrations in 0.1 s (``NIX00405``). Compression schemes
are the smallest of (0,3,5), (0,4,4), (0,5,3) that hold the request's largest value (the 2020
pixel-data requests used (0,3,5)); visibilities use the signed (1,3,4), whose flux scheme the
decoder derives as (0,4,4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stix_lib.decode.compression import max_value
from stix_lib.decode.layout import PacketKey, PacketLayout
from stix_lib.dev.simulate.compressing import compress_packet_values, scheme_for
from stix_lib.dev.simulate.context import SimulationContext
from stix_lib.dev.simulate.layout_tools import find_node, has_parameter, measure_bits
from stix_lib.dev.simulate.packets import (
    PacketSpec,
    Values,
    as_group,
    merge_values,
    pack_items,
    repeater_capacity_bits,
    rpd_count_elements,
    samples_per_packet,
    split_elements,
)
from stix_lib.dev.simulate.physics import BASE_CADENCE
from stix_lib.time.nominal_clock import scet_to_utc

TC_PACKET_ID = 0x1DAC
SCHEMES = ((0, 3, 5), (0, 4, 4), (0, 5, 3))
VIS_SCHEME = (1, 3, 4)
#: Trigger accumulator groups: pairs of detectors (0-based) read by one trigger counter.
TRIGGER_GROUPS = (
    (0, 1), (5, 6), (4, 10), (11, 12), (13, 14), (9, 15), (7, 8), (2, 3),
    (30, 31), (25, 26), (21, 27), (19, 20), (17, 18), (16, 22), (23, 24), (28, 29),
)  # fmt: skip
#: Energy groups (first, last science channel) of compressed/summed pixel data.
PIXEL_DATA_GROUPS = (
    (1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (7, 8), (9, 11), (12, 14), (15, 17), (18, 21), (22, 25), (26, 30),
)  # fmt: skip
SUMMED_PIXEL_SETS = (0x00F, 0x0F0, 0xF00, 0x0FF)
VISIBILITY_GROUPS = ((1, 6), (7, 16))
VISIBILITY_DETECTORS = tuple(d for d in range(32) if d not in (8, 9))
ALL_DETECTORS = (1 << 32) - 1
ALL_PIXELS = (1 << 12) - 1


def detector_weights() -> np.ndarray:
    """Share of the counts per detector (sums to 1)."""
    weights = np.ones(32)
    weights[[8, 9]] = 0.02
    return weights / weights.sum()


def pixel_weights() -> np.ndarray:
    """Share of a detector's counts per pixel (big pixels 0-7, small 8-11)."""
    return np.concatenate([np.full(8, 0.9 / 8), np.full(4, 0.1 / 4)])


@dataclass(frozen=True)
class RequestInfo:
    """What the manifest records of a science request."""

    product: str
    ssid: int
    rid: int
    psc: int
    start: float
    end: float
    packets: int

    def as_dict(self, ctx: SimulationContext) -> dict[str, object]:
        """JSON-friendly record with UTC start/end."""
        utc = [str(scet_to_utc(*ctx.scet(t)))[:23] for t in (self.start, self.end)]
        return {
            "product": self.product,
            "ssid": self.ssid,
            "request_id": self.rid,
            "tc_sequence_control": self.psc,
            "start_utc": utc[0],
            "end_utc": utc[1],
            "packets": self.packets,
        }


@dataclass
class RequestPlan:
    """Counters for the requests of one run (ids, TC sequence counts, execution times)."""

    ctx: SimulationContext
    execute_at: float
    next_id: int
    tc_count: int

    def new(self) -> tuple[int, int, float]:
        """``(rid, psc, header start time)`` of the next request."""
        rid, psc = self.next_id, 0xC000 | (self.tc_count & 0x3FFF)
        at = self.execute_at
        self.next_id += 1
        self.tc_count += 1
        self.execute_at = at + 120.0
        return rid, psc, at


def _common(ssid: int, rid: int, psc: int, time_stamp: tuple[int, int], schemes: Values) -> Values:
    coarse, fine = time_stamp
    return {
        "NIX00120": [ssid],
        "NIX00001": [TC_PACKET_ID],
        "NIX00002": [psc],
        "NIX00037": [rid],
        **schemes,
        "NIX00402": [(coarse << 16) | fine],
    }


def _time_fields(layout: PacketLayout, relative: float) -> Values:
    raw = int(round(relative * 10))
    if has_parameter(layout, "NIX00404"):
        return {"NIX00404": [raw]}
    return {"NIX00441": [raw]}


def _bin_counts(ctx: SimulationContext, rng: np.random.Generator, start: float, width: float) -> np.ndarray:
    """Poisson counts ``(32 detectors, 12 pixels, 32 channels)`` of one time bin."""
    expected = ctx.model.expected_between(start, start + width)
    shares = detector_weights()[:, None, None] * pixel_weights()[None, :, None]
    return rng.poisson(shares * expected[None, None, :]).astype(np.int64)


def _triggers(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    per_detector = counts.sum(axis=(1, 2))
    return np.array([rng.poisson(1.45 * per_detector[list(g)].sum()) for g in TRIGGER_GROUPS], dtype=np.int64)


def _rcr(ctx: SimulationContext, t: float) -> int:
    index = int(np.clip(t // BASE_CADENCE, 0, len(ctx.model.rcr) - 1))
    return int(ctx.model.rcr[index])


def _emit(
    ctx: SimulationContext,
    key: PacketKey,
    packets: Sequence[Values],
    at: float,
    product: str,
    request: tuple[int, int] | None,
) -> list[PacketSpec]:
    specs = []
    for i, values in enumerate(packets):
        coarse, fine = ctx.scet(at + 0.05 * i)
        specs.append(PacketSpec(key, values, coarse, fine, product=product, order=(key.ssid or 0, i), request=request))
    return as_group(specs)


def raw_pixel_data(ctx: SimulationContext, plan: RequestPlan, start: float, bins: int, width: float) -> tuple:
    """X-ray raw pixel data (21/6/20): one count entry per non-empty (detector, pixel, channel)."""
    key = PacketKey(21, 6, 20)
    rng = ctx.rng(f"sci-xray-rpd-{start}")
    rid, psc, at = plan.new()
    layout = ctx.layout(key, at)
    header = _common(20, rid, psc, ctx.scet(start), {"NIXD0007": [0], "NIXD0008": [0], "NIXD0009": [0]})
    node = find_node(layout, "NIX00403")
    capacity = repeater_capacity_bits(layout, header, "NIX00403")
    items = []
    for b in range(bins):
        t0 = start + b * width
        counts = np.minimum(_bin_counts(ctx, rng, t0, width), 65535)
        triggers = _triggers(rng, counts)
        fixed: Values = {
            **_time_fields(layout, b * width),
            "NIX00401": [_rcr(ctx, t0)],
            "NIX00405": [int(round(width * 10))],
            "NIXD0407": [ALL_PIXELS],
            "NIX00407": [ALL_DETECTORS],
            **{f"NIX00{408 + g}": [int(triggers[g])] for g in range(16)},
        }
        entries = rpd_count_elements(counts)
        fixed_bits = measure_bits(node.children, {**fixed, "NIX00406": [0]})
        for chunk in split_elements(fixed_bits, entries, capacity):
            items.append(merge_values(fixed, {"NIX00406": [len(chunk)]}, *chunk))
    packets = pack_items(layout, header, "NIX00403", items)
    specs = _emit(ctx, key, packets, at, "sci-xray-rpd", (psc, rid))
    return specs, RequestInfo("sci-xray-rpd", 20, rid, psc, start, start + bins * width, len(specs))


def pixel_data(
    ctx: SimulationContext,
    plan: RequestPlan,
    ssid: int,
    start: float,
    bins: int,
    width: float,
    pixel_sets: Sequence[int],
    groups: Sequence[tuple[int, int]] = PIXEL_DATA_GROUPS,
) -> tuple:
    """Compressed (21) or summed (22) pixel data: counts per energy group, detector, pixel set.

    ``groups`` are the energy groups (first, last science channel, inclusive) of every time bin,
    i.e. the request's energy edge mask.
    """
    key = PacketKey(21, 6, ssid)
    product = "sci-xray-cpd" if ssid == 21 else "sci-xray-scpd"
    rng = ctx.rng(f"{product}-{start}")
    rid, psc, at = plan.new()
    layout = ctx.layout(key, at)
    version = ctx.idb_version(at)
    masks = np.array([[(m >> p) & 1 for p in range(12)] for m in pixel_sets], dtype=np.int64)  # (sets, 12)
    bins_counts, bins_triggers = [], []
    for b in range(bins):
        counts = _bin_counts(ctx, rng, start + b * width, width)  # (32, 12, 32)
        grouped = np.stack([counts[:, :, lo : hi + 1].sum(axis=2) for lo, hi in groups], axis=0)
        bins_counts.append(np.einsum("edp,sp->eds", grouped, masks))  # (groups, 32 det, sets)
        bins_triggers.append(_triggers(rng, counts))
    largest = max(int(np.max(bins_counts)), int(np.max(bins_triggers)))
    scheme = scheme_for(largest, SCHEMES)
    schemes = {"EACC": scheme, "ETRIG": scheme}
    header = _common(ssid, rid, psc, ctx.scet(start), {})
    header.update(compress_packet_values(ssid, version, {}, schemes))
    node = find_node(layout, "NIX00403")
    capacity = repeater_capacity_bits(layout, header, "NIX00403")
    items = []
    for b in range(bins):
        t0 = start + b * width
        trig = compress_packet_values(
            ssid, version, {f"NIX00{242 + g}": [int(v)] for g, v in enumerate(bins_triggers[b])}, schemes
        )
        fixed: Values = {
            **_time_fields(layout, b * width),
            "NIX00401": [_rcr(ctx, t0)],
            "NIX00442": [len(pixel_sets)],
            "NIXD0407": [int(m) for m in pixel_sets],
            "NIX00407": [ALL_DETECTORS],
            "NIX00405": [int(round(width * 10))],
            **{k: v for k, v in trig.items() if k.startswith("NIX00")},
        }
        elements = []
        for g, (lo, hi) in enumerate(groups):
            block = bins_counts[b][g].ravel()  # detector-major, then pixel set
            codes = compress_packet_values(ssid, version, {"NIX00260": block}, schemes)["NIX00260"]
            elements.append(
                ({"NIXD0016": [lo], "NIXD0017": [hi], "NIX00259": [len(codes)], "NIX00260": codes}, 32 + 8 * len(codes))
            )
        fixed_bits = measure_bits(node.children, {**fixed, "NIX00258": [0]})
        for chunk in split_elements(fixed_bits, elements, capacity):
            items.append(merge_values(fixed, {"NIX00258": [len(chunk)]}, *chunk))
    packets = pack_items(layout, header, "NIX00403", items)
    specs = _emit(ctx, key, packets, at, product, (psc, rid))
    return specs, RequestInfo(product, ssid, rid, psc, start, start + bins * width, len(specs))


def _grid_geometry() -> tuple[np.ndarray, np.ndarray]:
    """Synthetic grid pitch (arcsec of angular resolution) and orientation (rad) per detector."""
    index = np.arange(32)
    pitch = 7.0 * (1.43 ** (index % 10))
    angle = np.deg2rad((index * 37.5) % 180.0)
    return pitch, angle


def visibilities(
    ctx: SimulationContext,
    plan: RequestPlan,
    start: float,
    bins: int,
    width: float,
    groups: Sequence[tuple[int, int]] = VISIBILITY_GROUPS,
) -> tuple:
    """Visibilities (21/6/23) of a point source at the flare location per energy group (first, last channel)."""
    key = PacketKey(21, 6, 23)
    rng = ctx.rng(f"sci-xray-vis-{start}")
    rid, psc, at = plan.new()
    layout = ctx.layout(key, at)
    version = ctx.idb_version(at)
    schemes = {"VIS": VIS_SCHEME, "ETRIG": VIS_SCHEME}
    header = _common(23, rid, psc, ctx.scet(start), {})
    header.update(compress_packet_values(23, version, {}, schemes))
    pitch, angle = _grid_geometry()
    flare = ctx.model.flare
    z, y = flare.location if flare else (0, 0)
    x_arcsec, y_arcsec = 60.0 * z, 60.0 * y
    vis_max = max_value(*VIS_SCHEME)
    flux_max = max_value(VIS_SCHEME[0] - 1, VIS_SCHEME[1] + 1, VIS_SCHEME[2])
    items = []
    for b in range(bins):
        t0 = start + b * width
        counts = _bin_counts(ctx, rng, t0, width)
        triggers = np.minimum(_triggers(rng, counts), vis_max)
        trig = compress_packet_values(
            23, version, {f"NIX00{242 + g}": [int(v)] for g, v in enumerate(triggers)}, schemes
        )
        values: Values = {
            **_time_fields(layout, b * width),
            "NIX00401": [_rcr(ctx, t0)],
            "NIX00405": [int(round(width * 10))],
            "NIXD0407": [0x00F],
            "NIXD0444": [0x0F0],
            "NIXD0445": [0xF00],
            "NIXD0446": [0x0FF],
            "NIXD0447": [ALL_PIXELS],
            "NIX00407": [ALL_DETECTORS],
            **{k: v for k, v in trig.items() if k.startswith("NIX00")},
            "NIX00258": [len(groups)],
        }
        for lo, hi in groups:
            per_det = counts[:, :, lo : hi + 1].sum(axis=(1, 2))
            flux = int(min(per_det.sum(), flux_max))
            dets = np.asarray(VISIBILITY_DETECTORS)
            phase = 2 * np.pi * (x_arcsec * np.cos(angle[dets]) + y_arcsec * np.sin(angle[dets])) / pitch[dets]
            amplitude = 0.3 * per_det[dets]
            real = np.clip(np.rint(amplitude * np.cos(phase) + rng.normal(0, 1, len(dets))), -vis_max, vis_max)
            imag = np.clip(np.rint(amplitude * np.sin(phase) + rng.normal(0, 1, len(dets))), -vis_max, vis_max)
            compressed = compress_packet_values(
                23,
                version,
                {"NIX00261": [flux], "NIX00263": real.astype(np.int64), "NIX00264": imag.astype(np.int64)},
                schemes,
            )
            group: Values = {
                "NIXD0016": [lo],
                "NIXD0017": [hi],
                "NIX00261": compressed["NIX00261"],
                "NIX00262": [len(dets)],
                "NIX00100": [int(d) for d in dets],
                "NIX00263": compressed["NIX00263"],
                "NIX00264": compressed["NIX00264"],
            }
            values = merge_values(values, group)
        items.append(values)
    packets = pack_items(layout, header, "NIX00403", items)
    specs = _emit(ctx, key, packets, at, "sci-xray-vis", (psc, rid))
    return specs, RequestInfo("sci-xray-vis", 23, rid, psc, start, start + bins * width, len(specs))


SPECTROGRAM_CHANNELS = (1, 30)  # first and last science channel (NIXD0442/NIXD0443, inclusive: 4-150 keV)


def spectrogram(
    ctx: SimulationContext,
    plan: RequestPlan,
    start: float,
    bins: int,
    width: float,
    channels: tuple[int, int] = SPECTROGRAM_CHANNELS,
    step: int = 1,
) -> tuple:
    """Spectrogram (21/6/24): all detectors and pixels summed, by default 30 channels (4-150 keV).

    ``channels`` are the first and last science channel (NIXD0442/NIXD0443, inclusive) and ``step``
    the number of channels summed into one energy bin (NIXD0019 = step - 1); the span must be a
    multiple of ``step``.
    """
    key = PacketKey(21, 6, 24)
    rng = ctx.rng(f"sci-xray-spec-{start}")
    rid, psc, at = plan.new()
    layout = ctx.layout(key, at)
    version = ctx.idb_version(at)
    lo, hi = channels
    if step < 1 or (hi - lo + 1) % step:
        raise ValueError(f"spectrogram channels {lo}-{hi} are not a multiple of {step} channels")
    samples = []
    for b in range(bins):
        t0 = start + b * width
        expected = ctx.model.expected_between(t0, t0 + width)
        counts = rng.poisson(expected[lo : hi + 1].reshape(-1, step).sum(axis=1)).astype(np.int64)
        trigger = int(rng.poisson(1.45 * expected[1:].sum()))
        samples.append((b, _rcr(ctx, t0), counts, trigger))
    largest = max(max(int(s[2].max()), s[3]) for s in samples)
    scheme = scheme_for(largest, SCHEMES)
    schemes = {"EACC": scheme, "ETRIG": scheme}
    header = _common(24, rid, psc, ctx.scet(start), {})
    header.update(compress_packet_values(24, version, {}, schemes))
    node = find_node(layout, "NIX00403")
    capacity = repeater_capacity_bits(layout, header, "NIX00403")
    items = []
    runs: list[list[tuple]] = []
    for sample in samples:
        if runs and runs[-1][-1][1] == sample[1]:
            runs[-1].append(sample)
        else:
            runs.append([sample])
    for run in runs:
        fixed: Values = {
            "NIXD0407": [ALL_PIXELS],
            "NIX00407": [ALL_DETECTORS],
            "NIX00401": [run[0][1]],
            "NIXD0442": [lo],
            "NIXD0443": [hi],
            "NIXD0019": [step - 1],
        }
        elements = []
        for b, _, counts, trigger in run:
            compressed = compress_packet_values(24, version, {"NIX00268": counts, "NIX00267": [trigger]}, schemes)
            element = {
                **_time_fields(layout, b * width),
                "NIX00267": compressed["NIX00267"],
                "NIX00270": [len(counts)],
                "NIX00268": compressed["NIX00268"],
            }
            elements.append((element, 0))
        sample_bits = measure_bits(find_node(layout, "NIX00089").children, elements[0][0])
        elements = [(values, sample_bits) for values, _ in elements]
        closing = {"NIX00269": [int(round(width * 10))]}
        fixed_bits = measure_bits(node.children, {**fixed, "NIX00089": [0], **closing})
        for chunk in split_elements(fixed_bits, elements, capacity):
            items.append(merge_values(fixed, {"NIX00089": [len(chunk)]}, *chunk, closing))
    packets = pack_items(layout, header, "NIX00403", items)
    specs = _emit(ctx, key, packets, at, "sci-xray-spec", (psc, rid))
    return specs, RequestInfo("sci-xray-spec", 24, rid, psc, start, start + bins * width, len(specs))


ASPECT_SUMMING = 4
ASPECT_AVERAGING = 16


def aspect_burst(ctx: SimulationContext, start: float, duration: float, at: float) -> tuple:
    """Bulk aspect data (21/6/42): the four photodiode channels sampled every summing*averaging ms."""
    key = PacketKey(21, 6, 42)
    rng = ctx.rng(f"sci-aspect-burst-{start}")
    layout = ctx.layout(key, at)
    step = ASPECT_SUMMING * ASPECT_AVERAGING / 1000.0
    n = int(duration / step)
    t = np.arange(n) * step
    jitter = 40.0 * np.sin(2 * np.pi * t / 7.3) + rng.normal(0, 6.0, (4, n))
    base = np.array([[21500.0], [21800.0], [20900.0], [21200.0]])
    diodes = np.clip(np.rint(base + jitter * np.array([[1], [-1], [1], [-1]])), 0, 65535).astype(np.int64)

    def build(first: int, count: int) -> Values:
        coarse, fine = ctx.scet(start + first * step)
        out: Values = {
            "NIX00120": [42],
            "NIX00445": [coarse],
            "NIX00446": [fine],
            "NIX00490": [ASPECT_AVERAGING],
            "NIX00088": [ASPECT_SUMMING],
            "NIX00089": [count],
        }
        for k, name in enumerate(("NIX00090", "NIX00091", "NIX00092", "NIX00093")):
            out[name] = diodes[k, first : first + count].tolist() if count else []
        return out

    per_packet = samples_per_packet(layout, lambda c: build(0, c))
    packets = [build(first, min(per_packet, n - first)) for first in range(0, n, per_packet)]
    specs = _emit(ctx, key, packets, at, "sci-aspect-burst", None)
    return specs, RequestInfo("sci-aspect-burst", 42, 0, 0, start, start + n * step, len(specs))
