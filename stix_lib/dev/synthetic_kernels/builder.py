"""Build a synthetic Solar Orbiter SPICE kernel set: :func:`build_kernel_set`.

The set makes spacecraft-clock conversion and every SPICE-derived FITS keyword computable for
``[start, end]`` (UTC). It holds the real NAIF leapseconds kernel and kernels written from this
package's own parameters: PCK, two FKs, SCLK, SPKs (Solar Orbiter-like two-body orbit, Earth, Sun)
and CKs (nominal Sun-pointing attitude). File names: :mod:`stix_lib.dev.synthetic_kernels.kernel_names`.

Flown versus predicted: the *predicted* meta kernel lists an orbit SPK and attitude CK covering
``[start, end]``; the *flown* one lists separate files covering only ``[start, flown_until]``; both
list the common kernels (LSK, PCK, FKs, SCLK, planets SPK). Both describe the same model, so the
geometry is continuous where they meet. Both MK names carry the day of ``flown_until`` (the issue
date), which is what the flown-coverage rule of :mod:`stix_lib.spice.coverage` reads.

Reproducibility: the same arguments give byte-identical text kernels, SPK/CK files (their comments
and internal names are fixed; DAF files carry no timestamp, but are written in the machine's
binary format, LTL-IEEE on little-endian hosts) and zips (deflate output of the installed zlib).

``kernel-set.json`` in the root records what was built; files recorded there by an earlier build
that the new build does not produce are deleted, so an old, later-dated MK cannot shadow the new
one. Other files are never touched. Two builds must not write the same folder at the same time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from stix_lib.atomic import atomic_write_bytes
from stix_lib.dev.synthetic_kernels import attitude, frames
from stix_lib.dev.synthetic_kernels.ck import CkSegment, write_ck
from stix_lib.dev.synthetic_kernels.files import write_text_atomic
from stix_lib.dev.synthetic_kernels.kernel_names import KernelNames, spice_utc
from stix_lib.dev.synthetic_kernels.metakernel import meta_kernel_text
from stix_lib.dev.synthetic_kernels.orbits import (
    KeplerOrbit,
    default_earth_orbit,
    default_solar_orbiter_orbit,
    sun_pole_j2000,
)
from stix_lib.dev.synthetic_kernels.packaging import write_zip
from stix_lib.dev.synthetic_kernels.pck import pck_text
from stix_lib.dev.synthetic_kernels.sclk import ClockPair, SclkModel, build_sclk
from stix_lib.dev.synthetic_kernels.spk import SpkSegment, sample_epochs, write_spk
from stix_lib.time.leapseconds import LeapSeconds, packaged_leapseconds_path

log = logging.getLogger(__name__)

#: File in the kernel root describing the last build.
MANIFEST_NAME = "kernel-set.json"
SUN, EARTH, SSB, SOLO = 10, 399, 0, -144
_ORIGIN = "SYNTHETIC kernel written by stix_lib.dev.synthetic_kernels; not a SOC product."

TimeLike = str | datetime | np.datetime64


@dataclass(frozen=True)
class KernelSetOptions:
    """Model parameters of a kernel set (all have working defaults).

    Attributes
    ----------
    orbit
        Solar Orbiter orbit around the Sun.
    earth
        Earth orbit around the Sun.
    clock_pairs
        OBT ↔ UTC correlation pairs for the SCLK (``None``: SCET 0 at 2000-01-01T00:00:00 UTC).
    clock_drift_ppm
        Clock rate offset when at most one pair is given (see :func:`~stix_lib.dev.synthetic_kernels.sclk.sclk_model`).
    roll_deg
        Spacecraft roll about the Sun line (STIX ILS roll against ``SOLO_SUN_RTN``).
    orbit_step_s
        Spacing of the SPK states, s.
    attitude_step_s
        Spacing of the CK records, s.
    """

    orbit: KeplerOrbit = field(default_factory=default_solar_orbiter_orbit)
    earth: KeplerOrbit = field(default_factory=default_earth_orbit)
    clock_pairs: tuple[ClockPair, ...] | None = None
    clock_drift_ppm: float = 0.0
    roll_deg: float = 0.0
    orbit_step_s: float = 3600.0
    attitude_step_s: float = 600.0


@dataclass(frozen=True)
class KernelSetManifest:
    """What :func:`build_kernel_set` wrote.

    Attributes
    ----------
    root
        Kernel root (absolute).
    start, end, flown_until
        Covered UTC range and end of the flown data (``datetime64[ns]``).
    version
        Version number in the file names.
    names
        Relative file names of every kernel.
    zips
        Zip deliveries written (absolute paths; empty without zips). Only zips inside
        :attr:`root` are recorded in ``kernel-set.json`` (and so cleaned up by later builds).
    """

    root: Path
    start: np.datetime64
    end: np.datetime64
    flown_until: np.datetime64
    version: int
    names: KernelNames
    zips: tuple[Path, ...] = ()

    @property
    def flown_meta_kernel(self) -> Path:
        """Absolute path of the flown MK."""
        return self.root / self.names.flown_mk

    @property
    def predicted_meta_kernel(self) -> Path:
        """Absolute path of the predicted MK."""
        return self.root / self.names.predicted_mk

    @property
    def files(self) -> tuple[str, ...]:
        """Every kernel file of the set (relative to :attr:`root`), sorted."""
        names = self.names
        return tuple(sorted({*names.predicted(), *names.flown(), names.predicted_mk, names.flown_mk}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (relative paths, ISO times; no build time, so it is reproducible)."""
        relative_zips = sorted(name for name in (_relative(z, self.root) for z in self.zips) if name is not None)
        return {
            "start": str(np.datetime_as_string(self.start, unit="ms")),
            "end": str(np.datetime_as_string(self.end, unit="ms")),
            "flown_until": str(np.datetime_as_string(self.flown_until, unit="ms")),
            "version": self.version,
            "predicted_meta_kernel": self.names.predicted_mk,
            "flown_meta_kernel": self.names.flown_mk,
            "predicted_kernels": list(self.names.predicted()),
            "flown_kernels": list(self.names.flown()),
            "files": list(self.files),
            "zips": relative_zips,
        }


def _relative(path: Path, root: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def parse_utc(value: TimeLike) -> np.datetime64:
    """A UTC instant from an ISO string (``Z`` suffix allowed), a ``datetime`` or a ``datetime64``.

    Timezone-aware datetimes are converted to UTC; naive ones are taken as UTC.

    Raises
    ------
    ValueError
        If the value cannot be read as a time.
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return np.datetime64(value, "ns")
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1]
        try:
            return np.datetime64(datetime.fromisoformat(text), "ns")
        except ValueError as exc:
            raise ValueError(f"not an ISO time: {value!r}") from exc
    stamp = np.datetime64(value).astype("M8[ns]")
    if np.isnat(stamp):
        raise ValueError("time is NaT")
    return stamp


# ----------------------------------------------------------------------------------------------
# the individual kernels


def _title(what: str, names: str) -> str:
    return f"{what}\n\n{_ORIGIN}\nFile: {names}"


def _orbit_comments(what: str, orbit: KeplerOrbit) -> str:
    return (
        f"{what}\n{_ORIGIN}\n\n"
        "Two-body (Keplerian) orbit, states in J2000 relative to the Sun, type 13 segments.\n"
        f"  semi-major axis   {orbit.semi_major_axis_km!r} km\n"
        f"  eccentricity      {orbit.eccentricity!r}\n"
        f"  inclination       {orbit.inclination_deg!r} deg ({orbit.plane} plane)\n"
        f"  ascending node    {orbit.ascending_node_deg!r} deg\n"
        f"  arg. periapsis    {orbit.argument_of_periapsis_deg!r} deg\n"
        f"  mean anomaly      {orbit.mean_anomaly_deg!r} deg at ET {orbit.epoch_et!r} s\n"
        f"  GM                {orbit.gm!r} km3/s2"
    )


def _write_planets(path: Path, epochs: np.ndarray, earth: KeplerOrbit) -> None:
    zeros = np.zeros((2, 6))
    segments = [
        SpkSegment(SUN, SSB, "J2000", epochs[[0, -1]], zeros, "SUN AT SSB (HELIOCENTRIC MODEL)"),
        SpkSegment(EARTH, SUN, "J2000", epochs, earth.states(epochs), "EARTH TWO-BODY"),
    ]
    comments = (
        _orbit_comments("Sun and Earth for the synthetic Solar Orbiter kernel set.", earth)
        + "\n\nThe Sun is placed at the solar system barycentre (zero state); the Earth\n"
        "follows the two-body orbit above (Earth-Moon barycentre elements)."
    )
    write_spk(path, segments, "SYNTHETIC SUN AND EARTH", comments)


def _write_orbit(path: Path, epochs: np.ndarray, orbit: KeplerOrbit, kind: str) -> None:
    segment = SpkSegment(SOLO, SUN, "J2000", epochs, orbit.states(epochs), f"SOLO {kind.upper()} TWO-BODY")
    comments = _orbit_comments(f"Synthetic Solar Orbiter {kind} orbit (NAIF -144 relative to the Sun).", orbit)
    write_spk(path, [segment], f"SYNTHETIC SOLO {kind.upper()} ORBIT", comments)


def _write_attitude(
    path: Path, epochs: np.ndarray, clock: SclkModel, leapseconds: LeapSeconds, options: KernelSetOptions, kind: str
) -> None:
    ticks = clock.et_to_ticks(epochs, leapseconds)
    if ticks[0] < 0:
        raise ValueError("the kernel set starts before the spacecraft clock (SCET 0)")
    positions = options.orbit.states(epochs)[:, :3]
    srf = attitude.srf_matrices(positions, sun_pole_j2000(), options.roll_deg)
    segments = [
        CkSegment(frames.SRF_ID, "J2000", ticks, srf, f"SOLO_SRF {kind.upper()} SUN-POINTING"),
        CkSegment(frames.STIX_ILS_ID, "J2000", ticks, attitude.stix_ils_matrices(srf), f"STIX_ILS {kind.upper()}"),
    ]
    comments = (
        f"Synthetic Solar Orbiter {kind} attitude: nominal Sun pointing.\n{_ORIGIN}\n\n"
        "Type 3 segments relative to J2000, one interpolation interval each, no angular\n"
        "velocity. SOLO_SRF (-144000): +X to the Sun, +Z to solar north (RTN +N),\n"
        f"roll {options.roll_deg!r} deg. SOLO_STIX_ILS (-144851): SRF rotated 180 deg about +Z."
    )
    write_ck(path, segments, f"SYNTHETIC SOLO {kind.upper()} ATTITUDE", comments)


def _remove_stale(root: Path, keep: set[str]) -> None:
    """Delete files recorded by the previous build's manifest that are not in ``keep``."""
    try:
        previous = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    recorded = [*previous.get("files", []), *previous.get("zips", [])] if isinstance(previous, dict) else []
    for name in recorded:
        if not isinstance(name, str) or name in keep or name.startswith("/") or ".." in name.split("/"):
            continue
        path = root / name
        if path.is_file():
            log.info("removing %s (not part of the new kernel set)", path)
            path.unlink()


def build_kernel_set(
    out: Path,
    start: TimeLike,
    end: TimeLike,
    flown_until: TimeLike | None = None,
    *,
    version: int = 1,
    options: KernelSetOptions | None = None,
    make_zips: bool = False,
    zip_dir: Path | None = None,
) -> KernelSetManifest:
    """Write a complete synthetic kernel set for ``[start, end]`` into the kernel root ``out``.

    Parameters
    ----------
    out
        Kernel root; ``ck, fk, lsk, mk, pck, sclk, spk`` are created below it.
    start, end
        UTC range covered by the predicted kernels (ISO strings, ``datetime`` or ``datetime64``).
    flown_until
        End of the flown kernels (``start < flown_until <= end``); default ``end``.
    version
        Version number used in the file names (1..99).
    options
        Model parameters; defaults from :class:`KernelSetOptions`.
    make_zips
        Also write one zip per meta kernel (see :mod:`stix_lib.dev.synthetic_kernels.packaging`).
    zip_dir
        Where to put the zips; default ``<out>/zip``.

    Returns
    -------
    KernelSetManifest
        Paths and ranges of what was written.

    Raises
    ------
    ValueError
        For an empty or inverted range, a ``flown_until`` outside ``(start, end]`` or a range before
        the spacecraft clock start.
    """
    options = options or KernelSetOptions()
    first, last = parse_utc(start), parse_utc(end)
    flown = last if flown_until is None else parse_utc(flown_until)
    if not first < last:
        raise ValueError("start must be before end")
    if not first < flown <= last:
        raise ValueError("flown_until must be after start and not after end")
    root = Path(out).resolve()
    lsk_source = packaged_leapseconds_path()
    leapseconds = LeapSeconds.from_file(lsk_source)
    names = KernelNames.create(lsk_source.name, first, last, flown, version)
    et_first, et_last, et_flown = (float(v) for v in leapseconds.utc_to_et(np.array([first, last, flown])))
    log.info("building kernel set %s .. %s (flown until %s) in %s", first, last, flown, root)

    # text kernels
    atomic_write_bytes(root / names.lsk, lsk_source.read_bytes())
    write_text_atomic(root / names.pck, pck_text(_title("Sun and Earth constants (IAU).", names.pck)))
    write_text_atomic(
        root / names.sc_fk, frames.spacecraft_fk_text(_title("Solar Orbiter and STIX frames.", names.sc_fk))
    )
    write_text_atomic(root / names.sci_fk, frames.science_fk_text(_title("Heliospheric frames.", names.sci_fk)))
    sclk = build_sclk(
        options.clock_pairs,
        leapseconds=leapseconds,
        drift_ppm=options.clock_drift_ppm,
        kernel_id=spice_utc(flown),
        title=_title("Solar Orbiter spacecraft clock (NAIF -144).", names.sclk),
    )
    write_text_atomic(root / names.sclk, sclk.text)

    # binary kernels
    orbit_epochs = sample_epochs(et_first, et_last, options.orbit_step_s)
    flown_orbit_epochs = np.append(orbit_epochs[orbit_epochs < et_flown - options.orbit_step_s / 10.0], et_flown)
    _write_planets(root / names.planets_spk, orbit_epochs, options.earth)
    _write_orbit(root / names.predicted_spk, orbit_epochs, options.orbit, "predicted")
    _write_orbit(root / names.flown_spk, flown_orbit_epochs, options.orbit, "flown")
    attitude_epochs = sample_epochs(et_first, et_last, options.attitude_step_s)
    flown_attitude = np.append(attitude_epochs[attitude_epochs < et_flown - options.attitude_step_s / 10.0], et_flown)
    _write_attitude(root / names.predicted_ck, attitude_epochs, sclk.model, leapseconds, options, "predicted")
    _write_attitude(root / names.flown_ck, flown_attitude, sclk.model, leapseconds, options, "flown")

    # meta kernels
    write_text_atomic(
        root / names.predicted_mk,
        meta_kernel_text(_title("Solar Orbiter predicted meta kernel.", names.predicted_mk), names.predicted()),
    )
    write_text_atomic(
        root / names.flown_mk,
        meta_kernel_text(_title("Solar Orbiter flown meta kernel.", names.flown_mk), names.flown()),
    )

    zips: list[Path] = []
    if make_zips:
        target_dir = Path(zip_dir).resolve() if zip_dir is not None else root / "zip"
        for mk, members in ((names.flown_mk, names.flown()), (names.predicted_mk, names.predicted())):
            zips.append(write_zip(target_dir / f"{Path(mk).stem}.zip", root, [*members, mk]))
    manifest = KernelSetManifest(root, first, last, flown, version, names, tuple(zips))
    description = manifest.to_dict()
    _remove_stale(root, {*description["files"], *description["zips"]})
    write_text_atomic(root / MANIFEST_NAME, json.dumps(description, indent=2, sort_keys=True) + "\n")
    return manifest
