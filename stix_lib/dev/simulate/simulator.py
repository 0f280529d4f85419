"""Simulate STIX telemetry for a period and write it as SOC/EDDS XML files plus a manifest.

Scenarios:

``quiet``
    Housekeeping (HK maxi every 64 s), all quick-look products, the daily calibration
    accumulation and the hourly TM status; background counts only.
``flare``
    As ``quiet`` with a flare (peak at 35-50 % of the period): rising then decaying counts,
    attenuator insertion / RCR changes, flare flag and location, a flare-list entry.
``bsd``
    As ``flare`` plus science requests covering parts of the flare: raw pixel data (20 s),
    compressed and summed pixel data and visibilities (2 min), a spectrogram (rise to decay),
    executed one after the other half an hour after the flare.
``all``
    As ``bsd`` plus two aspect bursts and four boot-time HK mini reports at the start.

On-board times come from UTC through :mod:`stix_lib.time.nominal_clock` (SCET 0 =
2000-01-01T00:00:00 UTC, TDT-linear, as the kernel builder's default SCLK). The output is a pure
function of the configuration: the same seed gives the same bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stix_lib.atomic import atomic_write_text
from stix_lib.decode.layout import PacketKey
from stix_lib.dev.simulate.calibration_spectra import calibration_packets
from stix_lib.dev.simulate.catalogue import packet_types
from stix_lib.dev.simulate.context import SimulationContext
from stix_lib.dev.simulate.delivery import DeliveryOptions, EncodedPacket, deliver
from stix_lib.dev.simulate.housekeeping import housekeeping_packets
from stix_lib.dev.simulate.layout_tools import packet_size
from stix_lib.dev.simulate.packets import PacketFactory, PacketSpec
from stix_lib.dev.simulate.physics import BASE_CADENCE, Flare, build_day_model
from stix_lib.dev.simulate.quicklook import (
    background_packets,
    flareflag_packets,
    lightcurve_packets,
    spectra_packets,
    tm_status_packets,
    variance_packets,
)
from stix_lib.dev.simulate.science import (
    RequestInfo,
    RequestPlan,
    aspect_burst,
    pixel_data,
    raw_pixel_data,
    spectrogram,
    visibilities,
)
from stix_lib.idb.manager import IDBManager
from stix_lib.time.nominal_clock import FINE_PER_SECOND, as_datetime64, scet_to_utc, utc_to_scet

#: A UTC instant: a datetime64 scalar or 0-d array.
Instant = np.datetime64 | npt.NDArray[np.datetime64]

SCENARIOS = ("quiet", "flare", "bsd", "all")
MANIFEST_NAME = "simulate-manifest.json"
#: Products that make up "nominal" telemetry (no science requests).
NOMINAL_PRODUCTS = frozenset(
    {
        "hk-maxi",
        "ql-lightcurve",
        "ql-background",
        "ql-variance",
        "ql-spectra",
        "ql-flareflag",
        "ql-tmstatusflarelist",
        "cal-energy",
    }
)


@dataclass
class SimulationConfig:
    """What to simulate and how to deliver it.

    Attributes
    ----------
    start
        UTC start (ISO text or ``datetime64``).
    duration
        Length in seconds.
    out_dir
        Output folder (XML files and ``simulate-manifest.json``).
    idb_dir
        IDB root (``v<version>/idb.sqlite`` + ``idbVersionHistory.json``).
    scenario
        One of :data:`SCENARIOS`.
    seed
        Random seed (non-negative).
    files, shuffle, duplicates, corrupt
        Delivery options (:class:`~stix_lib.dev.simulate.delivery.DeliveryOptions`).
    """

    start: str | np.datetime64
    duration: float
    out_dir: Path
    idb_dir: Path
    scenario: str = "all"
    seed: int = 0
    files: int = 1
    shuffle: bool = False
    duplicates: float = 0.0
    corrupt: float = 0.0

    def validate(self) -> None:
        """Raise ``ValueError`` for an unusable configuration."""
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r} (one of {', '.join(SCENARIOS)})")
        if not self.duration > 0:
            raise ValueError("duration must be positive")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        self.delivery.validate()

    @property
    def delivery(self) -> DeliveryOptions:
        """The delivery options."""
        return DeliveryOptions(self.files, self.shuffle, self.duplicates, self.corrupt)


@dataclass
class SimulationResult:
    """What :func:`simulate` wrote."""

    files: list[Path]
    manifest_path: Path
    manifest: dict[str, Any] = field(repr=False)

    @property
    def packet_count(self) -> int:
        """Number of distinct packets simulated."""
        return int(self.manifest["total_packets"])


def make_flare(duration: float, rng: np.random.Generator) -> Flare:
    """The flare of a scenario: peak at 35-50 % of the period, time scales shrunk for short periods."""
    return Flare(
        peak=float(duration * rng.uniform(0.35, 0.5)),
        rise=min(240.0, duration / 60.0),
        decay=min(900.0, duration / 40.0),
    )


def _science(
    ctx: SimulationContext, scenario: str, start_utc: Instant
) -> tuple[list[PacketSpec], list[RequestInfo]]:
    flare = ctx.model.flare
    flagged = ctx.model.flare_samples
    if flare is None or not len(flagged):
        return [], []
    rng = ctx.rng("requests")
    flare_end = float(ctx.model.times[flagged[-1]] + BASE_CADENCE)
    execute = min(flare_end + 1800.0, max(ctx.duration - 1800.0, flare_end))
    day = str(start_utc)[2:10].replace("-", "")
    plan = RequestPlan(ctx, execute, int(day) * 10000 + int(rng.integers(1, 5000)), int(rng.integers(1000, 9000)))
    rise, decay = flare.rise, flare.decay
    cadence = BASE_CADENCE

    def window(begin: float, length: float) -> tuple[float, int]:
        begin = max(0.0, begin - begin % cadence)
        bins = max(1, int(min(length, ctx.duration - begin) // cadence))
        return begin, bins

    specs: list[PacketSpec] = []
    infos: list[RequestInfo] = []
    rpd_start, rpd_bins = window(flare.peak - 1.5 * rise, 20.0)
    made = [raw_pixel_data(ctx, plan, rpd_start, rpd_bins, cadence)]
    px_start, px_bins = window(flare.peak - rise, 120.0)
    made.append(pixel_data(ctx, plan, 21, px_start, px_bins, cadence, tuple(1 << p for p in range(12))))
    made.append(pixel_data(ctx, plan, 22, px_start, px_bins, cadence, (0x00F, 0x0F0, 0xF00, 0x0FF)))
    made.append(visibilities(ctx, plan, px_start, px_bins, cadence))
    sp_start, sp_bins = window(flare.peak - 2 * rise, 2 * rise + decay)
    made.append(spectrogram(ctx, plan, sp_start, sp_bins, cadence))
    if scenario == "all":
        for begin in (flare.peak, flare.peak + decay):
            made.append(aspect_burst(ctx, min(begin, ctx.duration - 60.0), 60.0, plan.execute_at))
            plan.execute_at += 60.0
    for request_specs, info in made:
        specs.extend(request_specs)
        infos.append(info)
    return specs, infos


def _labels(key: PacketKey) -> str:
    return "-".join(str(v) for v in key if v is not None)


def simulate(config: SimulationConfig) -> SimulationResult:
    """Simulate telemetry and write the XML files and the manifest.

    Parameters
    ----------
    config
        See :class:`SimulationConfig`.

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError
        For an invalid configuration, a start before 2000 or no IDB for the period.
    """
    config.validate()
    start_utc = as_datetime64(config.start).astype("datetime64[ns]")
    coarse, fine = utc_to_scet(start_utc)
    manager = IDBManager(Path(config.idb_dir))
    factory = PacketFactory(manager)
    base = np.random.default_rng([config.seed & 0xFFFFFFFF, config.seed >> 32, 0x5CE7])
    flare = make_flare(config.duration, base) if config.scenario != "quiet" else None
    model = build_day_model(
        config.duration, flare, np.random.default_rng([config.seed & 0xFFFFFFFF, config.seed >> 32, 1])
    )
    ctx = SimulationContext(
        factory, int(coarse) * FINE_PER_SECOND + int(fine), float(config.duration), model, config.seed
    )
    specs: list[PacketSpec] = []
    specs += housekeeping_packets(ctx, mini=config.scenario == "all")
    for builder in (lightcurve_packets, background_packets, variance_packets, flareflag_packets, spectra_packets):
        specs += builder(ctx)
    specs += calibration_packets(ctx)
    science: list[PacketSpec] = []
    requests: list[RequestInfo] = []
    if config.scenario in ("bsd", "all"):
        science, requests = _science(ctx, config.scenario, start_utc)
    volume = sum(packet_size(factory.layout(s.key, s.coarse), s.values) for s in science)
    specs += tm_status_packets(ctx, flare_volume=volume)
    specs += science
    specs.sort(key=lambda s: s.time_key)
    encoded_bytes = factory.encode_all(specs)
    utc = scet_to_utc(np.array([s.coarse for s in specs]), np.array([s.fine for s in specs]))
    spids: dict[tuple[str, PacketKey], int] = {}
    packets = []
    for spec, data, when in zip(specs, encoded_bytes, utc, strict=True):
        version = factory.idb_version(spec.coarse)
        if (version, spec.key) not in spids:
            idb = manager.get_idb(version)
            spids.update({(version, t.key): t.spid for t in packet_types(idb)})
        packets.append(EncodedPacket(data, spec.product, _labels(spec.key), when, spids.get((version, spec.key), 0)))
    out_dir = Path(config.out_dir)
    delivered = deliver(
        packets, out_dir, config.delivery, np.random.default_rng([config.seed & 0xFFFFFFFF, config.seed >> 32, 2])
    )
    manifest = _manifest(config, ctx, start_utc, specs, packets, delivered, requests, factory)
    manifest_path = out_dir / MANIFEST_NAME
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return SimulationResult([out_dir / f.name for f in delivered], manifest_path, manifest)


def _iso(value: Instant) -> str:
    return str(np.asarray(value, dtype="M8[ms]"))


def _manifest(
    config: SimulationConfig,
    ctx: SimulationContext,
    start_utc: Instant,
    specs: list[PacketSpec],
    packets: list[EncodedPacket],
    delivered: list,
    requests: list[RequestInfo],
    factory: PacketFactory,
) -> dict[str, Any]:
    by_type = Counter(f"{p.type_label} {p.product}" for p in packets)
    model = ctx.model
    flare: dict[str, Any] | None = None
    if model.flare is not None:
        flagged = model.flare_samples
        flare = {
            **{k: v for k, v in asdict(model.flare).items() if k != "location"},
            "location": list(model.flare.location),
            "peak_utc": _iso(scet_to_utc(*ctx.scet(model.flare.peak))),
            "max_rcr": int(model.rcr.max()),
            "rcr_changes": int(np.count_nonzero(np.diff(model.rcr))),
            "flagged_from_utc": _iso(scet_to_utc(*ctx.scet(float(model.times[flagged[0]])))) if len(flagged) else None,
            "flagged_to_utc": _iso(scet_to_utc(*ctx.scet(float(model.times[flagged[-1]] + BASE_CADENCE))))
            if len(flagged)
            else None,
        }
    versions = sorted({factory.idb_version(s.coarse) for s in specs})
    return {
        "generator": "stix_lib.dev.simulate",
        "seed": config.seed,
        "scenario": config.scenario,
        "start_utc": _iso(start_utc),
        "duration_s": config.duration,
        "start_scet": "{:010d}:{:05d}".format(*ctx.scet(0.0)),
        "clock": "SCET 0 = 2000-01-01T00:00:00 UTC, SCET seconds = TDT - TDT(epoch), fine = 1/65536 s",
        "options": {
            "files": config.files,
            "shuffle": config.shuffle,
            "duplicates": config.duplicates,
            "corrupt": config.corrupt,
        },
        "idb_versions": versions,
        "total_packets": len(packets),
        "packets_by_type": dict(sorted(by_type.items())),
        "files": [
            {
                "name": f.name,
                "elements": len(f.packets),
                "first_utc": _iso(min(packets[p].utc for p in f.packets)) if f.packets else None,
                "last_utc": _iso(max(packets[p].utc for p in f.packets)) if f.packets else None,
            }
            for f in delivered
        ],
        "duplicates": [
            {"file": f.name, "packet_id": pid, "packet": index, "product": packets[index].product}
            for f in delivered
            for pid, index in sorted(f.duplicates.items())
        ],
        "corrupted": [
            {"file": f.name, "packet_id": pid, "kind": kind, "product": packets[f.packets[pid - 1]].product}
            for f in delivered
            for pid, kind in sorted(f.corrupted.items())
        ],
        "flare": flare,
        "requests": [r.as_dict(ctx) for r in requests],
    }
