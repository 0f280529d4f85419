"""TM files waiting for SPICE kernels: how many, and the oldest (ledger state ``waiting_kernels``).

They are not part of the monitor's backlog (processing cannot take them before kernels arrive, so
they would make a quiet pipeline look stuck); the monitor, its mails and ``stix-pipeline status``
show them on a line of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from stix_lib.db.schema import TMState, tm_files
from stix_lib.monitor.samples import aware


@dataclass(frozen=True)
class KernelWait:
    """TM files waiting for kernels.

    Attributes
    ----------
    count
        Files in state ``waiting_kernels``.
    oldest
        Name of the one received first (None when none waits).
    oldest_received
        When it was received (ledger ``received_at``, UTC).
    """

    count: int = 0
    oldest: str | None = None
    oldest_received: datetime | None = None

    def text(self, now: datetime | None = None) -> str:
        """``"N, oldest NAME received ISO (for H h)"`` or ``"none"``; the age only with ``now``."""
        if not self.count or self.oldest_received is None:
            return "none"
        since = self.oldest_received.isoformat(timespec="seconds")
        age = ""
        if now is not None:
            age = f" ({(aware(now) - self.oldest_received).total_seconds() / 3600:.1f} h ago)"
        return f"{self.count}, oldest {self.oldest} received {since}{age}"

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "count": self.count,
            "oldest": self.oldest,
            "oldest_received": None if self.oldest_received is None else self.oldest_received.isoformat(),
        }


def waiting_for_kernels(engine: Engine) -> KernelWait:
    """Count the TM files waiting for kernels and find the one received first.

    Parameters
    ----------
    engine
        Pipeline database.

    Returns
    -------
    KernelWait
    """
    waiting = tm_files.c.state == TMState.WAITING_KERNELS.value
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(tm_files).where(waiting)).scalar_one()
        oldest = conn.execute(
            select(tm_files.c.name, tm_files.c.received_at)
            .where(waiting)
            .order_by(tm_files.c.received_at, tm_files.c.name)
            .limit(1)
        ).first()
    if oldest is None:
        return KernelWait()
    return KernelWait(int(count), oldest.name, aware(oldest.received_at))
