"""SOOP/observation keyword provider for L1+ FITS headers, from the LTP exports SOC delivers.

Input files
-----------
SOC delivers the STIX part of each long-term plan (LTP) as
``SSTX_observation_timeline_export_*.json`` into ``from_soc`` (``settings.from_soc_dir``)::

    {"info": {"name": "LTP09_Sep2022-Dec2022", "internalVersion": 3, ...},
     "observations": [{"name": "STIX_BASIC", "experiment": "STIX", "socIds": ["SSTX_..."],
                       "compositeId": {"obsType": "5Md2", ...},
                       "startDate": "2022-09-01T00:00:00Z", "endDate": "..."}, ...],
     "soops": [...]}                      # optional, older exports only

Only the highest ``internalVersion`` of each plan (``info.name``) is used. The all-instrument SOOP
list of a plan version is read from ``<plan>.<internalVersion>.all.json`` (top-level ``soops``
list) in ``download_dir`` (default: next to the export), plus any ``soops`` inside the export.

Not implemented (out of scope, documented): STIXCore downloads a missing ``*.all.json`` from the
SOOP Kitchen API (authenticate, then ``GET <endpoint>/plan/ote/<plan>/<version>``). This module
never uses the network; when the SOOP list of a plan is missing, one warning is logged and the
SOOP keywords of that period stay ``none`` (observation keywords still work). Put the
``*.all.json`` files next to the exports to get SOOP names.

Keywords
--------
:meth:`SoopManager.keywords` returns ``(keyword, value, comment)`` for ``OBS_MODE``
(observation ``name``), ``OBS_TYPE`` (``compositeId.obsType``), ``OBS_ID`` (``socIds``),
``SOOPNAME`` (``soopType``), ``SOOPTYPE`` (``encodedSoopType``) and ``TARGET`` (always ``none``:
the plans carry no target). Each value joins the distinct values of every entry overlapping the
time range, sorted, with ``;``; ``none`` when nothing overlaps.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stix_lib.soop.intervals import IntervalIndex
from stix_lib.soop.model import Observation, Soop, SoopFileError, parse_utc

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.settings import Settings

logger = logging.getLogger(__name__)

EXPORT_GLOB = "SSTX_observation_timeline_export_*.json"
EXPORT_REGEX = re.compile(r"^SSTX_observation_timeline_export_.*\.json$")
NONE_VALUE = "none"

#: Keyword order and comments of the header cards.
KEYWORD_COMMENTS: tuple[tuple[str, str], ...] = (
    ("OBS_MODE", "Observation mode"),
    ("OBS_TYPE", "Encoded version of OBS_MODE"),
    ("OBS_ID", "Unique ID of the individual observation"),
    ("SOOPNAME", "Name of the SOOP Campaign that the data belong to"),
    ("SOOPTYPE", "Campaign ID(s) that the data belong to"),
    ("TARGET", "Type of target from planning"),
)


@dataclass(frozen=True)
class LtpFile:
    """One indexed LTP export: the plan it belongs to and what it contributed."""

    path: Path
    plan: str
    version: int
    observations: tuple[Observation, ...]
    soops: tuple[Soop, ...]
    soop_source: Path | None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SoopFileError(f"{path}: cannot read: {exc}") from exc
    except ValueError as exc:
        raise SoopFileError(f"{path}: not valid JSON: {exc}") from exc


def _parse_entries(path: Path, items: Any, kind: str, parse: Any) -> list[Any]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise SoopFileError(f"{path}: '{kind}' is not a list")
    out = []
    for number, item in enumerate(items):
        try:
            out.append(parse(item))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SoopFileError(f"{path}: {kind}[{number}] is not usable: {exc!r}") from exc
    return out


def read_ltp_header(path: Path) -> tuple[str, int, dict[str, Any]]:
    """Plan name, internal version and the whole JSON document of an LTP export.

    Raises
    ------
    SoopFileError
        If the file is not JSON or lacks ``info.name`` / an integer ``info.internalVersion``.
    """
    document = _read_json(path)
    info = document.get("info") if isinstance(document, dict) else None
    if not isinstance(info, dict) or "name" not in info or "internalVersion" not in info:
        raise SoopFileError(f"{path}: missing info.name / info.internalVersion")
    try:
        version = int(info["internalVersion"])
    except (TypeError, ValueError) as exc:
        raise SoopFileError(f"{path}: info.internalVersion is not an integer: {info['internalVersion']!r}") from exc
    return str(info["name"]), version, document


def _as_utc(value: Any) -> np.datetime64:
    """datetime / astropy Time / numpy datetime64 / ISO string → ``datetime64[ms]`` UTC."""
    converted = getattr(value, "datetime64", None)  # astropy Time
    if converted is not None and not isinstance(value, np.datetime64):
        return np.datetime64(converted, "ms")
    if isinstance(value, datetime | np.datetime64 | str):
        return parse_utc(value)
    raise TypeError(f"not a time: {value!r}")


class SoopManager:
    """Index of the LTP exports in a folder; provides the SOOP header keywords.

    Parameters
    ----------
    soop_dir
        Folder searched (recursively by default) for ``SSTX_observation_timeline_export_*.json``.
        A missing folder gives an empty index (every keyword ``none``) and a warning.
    download_dir
        Where ``<plan>.<version>.all.json`` SOOP lists are looked up (default: the export's
        own folder).
    recursive
        Search sub-folders of ``soop_dir`` too.
    """

    def __init__(self, soop_dir: Path, *, download_dir: Path | None = None, recursive: bool = True) -> None:
        self.soop_dir = Path(soop_dir)
        self.download_dir = Path(download_dir) if download_dir is not None else None
        self.recursive = recursive
        self._plans: dict[str, LtpFile] = {}
        self._observations: IntervalIndex[Observation] = IntervalIndex([], [], [])
        self._soops: IntervalIndex[Soop] = IntervalIndex([], [], [])
        self.refresh()

    @classmethod
    def from_settings(cls, settings: Settings, soop_dir: Path | None = None) -> SoopManager:
        """Manager over ``soop_dir`` or, by default, ``settings.from_soc_dir``."""
        return cls(Path(soop_dir) if soop_dir is not None else Path(settings.from_soc_dir))

    # -- indexing ---------------------------------------------------------------------------
    def export_files(self) -> list[Path]:
        """All export files currently in the folder, sorted by name."""
        if not self.soop_dir.is_dir():
            return []
        found = self.soop_dir.rglob(EXPORT_GLOB) if self.recursive else self.soop_dir.glob(EXPORT_GLOB)
        return sorted((p for p in found if p.is_file()), key=lambda p: (p.name, str(p)))

    def refresh(self) -> None:
        """Re-scan the folder (e.g. after SOC delivered a new plan version)."""
        if not self.soop_dir.is_dir():
            logger.warning("SOOP folder %s does not exist: SOOP keywords will be 'none'", self.soop_dir)
        self._plans = {}
        for path in self.export_files():
            self._consider(path)
        self._rebuild()

    def add_file(self, path: Path) -> bool:
        """Index one new export file; returns True if it became the active version of its plan."""
        path = Path(path)
        if not EXPORT_REGEX.match(path.name):
            raise SoopFileError(f"{path}: not an SSTX_observation_timeline_export_*.json file")
        changed = self._consider(path)
        if changed:
            self._rebuild()
        return changed

    def _consider(self, path: Path) -> bool:
        try:
            plan, version, document = read_ltp_header(path)
        except SoopFileError as exc:
            logger.error("skipping SOOP file: %s", exc)
            return False
        current = self._plans.get(plan)
        if current is not None and current.version > version:
            logger.debug("%s: plan %s version %d superseded by %d", path, plan, version, current.version)
            return False
        try:
            entry = self._load(path, plan, version, document)
        except SoopFileError as exc:
            logger.error("skipping SOOP file: %s", exc)
            return False
        self._plans[plan] = entry
        return True

    def _load(self, path: Path, plan: str, version: int, document: dict[str, Any]) -> LtpFile:
        observations = [
            obs
            for obs in _parse_entries(path, document.get("observations"), "observations", Observation.from_json)
            if obs.experiment.upper() == "STIX"
        ]
        soops = _parse_entries(path, document.get("soops"), "soops", Soop.from_json)
        all_file = (self.download_dir or path.parent) / f"{plan}.{version}.all.json"
        source: Path | None = None
        if all_file.is_file():
            all_doc = _read_json(all_file)
            items = all_doc.get("soops") if isinstance(all_doc, dict) else None
            soops += _parse_entries(all_file, items, "soops", Soop.from_json)
            source = all_file
        elif not soops:
            logger.warning(
                "no SOOP list %s for plan %s version %d (the SOOP Kitchen download is not implemented): "
                "SOOPNAME/SOOPTYPE stay 'none' in its period",
                all_file,
                plan,
                version,
            )
        return LtpFile(path, plan, version, tuple(observations), tuple(soops), source)

    def _rebuild(self) -> None:
        observations = [obs for entry in self._plans.values() for obs in entry.observations]
        soops = [soop for entry in self._plans.values() for soop in entry.soops]
        self._observations = IntervalIndex([o.start for o in observations], [o.end for o in observations], observations)
        self._soops = IntervalIndex([s.start for s in soops], [s.end for s in soops], soops)

    # -- queries ----------------------------------------------------------------------------
    @property
    def plans(self) -> dict[str, LtpFile]:
        """Active export per plan name."""
        return dict(self._plans)

    @property
    def observation_count(self) -> int:
        """Number of indexed STIX observations."""
        return len(self._observations)

    @property
    def soop_count(self) -> int:
        """Number of indexed SOOPs."""
        return len(self._soops)

    def find_observations(self, start: Any, end: Any = None, *, mode: str | None = None) -> list[Observation]:
        """STIX observations overlapping ``[start, end]`` (or containing ``start``), optionally of one mode."""
        hits = self._observations.overlapping(_as_utc(start), None if end is None else _as_utc(end))
        if mode is not None:
            hits = [obs for obs in hits if obs.name == mode]
        return hits

    def find_soops(self, start: Any, end: Any = None) -> list[Soop]:
        """SOOPs overlapping ``[start, end]`` (or containing ``start``)."""
        return self._soops.overlapping(_as_utc(start), None if end is None else _as_utc(end))

    def keywords(self, utc_start: Any, utc_end: Any) -> list[tuple[str, str, str]]:
        """SOOP header cards for a product covering ``[utc_start, utc_end]`` (UTC).

        Returns
        -------
        list of (keyword, value, comment)
            ``OBS_MODE, OBS_TYPE, OBS_ID, SOOPNAME, SOOPTYPE, TARGET`` in this order; values are
            the sorted distinct values joined by ``;``, ``none`` when nothing overlaps.
        """
        observations = self.find_observations(utc_start, utc_end)
        soops = self.find_soops(utc_start, utc_end)
        values: dict[str, set[str]] = {
            "OBS_MODE": {o.name for o in observations},
            "OBS_TYPE": {o.obs_type for o in observations},
            "OBS_ID": {soc_id for o in observations for soc_id in o.soc_ids},
            "SOOPNAME": {s.soop_type for s in soops},
            "SOOPTYPE": {s.encoded_soop_type for s in soops},
            "TARGET": set(),
        }
        cards = []
        for keyword, comment in KEYWORD_COMMENTS:
            distinct = sorted(v for v in values[keyword] if v)
            cards.append((keyword, ";".join(distinct) if distinct else NONE_VALUE, comment))
        return cards
