"""The mission time window: packet times a product may have.

A packet whose on-board time lies before the Solar Orbiter launch (2020-02-10) minus a margin, or
after *now* plus a margin, cannot be a flight measurement: OBT 0 (a clock not yet set), a
corrupted time, an unsynchronised clock (top coarse bit set: a value beyond 2068) or ground-test
data. Such packets are reported and never turned into products. The margins are the settings
``mission_time_margin_before_launch`` and ``mission_time_margin_after_now``.

The check works on the coarse SCET count, taken as seconds since 2000-01-01T00:00 UTC (the on-board
clock epoch). The clock kernel shifts this by seconds to minutes, far below any sensible margin,
so no SPICE kernel is needed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.settings import Settings

#: Solar Orbiter launch (2020-02-10 04:03 UTC).
LAUNCH = datetime(2020, 2, 10, 4, 3, tzinfo=UTC)
#: Epoch of the on-board clock (coarse count 0).
SCET_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _coarse(moment: datetime) -> int:
    return int((moment - SCET_EPOCH).total_seconds())


@dataclass(frozen=True)
class MissionWindow:
    """Packet times accepted for products: ``[launch - before_launch, now + after_now]``.

    Parameters
    ----------
    before_launch
        Margin before the launch.
    after_now
        Margin after the current time.
    now
        Fixed current time (tests); ``None``: the time of each check.
    """

    before_launch: timedelta
    after_now: timedelta
    now: datetime | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MissionWindow:
        """The window of the ``mission_time_margin_*`` settings."""
        return cls(settings.mission_time_margin_before_launch, settings.mission_time_margin_after_now)

    def bounds(self) -> tuple[datetime, datetime]:
        """First and last accepted UTC time."""
        now = self.now or datetime.now(UTC)
        return LAUNCH - self.before_launch, now + self.after_now

    def outside(self, scet_coarse: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True for coarse SCET counts outside the window."""
        first, last = self.bounds()
        coarse = np.asarray(scet_coarse, dtype=np.int64)
        return (coarse < _coarse(first)) | (coarse > _coarse(last))

    def reason(self, scet_coarse: int) -> str:
        """Why a packet of this coarse time is refused."""
        first, last = self.bounds()
        when = SCET_EPOCH + timedelta(seconds=int(scet_coarse))
        side = f"before launch - {self.before_launch}" if when < first else f"after now + {self.after_now}"
        return (
            f"time outside the mission: OBT {int(scet_coarse)} (~{when:%Y-%m-%d}) is {side} "
            f"(accepted {first:%Y-%m-%d} .. {last:%Y-%m-%d})"
        )


__all__ = ["LAUNCH", "SCET_EPOCH", "MissionWindow"]
