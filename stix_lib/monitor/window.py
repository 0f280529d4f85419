"""The stuck-backlog rule over a series of backlog samples.

STIXCore's monitor kept the last 9 samples of a 3-hourly cron and called the pipeline stuck when
all 9 were non-zero and non-decreasing and spanned at least one day. The monitor DAG samples every
15 minutes, so the rule is stated on time instead of on sample positions, and reduces to the
runbook's rule for 3-hourly samples:

* the **window** is the shortest run of most recent samples whose time span (newest minus oldest)
  is at least ``min_span``;
* the backlog is **stuck** when the window exists, holds at least ``min_samples`` samples (enough
  evidence; a monitor outage leaves gaps), every value in it is above zero and the values never
  decrease;
* the backlog made **progress** when the newest value is zero or any value in the window (or in
  the whole series while it is still shorter than ``min_span``) is below its predecessor;
* otherwise there is not enough evidence either way (**insufficient**): an open incident is
  neither confirmed nor resolved by such an evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class Sample:
    """One backlog observation.

    Attributes
    ----------
    at
        When it was taken (timezone-aware).
    backlog
        Open work at that time (TM files staged but not processed plus queued/running tasks).
    """

    at: datetime
    backlog: int


class Verdict(StrEnum):
    """Outcome of :func:`evaluate_window`."""

    STUCK = "stuck"
    PROGRESS = "progress"
    INSUFFICIENT = "insufficient"


@dataclass(frozen=True)
class WindowResult:
    """Verdict plus the window it was based on.

    Attributes
    ----------
    verdict
        :class:`Verdict`.
    window
        The samples of the window, oldest first (the whole series when it is shorter than the span).
    reason
        One line for logs and mails.
    """

    verdict: Verdict
    window: tuple[Sample, ...] = field(default=())
    reason: str = ""

    @property
    def span(self) -> timedelta:
        """Time between the oldest and the newest sample of the window."""
        return self.window[-1].at - self.window[0].at if self.window else timedelta(0)


def _first_decrease(samples: Sequence[Sample]) -> int | None:
    for index in range(1, len(samples)):
        if samples[index].backlog < samples[index - 1].backlog:
            return index
    return None


def evaluate_window(samples: Sequence[Sample], min_samples: int, min_span: timedelta) -> WindowResult:
    """Decide whether the backlog is stuck (see the module docstring for the rule).

    Parameters
    ----------
    samples
        Backlog samples in any order (sorted here by time).
    min_samples
        Minimum number of samples in the window (runbook: 9; setting ``monitor_window_samples``).
    min_span
        Minimum time span of the window (runbook: 1 day; setting ``monitor_window_min_span``).

    Returns
    -------
    WindowResult
        The verdict, the window and a reason.

    Raises
    ------
    ValueError
        If ``min_samples`` < 2 or ``min_span`` is not positive.
    """
    if min_samples < 2:
        raise ValueError(f"min_samples must be at least 2, got {min_samples}")
    if min_span <= timedelta(0):
        raise ValueError(f"min_span must be positive, got {min_span}")
    ordered = sorted(samples, key=lambda s: s.at)
    if not ordered:
        return WindowResult(Verdict.INSUFFICIENT, (), "no samples yet")
    newest = ordered[-1]
    start = None
    for index in range(len(ordered) - 1, -1, -1):
        if newest.at - ordered[index].at >= min_span:
            start = index
            break
    window = tuple(ordered[start:] if start is not None else ordered)
    if newest.backlog <= 0:
        return WindowResult(Verdict.PROGRESS, window, "backlog is empty")
    drop = _first_decrease(window)
    if drop is not None:
        before, after = window[drop - 1], window[drop]
        return WindowResult(
            Verdict.PROGRESS,
            window,
            f"backlog went down from {before.backlog} to {after.backlog} at {after.at.isoformat()}",
        )
    if start is None:
        return WindowResult(
            Verdict.INSUFFICIENT, window, f"samples span {newest.at - ordered[0].at}, less than {min_span}"
        )
    if len(window) < min_samples:
        return WindowResult(
            Verdict.INSUFFICIENT,
            window,
            f"only {len(window)} samples in the last {newest.at - window[0].at} (need {min_samples})",
        )
    if any(s.backlog <= 0 for s in window):
        return WindowResult(Verdict.PROGRESS, window, "backlog was empty within the window")
    return WindowResult(
        Verdict.STUCK,
        window,
        f"backlog non-zero and never decreasing for {newest.at - window[0].at} over {len(window)} samples "
        f"({window[0].backlog} -> {newest.backlog})",
    )
