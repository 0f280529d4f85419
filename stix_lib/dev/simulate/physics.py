"""A simple physical model of what STIX counts: quiet background plus an optional solar flare.

Everything is expressed per **science energy channel** (the 32 channels of the STIX science
energy table, edges :data:`ENERGY_EDGES_KEV`) as expected counts per second summed over all
detectors and pixels, on the 4 s base cadence of the quick-look accumulators.

* Background: the on-board Ba-133 calibration source (lines near 31 and 81 keV) plus a flat
  continuum; its 4 s totals in the five quick-look bands (4-10, 10-15, 15-25, 25-50, 50-150 keV)
  are about 270, 45, 65, 990 and 1600 counts, the magnitude of real quiet-Sun light curves.
* Flare: a thermal component (``exp(-E/kT)``, temperature cooling after the peak) with a
  Gaussian rise and exponential decay, plus a non-thermal power law ``E**-gamma`` in a shorter
  impulsive burst just before the thermal peak.
* Rate control regime (RCR): a state machine on the 4 s grid. When the observed rate exceeds
  :data:`RCR_UP_COUNTS` (per 4 s) the state goes up by one (state 1 inserts the attenuator, a
  transmission ``exp(-(12 keV / E)**3)``; each further state halves the effective area, like the
  pixel disabling of higher states); when the rate the next lower state would see falls below
  :data:`RCR_DOWN_FRACTION` of the threshold it goes down; states last at least 20 s.
* Flare flag: thermal and non-thermal indices from the incident (attenuation-corrected) excess
  over background, location valid while the thermal index is raised.

Counts are realised with Poisson noise from the caller's random generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

#: Edges (keV) of the 32 science energy channels; the open last channel is modelled up to 250 keV.
ENERGY_EDGES_KEV = np.array(
    [0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 25, 28, 32, 36, 40, 45, 50, 56, 63, 70, 76, 84,
     100, 120, 150, 250],
    dtype=np.float64,
)  # fmt: skip
#: Channel index of the edges of the five quick-look bands (4, 10, 15, 25, 50, 150 keV).
QL_BAND_EDGES = (1, 7, 12, 17, 23, 31)
#: Base cadence of the model (s): the quick-look light-curve integration.
BASE_CADENCE = 4.0
#: Observed counts per 4 s above which the rate control regime goes up.
RCR_UP_COUNTS = 1.0e5
#: Fraction of the threshold below which the regime goes down.
RCR_DOWN_FRACTION = 0.4
#: Largest simulated RCR state.
RCR_MAX = 4
#: Minimum dwell time in one RCR state (s).
RCR_MIN_DWELL = 20.0

_QUIET_BAND_COUNTS_4S = (270.0, 45.0, 65.0, 990.0, 1600.0)


def channel_widths() -> npt.NDArray[np.float64]:
    """Width (keV) of each science channel."""
    return np.diff(ENERGY_EDGES_KEV)


def band_of_channel() -> npt.NDArray[np.int64]:
    """Quick-look band (0..4) of each science channel, -1 outside the bands."""
    out = np.full(32, -1, dtype=np.int64)
    for band, (lo, hi) in enumerate(zip(QL_BAND_EDGES[:-1], QL_BAND_EDGES[1:], strict=True)):
        out[lo:hi] = band
    return out


def sum_bands(counts: npt.NDArray) -> npt.NDArray:
    """Sum the last axis (32 channels) into the 5 quick-look bands."""
    edges = np.asarray(QL_BAND_EDGES)
    return np.add.reduceat(counts[..., edges[0] : edges[-1]], edges[:-1] - edges[0], axis=-1)


def background_rate() -> npt.NDArray[np.float64]:
    """Expected background counts per second in each science channel (all detectors)."""
    widths = channel_widths()
    rate = np.zeros(32)
    rate[0] = 5.0
    rate[31] = 30.0
    bands = band_of_channel()
    for band, total in enumerate(_QUIET_BAND_COUNTS_4S):
        members = np.nonzero(bands == band)[0]
        rate[members] = total / BASE_CADENCE * widths[members] / widths[members].sum()
    for line_channel, fraction, band in ((18, 0.6, 3), (27, 0.7, 4)):
        members = np.nonzero(bands == band)[0]
        total = _QUIET_BAND_COUNTS_4S[band] / BASE_CADENCE
        rate[members] *= 1.0 - fraction
        rate[line_channel] += fraction * total
    return rate


def attenuator_transmission() -> npt.NDArray[np.float64]:
    """Transmission of the attenuator per science channel (evaluated at the channel centre)."""
    centre = 0.5 * (ENERGY_EDGES_KEV[:-1] + ENERGY_EDGES_KEV[1:])
    centre[0] = 3.0
    return np.exp(-((12.0 / centre) ** 3))


def regime_factors(rcr: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Transmission per sample and channel for RCR states ``rcr`` (shape ``(n, 32)``)."""
    states = np.asarray(rcr, dtype=np.int64)
    att = attenuator_transmission()
    factors = np.where(states[:, None] >= 1, att[None, :], 1.0)
    return factors * (0.5 ** np.clip(states - 1, 0, None))[:, None]


@dataclass(frozen=True)
class Flare:
    """Parameters of the simulated flare.

    Attributes
    ----------
    peak
        Time of the thermal peak, seconds after the simulation start.
    rise
        Gaussian rise time scale (s).
    decay
        Exponential decay time (s).
    thermal_peak
        Incident counts per 4 s in 4-10 keV at the peak (all detectors).
    temperature
        Peak temperature kT (keV).
    nonthermal_peak
        Incident counts per 4 s above 15 keV at the impulsive peak.
    gamma
        Power-law index of the non-thermal counts.
    location
        Flare position as reported by the flare flag (``loc_z``, ``loc_y``; signed bytes).
    """

    peak: float
    rise: float = 240.0
    decay: float = 900.0
    thermal_peak: float = 5.0e6
    temperature: float = 1.7
    nonthermal_peak: float = 4.0e4
    gamma: float = 3.5
    location: tuple[int, int] = (14, -23)

    def thermal_profile(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Relative thermal emission measure (1 at the peak)."""
        times = np.asarray(t, dtype=np.float64)
        dt = times - self.peak
        return np.where(dt < 0, np.exp(-0.5 * (dt / self.rise) ** 2), np.exp(-np.clip(dt, 0, None) / self.decay))

    def nonthermal_profile(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Relative non-thermal flux (1 at the impulsive peak, half a rise time before the thermal peak)."""
        times = np.asarray(t, dtype=np.float64)
        return np.exp(-0.5 * ((times - (self.peak - 0.5 * self.rise)) / (0.35 * self.rise)) ** 2)

    def rate(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Incident flare counts per second per science channel, shape ``(len(t), 32)``."""
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
        lo, hi = ENERGY_EDGES_KEV[:-1], ENERGY_EDGES_KEV[1:]

        def thermal_spectrum(kt: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            spectrum = kt[:, None] * (np.exp(-lo[None, :] / kt[:, None]) - np.exp(-hi[None, :] / kt[:, None]))
            spectrum[:, 0] = 0.0  # below the detection threshold
            return spectrum

        profile = self.thermal_profile(times)
        # emission measure scaled so that 4-10 keV holds thermal_peak counts per 4 s at the peak
        emission = self.thermal_peak / BASE_CADENCE / thermal_spectrum(np.array([self.temperature]))[0, 1:7].sum()
        kt = self.temperature * (0.55 + 0.45 * profile)
        thermal = thermal_spectrum(kt) * (emission * profile)[:, None]
        g = self.gamma
        low = np.maximum(lo, 1.0)  # channel 0 (below threshold) gets no counts anyway
        powerlaw = (low ** (1 - g) - hi ** (1 - g)) / (g - 1)
        powerlaw[0] = 0.0
        scale = self.nonthermal_peak / BASE_CADENCE / powerlaw[12:].sum()
        return thermal + scale * powerlaw[None, :] * self.nonthermal_profile(times)[:, None]


def rate_control(incident_4s: npt.NDArray[np.float64], background_4s: npt.NDArray[np.float64]) -> np.ndarray:
    """RCR state per 4 s sample from incident flare counts per 4 s (``(n, 32)``).

    See the module docstring for the rules.
    """
    n = len(incident_4s)
    states = np.zeros(n, dtype=np.int64)
    att = attenuator_transmission()
    dwell = int(round(RCR_MIN_DWELL / BASE_CADENCE))

    def observed(i: int, state: int) -> float:
        factor = (att if state >= 1 else 1.0) * (0.5 ** max(state - 1, 0))
        return float((incident_4s[i] * factor).sum() + background_4s.sum())

    state, since = 0, dwell
    for i in range(n):
        if since >= dwell:
            if state < RCR_MAX and observed(i, state) > RCR_UP_COUNTS:
                state, since = state + 1, 0
            elif state > 0 and observed(i, state - 1) < RCR_DOWN_FRACTION * RCR_UP_COUNTS:
                state, since = state - 1, 0
        states[i] = state
        since += 1
    return states


@dataclass
class DayModel:
    """The model evaluated on the 4 s grid of a simulated period, with one Poisson realisation.

    Attributes
    ----------
    times
        Start of each 4 s sample, seconds after the simulation start.
    expected
        Expected observed counts per sample and channel (after RCR), ``(n, 32)``.
    incident_flare
        Expected incident flare counts per sample and channel (no attenuator), ``(n, 32)``.
    counts
        Poisson realisation of ``expected`` (int64, ``(n, 32)``).
    rcr
        RCR state per sample.
    thermal_index, nonthermal_index, location_status
        Flare flag quantities per sample.
    loc_z, loc_y
        Flare location per sample (0 while not valid).
    """

    times: npt.NDArray[np.float64]
    expected: npt.NDArray[np.float64]
    incident_flare: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]
    rcr: npt.NDArray[np.int64]
    thermal_index: npt.NDArray[np.int64]
    nonthermal_index: npt.NDArray[np.int64]
    location_status: npt.NDArray[np.int64]
    loc_z: npt.NDArray[np.int64]
    loc_y: npt.NDArray[np.int64]
    flare: Flare | None = None
    background: npt.NDArray[np.float64] = field(default_factory=lambda: background_rate() * BASE_CADENCE)

    @property
    def flare_samples(self) -> npt.NDArray[np.intp]:
        """Indices of the samples with a raised thermal flare flag."""
        return np.nonzero(self.thermal_index > 0)[0]

    def expected_between(self, start: float, stop: float) -> npt.NDArray[np.float64]:
        """Expected observed counts per channel integrated over ``[start, stop)`` (s)."""
        first = int(np.floor(start / BASE_CADENCE))
        last = int(np.ceil(stop / BASE_CADENCE))
        first, last = max(first, 0), min(max(last, first + 1), len(self.times))
        return self.expected[first:last].sum(axis=0) * (stop - start) / max((last - first) * BASE_CADENCE, 1e-9)


def build_day_model(duration: float, flare: Flare | None, rng: np.random.Generator) -> DayModel:
    """Evaluate the model over ``duration`` seconds and draw the Poisson realisation."""
    n = int(np.ceil(duration / BASE_CADENCE))
    times = np.arange(n, dtype=np.float64) * BASE_CADENCE
    background = background_rate() * BASE_CADENCE
    incident = flare.rate(times + BASE_CADENCE / 2) * BASE_CADENCE if flare else np.zeros((n, 32))
    rcr = rate_control(incident, background) if flare else np.zeros(n, dtype=np.int64)
    expected = background[None, :] + incident * regime_factors(rcr)
    counts = rng.poisson(expected).astype(np.int64)
    excess_thermal = incident[:, 1:7].sum(axis=1)
    excess_nonthermal = incident[:, 17:23].sum(axis=1)
    thermal = np.searchsorted([2.0e3, 2.0e4, 2.0e5], excess_thermal, side="right").astype(np.int64)
    nonthermal = np.searchsorted([3.0e2, 3.0e3, 3.0e4], excess_nonthermal, side="right").astype(np.int64)
    status = (thermal > 0).astype(np.int64)
    if flare:
        jitter = rng.integers(-1, 2, size=(2, n))
        loc_z = np.where(status > 0, flare.location[0] + jitter[0], 0)
        loc_y = np.where(status > 0, flare.location[1] + jitter[1], 0)
    else:
        loc_z = loc_y = np.zeros(n, dtype=np.int64)
    return DayModel(
        times=times,
        expected=expected,
        incident_flare=incident,
        counts=counts,
        rcr=rcr,
        thermal_index=thermal,
        nonthermal_index=nonthermal,
        location_status=status,
        loc_z=loc_z.astype(np.int64),
        loc_y=loc_y.astype(np.int64),
        flare=flare,
        background=background,
    )
