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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from stix_lib.atomic import atomic_write_text
from stix_lib.decode.layout import PacketKey
from stix_lib.dev.simulate.calibration_spectra import calibration_packets, day_bounds
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
#: Periods longer than this are generated one UTC day at a time.
DAY_SECONDS = 86400.0
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


@dataclass
class _Day:
    """The packets of one generated period (the whole run, or one UTC day of a long run)."""

    ctx: SimulationContext
    start_utc: Instant
    specs: list[PacketSpec]
    packets: list[EncodedPacket]
    requests: list[RequestInfo]


def day_seed(seed: int, day: int) -> int:
    """Seed of day ``day`` of a long run: ``seed`` itself for the first day, a derived one after."""
    if day == 0:
        return seed
    state = np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32, 0xDA7, day]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) | (int(state[1]) >> 1)


def generation_periods(start_utc: Instant, duration: float, factory: PacketFactory) -> list[tuple[float, float]]:
    """``(begin, end)`` seconds after the start of the periods generated one after the other.

    A period of up to one day is generated in one piece; a longer one is cut at UTC midnights
    and generated one day at a time, so memory stays that of one day whatever the length.
    """
    if duration <= DAY_SECONDS:
        return [(0.0, float(duration))]
    coarse, fine = utc_to_scet(start_utc)
    ctx = SimulationContext(factory, int(coarse) * FINE_PER_SECOND + int(fine), float(duration), None, 0)  # type: ignore[arg-type]
    return day_bounds(ctx)


def _generate(
    config: SimulationConfig, start_utc: Instant, duration: float, seed: int, factory: PacketFactory, *, mini: bool
) -> _Day:
    """Model, packets (encoded, in on-board time order) and requests of one period."""
    coarse, fine = utc_to_scet(start_utc)
    start_ticks = int(coarse) * FINE_PER_SECOND + int(fine)
    base = np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, 0x5CE7])
    flare = make_flare(duration, base) if config.scenario != "quiet" else None
    model = build_day_model(duration, flare, np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, 1]))
    ctx = SimulationContext(factory, start_ticks, float(duration), model, seed)
    specs: list[PacketSpec] = []
    specs += housekeeping_packets(ctx, mini=mini)
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
            idb = factory.idb_manager.get_idb(version)
            spids.update({(version, t.key): t.spid for t in packet_types(idb)})
        packets.append(EncodedPacket(data, spec.product, _labels(spec.key), when, spids.get((version, spec.key), 0)))
    return _Day(ctx, start_utc, specs, packets, requests)


def simulate(config: SimulationConfig) -> SimulationResult:
    """Simulate telemetry and write the XML files and the manifest.

    A period of up to one day is generated and delivered in one piece (``files`` files). A
    longer period is generated one UTC day at a time (:func:`generation_periods`) and each day
    is delivered on its own (``files`` files per day), so memory stays that of one day: day 0
    uses ``seed``, day ``k`` the seed :func:`day_seed` derives; sequence counts run on across
    days; the four boot-time HK mini reports (scenario ``all``) come only at the start. The
    manifest sums the days and lists each under ``days``.

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
    start_ticks = int(coarse) * FINE_PER_SECOND + int(fine)
    factory = PacketFactory(IDBManager(Path(config.idb_dir)))
    out_dir = Path(config.out_dir)
    periods = generation_periods(start_utc, config.duration, factory)
    manifests = []
    files: list[Path] = []
    for number, (begin, end) in enumerate(periods):
        seed = day_seed(config.seed, number)
        ticks = start_ticks + int(round(begin * FINE_PER_SECOND))
        day_start = start_utc if number == 0 else scet_to_utc(*divmod(ticks, FINE_PER_SECOND)).ravel()[0]
        day = _generate(config, day_start, end - begin, seed, factory, mini=config.scenario == "all" and number == 0)
        delivered = deliver(
            day.packets, out_dir, config.delivery, np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, 2])
        )
        files += [out_dir / f.name for f in delivered]
        day_config = replace(config, start=cast(np.datetime64, day.start_utc), duration=end - begin, seed=seed)
        manifests.append(
            _manifest(day_config, day.ctx, day.start_utc, day.specs, day.packets, delivered, day.requests, factory)
        )
        del day, delivered
    manifest = manifests[0] if len(manifests) == 1 else _merge_manifests(config, start_utc, manifests)
    manifest_path = out_dir / MANIFEST_NAME
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return SimulationResult(files, manifest_path, manifest)


def _merge_manifests(config: SimulationConfig, start_utc: Instant, days: list[dict[str, Any]]) -> dict[str, Any]:
    """One manifest of a run generated day by day: totals, concatenated lists, each day under ``days``."""
    by_type: Counter[str] = Counter()
    for day in days:
        by_type.update(day["packets_by_type"])
    return {
        **{k: days[0][k] for k in ("generator", "seed", "scenario", "start_scet", "clock", "options")},
        "seed": config.seed,
        "start_utc": _iso(start_utc),
        "duration_s": config.duration,
        "idb_versions": sorted({v for day in days for v in day["idb_versions"]}),
        "total_packets": sum(day["total_packets"] for day in days),
        "packets_by_type": dict(sorted(by_type.items())),
        **{k: [item for day in days for item in day[k]] for k in ("files", "duplicates", "corrupted", "requests")},
        "flare": None,
        "days": [
            {
                "start_utc": day["start_utc"],
                "duration_s": day["duration_s"],
                "seed": day["seed"],
                "total_packets": day["total_packets"],
                "files": [f["name"] for f in day["files"]],
                "flare": day["flare"],
            }
            for day in days
        ],
    }


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
