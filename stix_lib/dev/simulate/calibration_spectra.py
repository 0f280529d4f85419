"""Energy-calibration spectra (21/6/41): one accumulation of the on-board Ba-133 source per day.

Each UTC day of the simulated period has one accumulation, from 60 s after the later of midnight
and the period's start to 600 s before the earlier of the next midnight and the period's end
(days with less than 21 min of the period have none), so every accumulation falls inside its
day and its L1 row is dated in it. It holds one sub-spectrum of 1024 ADC channels (summing
1, lowest channel 0) for each of the 32 x 12 pixels, compressed with ``(s, k, m) = (0, 4, 4)`` as
in the 2020 calibration packets. Spectrum model: the Ba-133 lines at 30.9, 35.0, 81.0, 276, 303,
356 and 384 keV on a falling continuum, channel = 60 + 2.5 * E/keV, resolution 1 keV FWHM-ish
growing with sqrt(E); big pixels collect ten times the counts of small ones. The 384 chunks
(``NIX00159``) are packed three per packet (3084 of the 4096 data bytes) and sent as one CCSDS
group (FIRST/MIDDLE/LAST) right after the accumulation ends.

Raw units: duration ``NIX00122`` in **seconds** (the IDB says 0.1 s; the flight software counts
seconds and both STIXCore and this project read it that way, STIXCore issue #432), quiet time
``NIX00123`` in 1/65535 s, live time ``NIX00124`` in ms, average temperature ``NIX00125`` through
the temperature curve.
"""

from __future__ import annotations

import numpy as np

from stix_lib.decode.layout import PacketKey
from stix_lib.dev.simulate.calibration import to_raw
from stix_lib.dev.simulate.compressing import compress_packet_values
from stix_lib.dev.simulate.context import SimulationContext
from stix_lib.dev.simulate.packets import PacketSpec, as_group, merge_values, pack_items
from stix_lib.time.nominal_clock import FINE_PER_SECOND, scet_to_utc, utc_to_scet

CAL_SCHEME = (0, 4, 4)
CAL_CHANNELS = 1024
BA133_LINES_KEV = ((30.9, 1.0), (35.0, 0.25), (81.0, 0.9), (276.4, 0.1), (302.9, 0.2), (356.0, 0.6), (383.8, 0.08))
ADC_OFFSET = 60.0
ADC_PER_KEV = 2.5
#: Counts per second of a big pixel (all channels).
BIG_PIXEL_RATE = 1.5
ACCUMULATION_START = 60.0
ACCUMULATION_END_MARGIN = 600.0


def source_spectrum() -> np.ndarray:
    """Normalised (sum 1) expected spectrum over the 1024 channels."""
    channels = np.arange(CAL_CHANNELS, dtype=np.float64)
    energy = (channels - ADC_OFFSET) / ADC_PER_KEV
    shape = np.where(energy > 4.0, 0.02 * np.exp(-np.clip(energy, 0, None) / 150.0), 0.0)
    for line, weight in BA133_LINES_KEV:
        sigma = 0.45 * np.sqrt(line / 30.9) * ADC_PER_KEV + 0.8
        centre = ADC_OFFSET + ADC_PER_KEV * line
        shape = shape + weight * np.exp(-0.5 * ((channels - centre) / sigma) ** 2) / sigma
    return shape / shape.sum()


def day_bounds(ctx: SimulationContext) -> list[tuple[float, float]]:
    """The period cut at UTC midnights: ``(begin, end)`` seconds after the start, in order."""
    coarse, fine = divmod(ctx.start_ticks, FINE_PER_SECOND)
    first = scet_to_utc(coarse, fine).ravel()[0]
    last = first + np.timedelta64(int(round(ctx.duration * 1e9)), "ns")  # midnight search only
    midnights = np.arange(first.astype("datetime64[D]") + 1, last.astype("datetime64[D]") + 1)
    cuts = []
    for midnight in midnights.astype("datetime64[ns]"):
        m_coarse, m_fine = utc_to_scet(midnight)
        offset = (int(m_coarse) * FINE_PER_SECOND + int(m_fine) - ctx.start_ticks) / FINE_PER_SECOND
        if 0.0 < offset < ctx.duration:
            cuts.append(offset)
    edges = [0.0, *cuts, float(ctx.duration)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def accumulation_windows(ctx: SimulationContext) -> list[tuple[float, float]]:
    """``(start, stop)`` of each day's accumulation, seconds after the simulation start."""
    windows = []
    for begin, end in day_bounds(ctx):
        start, stop = begin + ACCUMULATION_START, end - ACCUMULATION_END_MARGIN
        if stop - start >= ACCUMULATION_END_MARGIN:
            windows.append((start, stop))
    return windows


def calibration_packets(ctx: SimulationContext) -> list[PacketSpec]:
    """One packet group per day's accumulation (none for days with too little of the period)."""
    specs = []
    for number, (start, stop) in enumerate(accumulation_windows(ctx)):
        specs += _accumulation(ctx, start, stop, ctx.rng("cal-energy" if number == 0 else f"cal-energy-{number}"))
    return specs


def _accumulation(ctx: SimulationContext, start: float, stop: float, rng: np.random.Generator) -> list[PacketSpec]:
    """The packet group of one accumulation from ``start`` to ``stop`` (seconds after the start)."""
    key = PacketKey(21, 6, 41)
    duration = stop - start
    live = 0.97 * duration
    pixel_rate = np.where(np.arange(12) < 8, BIG_PIXEL_RATE, BIG_PIXEL_RATE / 10.0)
    expected = live * pixel_rate[None, :, None] * source_spectrum()[None, None, :]
    counts = rng.poisson(np.broadcast_to(expected, (32, 12, CAL_CHANNELS))).astype(np.int64)
    send = stop + 10.0
    version = ctx.idb_version(send)
    idb = ctx.idb(send)
    codes = np.asarray(
        compress_packet_values(41, version, {"NIX00158": counts.ravel()}, {"CALI": CAL_SCHEME})["NIX00158"]
    )
    codes = codes.reshape(32, 12, CAL_CHANNELS)
    subspectra: dict[str, list[int]] = {}
    for i in range(8):
        points, summed, lowest = (CAL_CHANNELS - 1, 0, 0) if i == 0 else (0, 0, 0)
        subspectra[f"NIXD{129 + 3 * i:04d}"] = [points]
        subspectra[f"NIXD{130 + 3 * i:04d}"] = [summed]
        subspectra[f"NIXD{131 + 3 * i:04d}"] = [lowest]
    header = merge_values(
        {
            "NIX00120": [41],
            "NIX00445": [ctx.scet(start)[0]],
            "NIX00122": [int(round(duration))],  # seconds (STIXCore #432)
            "NIX00123": [6],
            "NIX00124": [int(round(live * 1000))],
            "NIX00125": [int(to_raw(idb, "NIX00125", np.array([273.15 - 38.0]))[0])],
            "NIXD0126": [CAL_SCHEME[0]],
            "NIXD0127": [CAL_SCHEME[1]],
            "NIXD0128": [CAL_SCHEME[2]],
            "NIX00407": [(1 << 32) - 1],
            "NIXD0448": [0],
            "NIXD0407": [(1 << 12) - 1],
            "NIX00160": [1],
        },
        subspectra,
    )
    items = [
        {
            "NIXD0155": [det],
            "NIXD0156": [pix],
            "NIXD0157": [0],
            "NIX00146": [CAL_CHANNELS],
            "NIX00158": codes[det, pix].tolist(),
        }
        for det in range(32)
        for pix in range(12)
    ]
    layout = ctx.layout(key, send)
    packets = pack_items(layout, header, "NIX00159", items)
    specs = []
    for i, values in enumerate(packets):
        coarse, fine = ctx.scet(send + 0.01 * i)
        specs.append(PacketSpec(key, values, coarse, fine, product="cal-energy", order=(41, i)))
    return as_group(specs)
