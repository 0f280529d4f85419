"""ECC energy-calibration configurations from STIX-CONF, selected by date.

``<conf_dir>/ecc/ecc_conf_index.json`` lists configurations::

    [{"configuration": "ecc_cfg_1", "description": "...",
      "validityPeriodUTC": ["2000-01-01T00:00:00.000+00:00", "2136-02-07T08:11:44.778+00:00"]}]

Each configuration is a folder ``<conf_dir>/ecc/<configuration>/`` with the parameter files of
the external ECC programs (``ECC.cfg``, ``Bkg.cfg``, ``SynSpec.*``, …) and ``post_ecc.ini``, the
limits used after the post-fit (``Max_Gain_Prime``, ``Min_Gain_Prime``, ``Min_Gain`` and three
``[det, pix]`` ignore lists, section ``[DEFAULT]``).

The ECC programs write into their working directory, so every run gets a private copy of the
configuration: :meth:`EccConfigIndex.context` copies the folder into a fresh temporary directory,
yields it together with the parsed ``post_ecc.ini``, and always removes it afterwards (also when the
body raises).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from configparser import ConfigParser
from configparser import Error as ConfigParserError
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

INDEX_NAME = "ecc_conf_index.json"
POST_ECC_NAME = "post_ecc.ini"


class EccConfigError(ValueError):
    """An ECC configuration cannot be used; the message names the file/folder and the reason."""


@dataclass(frozen=True)
class PostEccConfig:
    """Limits from ``post_ecc.ini`` (defaults as in the STIX-CONF default configuration).

    Attributes
    ----------
    max_gain_prime, min_gain_prime
        Allowed range of the post-fit gain correction factor G'.
    min_gain
        Lowest allowed corrected gain (channels per keV).
    ignore_max_gain_prime, ignore_min_gain_prime, ignore_min_gain
        ``(detector, pixel)`` pairs exempt from the respective check; detectors are numbered 1–32
        and pixels 0–11, as in the post-fit table (``[30, 5]`` is detector 30, pixel 5).
    """

    max_gain_prime: float = 1.4
    min_gain_prime: float = 0.4
    min_gain: float = 0.4
    ignore_max_gain_prime: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    ignore_min_gain_prime: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    ignore_min_gain: frozenset[tuple[int, int]] = field(default_factory=frozenset)


@dataclass(frozen=True)
class EccContext:
    """A private working copy of one configuration.

    Attributes
    ----------
    name
        Configuration name (``ecc_cfg_1``), written to CAL products.
    path
        Temporary directory holding the copied configuration files; removed on exit.
    post
        Parsed ``post_ecc.ini``.
    """

    name: str
    path: Path
    post: PostEccConfig


def _pair_list(parser: ConfigParser, key: str, path: Path) -> frozenset[tuple[int, int]]:
    text = parser.get("DEFAULT", key, fallback="[]")
    try:
        items = json.loads(text)
        return frozenset((int(a), int(b)) for a, b in items)
    except (ValueError, TypeError) as exc:
        raise EccConfigError(f"{path}: {key} is not a list of [det, pix] pairs: {text!r}") from exc


def read_post_ecc(path: Path) -> PostEccConfig:
    """Parse a ``post_ecc.ini``; a missing file gives the defaults.

    Raises
    ------
    EccConfigError
        If the file is not an INI file or a value has the wrong type.
    """
    path = Path(path)
    parser = ConfigParser()
    if path.is_file():
        try:
            parser.read(path, encoding="utf-8")
        except ConfigParserError as exc:
            raise EccConfigError(f"{path}: not a valid INI file: {exc}") from exc
    else:
        logger.warning("no %s in %s: using default post-ECC limits", POST_ECC_NAME, path.parent)
    try:
        return PostEccConfig(
            max_gain_prime=parser.getfloat("DEFAULT", "Max_Gain_Prime", fallback=1.4),
            min_gain_prime=parser.getfloat("DEFAULT", "Min_Gain_Prime", fallback=0.4),
            min_gain=parser.getfloat("DEFAULT", "Min_Gain", fallback=0.4),
            ignore_max_gain_prime=_pair_list(parser, "Ignore_Max_Gain_Prime_Det_Pix_List", path),
            ignore_min_gain_prime=_pair_list(parser, "Ignore_Min_Gain_Prime_Det_Pix_List", path),
            ignore_min_gain=_pair_list(parser, "Ignore_Min_Gain_Det_Pix_List", path),
        )
    except ValueError as exc:
        if isinstance(exc, EccConfigError):
            raise
        raise EccConfigError(f"{path}: {exc}") from exc


def _utc_key(value: datetime | str) -> datetime:
    """Aware UTC datetime for comparisons (naive input is taken as UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class EccConfigIndex:
    """Date → ECC configuration lookup over ``<conf_dir>/ecc``.

    A missing or unreadable index is logged and gives an empty index (every lookup then finds
    nothing), as the CAL step is optional.

    Parameters
    ----------
    ecc_dir
        The folder holding ``ecc_conf_index.json`` and one sub-folder per configuration.
    """

    def __init__(self, ecc_dir: Path) -> None:
        self.ecc_dir = Path(ecc_dir)
        self.index_file = self.ecc_dir / INDEX_NAME
        self.configurations: list[dict[str, Any]] = self._load()

    @classmethod
    def from_conf_dir(cls, conf_dir: Path) -> EccConfigIndex:
        """Index of ``<conf_dir>/ecc`` (a STIX-CONF checkout)."""
        return cls(Path(conf_dir) / "ecc")

    def _load(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.index_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            logger.warning("no ECC configuration index at %s", self.index_file)
            return []
        except (ValueError, OSError) as exc:
            logger.error("ECC configuration index %s is not valid JSON: %s", self.index_file, exc)
            return []
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            logger.error("ECC configuration index %s is not a list of objects", self.index_file)
            return []
        return data

    def find(self, when: datetime | str | None = None) -> str | None:
        """Name of the configuration valid at ``when`` (first listed one if ``when`` is None).

        Returns None when nothing matches (validity interval inclusive at both ends).
        """
        if not self.configurations:
            return None
        if when is None:
            return str(self.configurations[0]["configuration"])
        instant = _utc_key(when)
        for entry in self.configurations:
            period = entry.get("validityPeriodUTC") or []
            if len(period) != 2:
                continue
            try:
                start, end = _utc_key(period[0]), _utc_key(period[1])
            except ValueError:
                logger.error("%s: bad validityPeriodUTC %r", self.index_file, period)
                continue
            if start <= instant <= end:
                return str(entry["configuration"])
        return None

    def has(self, name: str) -> bool:
        """True if the configuration folder exists."""
        return (self.ecc_dir / name).is_dir()

    def path_of(self, name: str) -> Path:
        """Folder of a configuration."""
        return self.ecc_dir / name

    @contextmanager
    def context(self, when: datetime | str | None = None, *, tmp_root: Path | None = None) -> Iterator[EccContext]:
        """Private copy of the configuration valid at ``when``; removed on exit, always.

        Parameters
        ----------
        when
            UTC date of the data.
        tmp_root
            Parent of the temporary directory (default: the system temp dir).

        Raises
        ------
        EccConfigError
            If no configuration is valid at ``when`` or its folder is missing.
        """
        name = self.find(when)
        if name is None:
            raise EccConfigError(f"No ECC configuration for {when} in {self.index_file}")
        source = self.path_of(name)
        if not source.is_dir():
            raise EccConfigError(f"ECC configuration folder {source} does not exist")
        work = Path(tempfile.mkdtemp(prefix=f"ecc_{name}_", dir=tmp_root))
        try:
            shutil.copytree(source, work, dirs_exist_ok=True)
            # STIX-CONF checkouts may be read-only; the programs write next to their config.
            for item in [work, *work.rglob("*")]:
                item.chmod(item.stat().st_mode | 0o200)
            post = read_post_ecc(work / POST_ECC_NAME)
            logger.debug("ECC context %s for %s in %s", name, when, work)
            yield EccContext(name=name, path=work, post=post)
        finally:
            shutil.rmtree(work, ignore_errors=True)
