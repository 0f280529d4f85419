"""Quick-look packets (21/6/30-34, 43): light curves, background, variance, spectra, flare flag, TM status.

Cadences and contents follow the real packets (moc_test ground-test packets and the 2020 flight
products): integration 4 s (raw 39; quick-look integration is ``(raw + 1) * 0.1 s``) for light
curve, variance and flare flag, 8 s (79) for the background monitor, 32 s (319) for the detector
spectra; five energy bands 4-10-15-25-50-150 keV (edge mask 0x8082_1082); counts and triggers
compressed with ``(s, k, m) = (0, 5, 3)``. Each packet is filled with as many samples as fit into
4112 bytes (580 light-curve samples, 678 background samples, 4073 variance samples, ...); its
start time (``NIX00445``/``NIX00446``) is the start of its first sample and its header time the
end of its last sample plus 2 s. Detector spectra: one spectrum of 32 channels per detector and
32 s, the 32 detectors one after the other in blocks starting every 1024 s (``NIX00485`` = the
block start in integrations), three blocks per packet. The TM management status / flare list
goes out every hour and lists the flares that ended before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from stix_lib.decode.layout import PacketKey
from stix_lib.dev.simulate.compressing import compress_packet_values
from stix_lib.dev.simulate.context import SimulationContext
from stix_lib.dev.simulate.packets import PacketSpec, Values, samples_per_packet
from stix_lib.dev.simulate.physics import BASE_CADENCE, sum_bands

#: Bit ``i`` set: science channel ``i`` is a band edge (33 edges; bit 32 goes to the extra flag).
QL_ENERGY_EDGE_MASK = sum(1 << e for e in (1, 7, 12, 17, 23, 31))
#: Default quick-look compression scheme (counts and triggers).
QL_SCHEME = (0, 5, 3)
ALL_DETECTORS = (1 << 32) - 1
ALL_PIXELS = (1 << 12) - 1
#: Detectors of the variance (the background and coarse-flare-locator detectors 9/10 excluded).
VARIANCE_DETECTORS = ALL_DETECTORS & ~(0b11 << 8)
#: Energy channels of the variance, MSB first (channels 1..14, 4-18 keV).
VARIANCE_ENERGY_MASK = sum(1 << (31 - c) for c in range(1, 15))
VARIANCE_SUBSAMPLES = 40
HEADER_DELAY = 2.0
TRIGGERS_PER_COUNT = 1.45


def integration_raw(seconds: float) -> int:
    """Raw quick-look integration time (``(raw + 1) * 0.1 s``)."""
    return int(round(seconds * 10)) - 1


def _spec(ctx: SimulationContext, key: PacketKey, values: Values, end: float, product: str) -> PacketSpec:
    coarse, fine = ctx.scet(min(end + HEADER_DELAY, ctx.duration))
    return PacketSpec(key, values, coarse, fine, product=product, order=(key.ssid or 0,))


def _chunks(
    ctx: SimulationContext,
    key: PacketKey,
    total: int,
    cadence: float,
    build: Callable[[float, int, slice], Values],
) -> list[tuple[float, int, slice]]:
    """Split ``total`` samples into packets: ``(start seconds, n, slice)`` per packet."""
    out = []
    first = 0
    while first < total:
        start = first * cadence
        layout = ctx.layout(key, start)

        def probe(n: int, start: float = start) -> Values:
            return build(start, n, slice(0, 0))

        capacity = samples_per_packet(layout, probe)
        n = min(capacity, total - first)
        out.append((start, n, slice(first, first + n)))
        first += n
    return out


def _timing(ctx: SimulationContext, start: float, integration: float) -> Values:
    coarse, fine = ctx.scet(start)
    return {"NIX00445": [coarse], "NIX00446": [fine], "NIX00405": [integration_raw(integration)]}


def _triggers(ctx: SimulationContext, component: str, expected_counts: np.ndarray) -> np.ndarray:
    return ctx.rng(component).poisson(TRIGGERS_PER_COUNT * expected_counts).astype(np.int64)


def lightcurve_packets(ctx: SimulationContext) -> list[PacketSpec]:
    """QL light curves (21/6/30): 5 bands, 4 s, triggers and RCR per sample."""
    key = PacketKey(21, 6, 30)
    model = ctx.model
    counts = sum_bands(model.counts)  # (n, 5)
    triggers = _triggers(ctx, "ql-lightcurve", model.expected[:, 1:].sum(axis=1))
    total = len(model.times)

    def build(start: float, n: int, rows: slice) -> Values:
        block = counts[rows] if n == len(counts[rows]) else np.zeros((n, 5), dtype=np.int64)
        trig = triggers[rows] if n == len(triggers[rows]) else np.zeros(n, dtype=np.int64)
        rcr = model.rcr[rows] if n == len(model.rcr[rows]) else np.zeros(n, dtype=np.int64)
        compressed = compress_packet_values(
            30,
            ctx.idb_version(start),
            {"NIX00272": block.T.ravel(), "NIX00274": trig},
            {"LC": QL_SCHEME, "TriggerSSID30": QL_SCHEME},
        )
        return {
            "NIX00120": [30],
            **_timing(ctx, start, BASE_CADENCE),
            "NIX00407": [ALL_DETECTORS],
            "NIXD0407": [ALL_PIXELS],
            "NIXD0107": [QL_ENERGY_EDGE_MASK >> 32],
            "NIX00266": [QL_ENERGY_EDGE_MASK & 0xFFFFFFFF],
            "NIX00270": [5],
            "NIX00271": [n] * 5,
            "NIX00273": [n],
            "NIX00275": [n],
            "NIX00276": rcr.tolist(),
            **compressed,
        }

    return [
        _spec(ctx, key, build(start, n, rows), start + n * BASE_CADENCE, "ql-lightcurve")
        for start, n, rows in _chunks(ctx, key, total, BASE_CADENCE, build)
    ]


#: Mean background-detector counts per 8 s in the five bands (quiet, calibration source).
BACKGROUND_DETECTOR_COUNTS_8S = (5.0, 53.0, 61.0, 123.0, 16.0)
#: Fraction of the flare counts the shielded background detector sees.
BACKGROUND_DETECTOR_FLARE_FRACTION = 2.0e-5


def background_packets(ctx: SimulationContext) -> list[PacketSpec]:
    """QL background monitor (21/6/31): 5 bands of the background detector, 8 s."""
    key = PacketKey(21, 6, 31)
    model = ctx.model
    pairs = len(model.times) // 2
    flare = sum_bands(model.incident_flare[: 2 * pairs]).reshape(pairs, 2, 5).sum(axis=1)
    expected = np.asarray(BACKGROUND_DETECTOR_COUNTS_8S)[None, :] + BACKGROUND_DETECTOR_FLARE_FRACTION * flare
    rng = ctx.rng("ql-background")
    counts = rng.poisson(expected).astype(np.int64)
    triggers = rng.poisson(2.0 * expected.sum(axis=1)).astype(np.int64)
    cadence = 2 * BASE_CADENCE

    def build(start: float, n: int, rows: slice) -> Values:
        block = counts[rows] if n == len(counts[rows]) else np.zeros((n, 5), dtype=np.int64)
        trig = triggers[rows] if n == len(triggers[rows]) else np.zeros(n, dtype=np.int64)
        compressed = compress_packet_values(
            31,
            ctx.idb_version(start),
            {"NIX00278": block.T.ravel(), "NIX00274": trig},
            {"BKG": QL_SCHEME, "TRIG": QL_SCHEME},
        )
        return {
            "NIX00120": [31],
            **_timing(ctx, start, cadence),
            "NIXD0111": [QL_ENERGY_EDGE_MASK >> 32],
            "NIX00266": [QL_ENERGY_EDGE_MASK & 0xFFFFFFFF],
            "NIX00270": [5],
            "NIX00277": [n] * 5,
            "NIX00273": [n],
            **compressed,
        }

    return [
        _spec(ctx, key, build(start, n, rows), start + n * cadence, "ql-background")
        for start, n, rows in _chunks(ctx, key, pairs, cadence, build)
    ]


def variance_packets(ctx: SimulationContext) -> list[PacketSpec]:
    """QL variance (21/6/33): spread of 40 sub-samples of each 4 s, 4-18 keV.

    The value is the sum of squared deviations of the 40 sub-sample counts from their mean
    (``40 * variance``; for Poisson counts close to the 4 s counts themselves).
    """
    key = PacketKey(21, 6, 33)
    model = ctx.model
    energy = model.expected[:, 1:15].sum(axis=1)
    sub = ctx.rng("ql-variance").poisson(energy[:, None] / VARIANCE_SUBSAMPLES, size=(len(energy), VARIANCE_SUBSAMPLES))
    variance = np.rint(sub.var(axis=1) * VARIANCE_SUBSAMPLES).astype(np.int64)
    total = len(variance)

    def build(start: float, n: int, rows: slice) -> Values:
        block = variance[rows] if n == len(variance[rows]) else np.zeros(n, dtype=np.int64)
        compressed = compress_packet_values(33, ctx.idb_version(start), {"NIX00281": block}, {"VAR": QL_SCHEME})
        return {
            "NIX00120": [33],
            **_timing(ctx, start, BASE_CADENCE),
            "NIX00279": [VARIANCE_SUBSAMPLES],
            "NIX00407": [VARIANCE_DETECTORS],
            "NIX00282": [VARIANCE_ENERGY_MASK],
            "NIXD0407": [ALL_PIXELS],
            "NIX00280": [n],
            **compressed,
        }

    return [
        _spec(ctx, key, build(start, n, rows), start + n * BASE_CADENCE, "ql-variance")
        for start, n, rows in _chunks(ctx, key, total, BASE_CADENCE, build)
    ]


def flareflag_packets(ctx: SimulationContext) -> list[PacketSpec]:
    """QL flare flag and location (21/6/34), 4 s."""
    key = PacketKey(21, 6, 34)
    model = ctx.model
    total = len(model.times)
    fields = {
        "NIXD0449": model.thermal_index > 0,
        "NIXD0059": model.location_status,
        "NIXD0060": np.minimum(model.nonthermal_index, 3),
        "NIXD0061": np.minimum(model.thermal_index, 7),
        "NIX00283": model.loc_z,
        "NIX00284": model.loc_y,
    }

    def build(start: float, n: int, rows: slice) -> Values:
        values: Values = {"NIX00120": [34], **_timing(ctx, start, BASE_CADENCE), "NIX00089": [n]}
        for name, column in fields.items():
            part = column[rows]
            values[name] = (part if len(part) == n else np.zeros(n, dtype=np.int64)).astype(np.int64).tolist()
        return values

    return [
        _spec(ctx, key, build(start, n, rows), start + n * BASE_CADENCE, "ql-flareflag")
        for start, n, rows in _chunks(ctx, key, total, BASE_CADENCE, build)
    ]


SPECTRA_INTEGRATION = 32.0
SPECTRA_BLOCK = 32 * SPECTRA_INTEGRATION
SPECTRA_BLOCKS_PER_PACKET = 3


def spectra_packets(ctx: SimulationContext) -> list[PacketSpec]:
    """QL detector spectra (21/6/32): per detector 32 channels over 32 s, round robin."""
    key = PacketKey(21, 6, 32)
    model = ctx.model
    rng = ctx.rng("ql-spectra")
    blocks = int(ctx.duration // SPECTRA_BLOCK)
    specs = []
    for first in range(0, blocks, SPECTRA_BLOCKS_PER_PACKET):
        count = min(SPECTRA_BLOCKS_PER_PACKET, blocks - first)
        start = first * SPECTRA_BLOCK
        spectra, triggers, detectors, offsets = [], [], [], []
        for j in range(count):
            for det in range(32):
                t0 = start + j * SPECTRA_BLOCK + det * SPECTRA_INTEGRATION
                expected = model.expected_between(t0, t0 + SPECTRA_INTEGRATION) / 32.0
                spectra.append(rng.poisson(expected))
                triggers.append(rng.poisson(TRIGGERS_PER_COUNT * expected[1:].sum()))
                detectors.append(det)
                offsets.append(32 * j)
        matrix = np.asarray(spectra, dtype=np.int64)  # (samples, 32 channels)
        counts = {f"NIX00{452 + c}": matrix[:, c] for c in range(32)}
        compressed = compress_packet_values(
            32,
            ctx.idb_version(start),
            {**counts, "NIX00484": np.asarray(triggers, dtype=np.int64)},
            {"SPEC": QL_SCHEME, "TRIG": QL_SCHEME},
        )
        values: Values = {
            "NIX00120": [32],
            **_timing(ctx, start, SPECTRA_INTEGRATION),
            "NIXD0407": [ALL_PIXELS],
            "NIX00089": [len(detectors)],
            "NIX00100": detectors,
            "NIX00485": offsets,
            **compressed,
        }
        end = start + (count - 1) * SPECTRA_BLOCK + 32 * SPECTRA_INTEGRATION
        specs.append(_spec(ctx, key, values, end, "ql-spectra"))
    return specs


TM_STATUS_PERIOD = 3600.0


def tm_status_packets(ctx: SimulationContext, flare_volume: int = 0) -> list[PacketSpec]:
    """TM management status and flare list (21/6/43), hourly.

    Parameters
    ----------
    ctx
        The run.
    flare_volume
        Telemetry bytes attributed to the flare (reported in the flare-list entry).
    """
    key = PacketKey(21, 6, 43)
    model = ctx.model
    flare_rows = model.flare_samples
    entries: list[Mapping[str, Sequence[int]]] = []
    end_time = None
    if len(flare_rows):
        first, last = int(flare_rows[0]), int(flare_rows[-1])
        end_time = model.times[last] + BASE_CADENCE
        entries.append(
            {
                "NIX00287": [ctx.scet(model.times[first])[0]],
                "NIX00288": [ctx.scet(end_time)[0]],
                "NIX00289": [int(model.thermal_index.max())],
                "NIX00290": [int(flare_volume)],
                "NIX00291": [int(np.rint(model.loc_z[flare_rows].mean()))],
                "NIX00292": [int(np.rint(model.loc_y[flare_rows].mean()))],
                "NIX00293": [3],
            }
        )
    specs = []
    pald = int(ctx.rng("ql-tmstatus").integers(1_000_000, 30_000_000))
    t = TM_STATUS_PERIOD
    while t < ctx.duration:
        listed = [e for e in entries if end_time is not None and end_time <= t]
        values: Values = {"NIX00120": [43], "NIX00285": [0], "NIX00286": [pald + int(t)], "NIX00294": [len(listed)]}
        for entry in listed:
            for name, seq in entry.items():
                values.setdefault(name, []).extend(seq)
        spec = _spec(ctx, key, values, t - HEADER_DELAY, "ql-tmstatusflarelist")
        spec.pad = b"\0"
        specs.append(spec)
        t += TM_STATUS_PERIOD
    return specs
