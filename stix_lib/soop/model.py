"""SOOP and observation entries of the Solar Orbiter long-term plans (LTP), parsed from JSON.

Field names follow the SOOP Kitchen exports:

* an **observation** (``observations[]`` of ``SSTX_observation_timeline_export_*.json``):
  ``name`` (observation mode, e.g. ``STIX_BASIC``), ``experiment`` (``STIX``), ``socIds`` (list of
  unique ids), ``compositeId`` (object with ``obsType``; a top-level ``obsType`` is accepted too),
  ``startDate``, ``endDate`` (ISO UTC), optional ``comment``;
* a **SOOP** (``soops[]``): ``soopType`` (campaign name), ``encodedSoopType`` (short code),
  ``soopInstanceId``, ``startDate``, ``endDate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np


class SoopFileError(ValueError):
    """An LTP/SOOP JSON file cannot be used; the message names the file and the reason."""


def parse_utc(value: Any) -> np.datetime64:
    """ISO date (``Z``/offset or naive = UTC) as ``datetime64[ms]``.

    Raises
    ------
    ValueError
        If the value is not an ISO date.
    """
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[ms]")
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(moment, "ms")


@dataclass(frozen=True)
class Observation:
    """One STIX observation of an LTP."""

    name: str
    obs_type: str
    soc_ids: tuple[str, ...]
    start: np.datetime64
    end: np.datetime64
    experiment: str = "STIX"

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Observation:
        """Build from an ``observations[]`` entry (KeyError/ValueError on bad entries)."""
        composite = item.get("compositeId")
        obs_type = composite.get("obsType", "") if isinstance(composite, dict) else item.get("obsType", "")
        soc_ids = item.get("socIds") or []
        if isinstance(soc_ids, str):
            soc_ids = [soc_ids]
        return cls(
            name=str(item["name"]),
            obs_type=str(obs_type or ""),
            soc_ids=tuple(str(s) for s in soc_ids),
            start=parse_utc(item["startDate"]),
            end=parse_utc(item["endDate"]),
            experiment=str(item.get("experiment", "STIX")),
        )


@dataclass(frozen=True)
class Soop:
    """One SOOP (campaign) of an LTP."""

    soop_type: str
    encoded_soop_type: str
    instance_id: str
    start: np.datetime64
    end: np.datetime64

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Soop:
        """Build from a ``soops[]`` entry (KeyError/ValueError on bad entries)."""
        return cls(
            soop_type=str(item["soopType"]),
            encoded_soop_type=str(item.get("encodedSoopType", "")),
            instance_id=str(item.get("soopInstanceId", "")),
            start=parse_utc(item["startDate"]),
            end=parse_utc(item["endDate"]),
        )
