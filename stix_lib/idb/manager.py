"""Choose the IDB version valid at a packet's on-board time.

Installed versions live under ``<root>/v<version>/idb.sqlite``; the on-board history comes from
``idbVersionHistory.json`` (default ``<root>/idbVersionHistory.json``).

Fallback for versions named by the history but not installed (documented behaviour):

1. the explicit mapping ``fallbacks`` (default :data:`DEFAULT_FALLBACKS`: 2.26.31 -> 2.26.32,
   2.26.36 and 2.26.38 -> 2.26.35, the closest layouts we have);
2. otherwise the newest installed version older than the missing one, else the oldest
   installed version.

Each distinct mapping is logged once per manager as a warning. Labels that are neither installed
nor in the history raise ``ValueError``. A forced version (label or path) overrides all lookups.

The manager holds only paths and settings; IDBs are opened lazily and cached per instance, and a
pickled manager carries only its paths (workers rebuild their own caches).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stix_lib.idb.database import IDB
from stix_lib.idb.version_history import VersionHistory, version_key

log = logging.getLogger(__name__)

HISTORY_FILE_NAME = "idbVersionHistory.json"

#: Versions named in the history that are not distributed, and the installed version to use.
DEFAULT_FALLBACKS: Mapping[str, str] = {
    "2.26.31": "2.26.32",
    "2.26.36": "2.26.35",
    "2.26.38": "2.26.35",
}


class IDBManager:
    """Access to the installed IDB versions, selected by on-board time.

    Parameters
    ----------
    root
        Directory holding ``v<version>/idb.sqlite`` folders.
    history_file
        The version history JSON; default ``<root>/idbVersionHistory.json``.
    force_version
        Use this version (label, or path of an ``idb.sqlite`` file or of its folder) for every
        lookup.
    fallbacks
        Mapping of missing version -> installed version (default :data:`DEFAULT_FALLBACKS`).
    """

    def __init__(
        self,
        root: Path | str,
        history_file: Path | str | None = None,
        *,
        force_version: str | Path | None = None,
        fallbacks: Mapping[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.history_file = Path(history_file) if history_file is not None else self.root / HISTORY_FILE_NAME
        self.fallbacks: dict[str, str] = dict(DEFAULT_FALLBACKS if fallbacks is None else fallbacks)
        self._lock = threading.RLock()
        self._history: VersionHistory | None = None
        self._installed: tuple[str, ...] | None = None
        self._idbs: dict[str, IDB] = {}
        self._logged: set[tuple[str, str]] = set()
        self._forced: str | Path | None = None
        self._forced_idb: IDB | None = None
        self.force_version = force_version

    # -- pickling: paths only ------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "history_file": self.history_file,
            "force_version": self._forced,
            "fallbacks": self.fallbacks,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["root"],
            state["history_file"],
            force_version=state["force_version"],
            fallbacks=state["fallbacks"],
        )

    def __repr__(self) -> str:
        return f"IDBManager(root={str(self.root)!r}, force_version={self._forced!r})"

    # -- forced version --------------------------------------------------------------------------------
    @property
    def force_version(self) -> str | Path | None:
        """The forced version (label or path) or ``None``."""
        return self._forced

    @force_version.setter
    def force_version(self, value: str | Path | None) -> None:
        with self._lock:
            self._forced = value
            self._forced_idb = None
            if isinstance(value, Path):
                path = value / "idb.sqlite" if value.is_dir() else value
                if not path.is_file():
                    raise ValueError(f"Version file {path} does not exist")
                self._forced_idb = IDB(path)
            elif value is not None and not self.has_version(value):
                raise ValueError(f"Version {value!r} is not installed under {self.root}")

    # -- what is installed -------------------------------------------------------------------------------
    @property
    def history(self) -> VersionHistory:
        """The version history (read on first use)."""
        with self._lock:
            if self._history is None:
                self._history = VersionHistory.from_file(self.history_file)
            return self._history

    @property
    def installed_versions(self) -> tuple[str, ...]:
        """Installed version labels, sorted by version number."""
        with self._lock:
            if self._installed is None:
                found = []
                if self.root.is_dir():
                    for path in self.root.glob("v*/idb.sqlite"):
                        label = path.parent.name[1:]
                        try:
                            version_key(label)
                        except ValueError:
                            continue
                        found.append(label)
                self._installed = tuple(sorted(found, key=version_key))
            return self._installed

    def has_version(self, label: str) -> bool:
        """True when ``<root>/v<label>/idb.sqlite`` exists."""
        return isinstance(label, str) and label in self.installed_versions

    # -- resolution --------------------------------------------------------------------------------------
    def resolve(self, label: str) -> str:
        """Return the installed version to use for ``label`` (see the module docstring).

        Raises
        ------
        ValueError
            ``label`` is neither installed nor named in the history, or nothing is installed.
        """
        if self.has_version(label):
            return label
        installed = self.installed_versions
        if not installed:
            raise ValueError(f"Version {label!r} requested but no IDB is installed under {self.root}")
        target = self.fallbacks.get(label)
        if target is None or not self.has_version(target):
            try:
                in_history = label in self.history.labels
            except ValueError:
                in_history = False
            if not in_history:
                raise ValueError(f"Version {label!r} is not installed and not in the IDB history")
            key = version_key(label)
            older = [v for v in installed if version_key(v) < key]
            target = older[-1] if older else installed[0]
        with self._lock:
            if (label, target) not in self._logged:
                self._logged.add((label, target))
                log.warning("IDB version %s is not installed under %s: using %s instead", label, self.root, target)
        return target

    def find_version(self, obt: float | None = None) -> str:
        """Return the history label valid at ``obt`` (OBT seconds; ``None`` -> the earliest).

        With a forced version, that version's label is returned for every time.
        """
        if self._forced is not None:
            return self._forced_label()
        return self.history.find(obt)

    def find_versions(self, obt: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """Vectorised :meth:`find_version`: history labels for an array of OBTs."""
        times = np.asarray(obt)
        if self._forced is not None:
            return np.full(times.shape, self._forced_label())
        history = self.history
        return np.asarray(history.labels)[history.interval_index(times)]

    def version_for(self, obt: float | None = None) -> str:
        """Return the installed version to use at ``obt`` (history label after fallback)."""
        if self._forced is not None:
            return self._forced_label()
        return self.resolve(self.find_version(obt))

    def versions_for(self, obt: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """Vectorised :meth:`version_for`: installed labels for an array of OBTs."""
        labels = self.find_versions(obt)
        if self._forced is not None or labels.size == 0:
            return labels
        unique, inverse = np.unique(labels, return_inverse=True)
        resolved = np.array([self.resolve(str(label)) for label in unique])
        return resolved[inverse].reshape(labels.shape)

    def _forced_label(self) -> str:
        if self._forced_idb is not None:
            return self._forced_idb.version or str(self._forced_idb.path)
        return str(self._forced)

    # -- IDB access --------------------------------------------------------------------------------------
    def get_idb(self, label: str | None = None, *, obt: float | None = None) -> IDB:
        """Return the (cached) IDB for a version label, or for the time ``obt``.

        Without arguments the version valid at the start of the history is used. A forced
        version wins over both arguments. The first request of a version loads it and warns if
        its ``IDB.version`` row differs from the folder name.

        Raises
        ------
        ValueError
            The version is unknown (see :meth:`resolve`).
        """
        with self._lock:
            if self._forced_idb is not None:
                return self._forced_idb
            if self._forced is not None:
                label = str(self._forced)
            elif label is None:
                label = self.version_for(obt)
            else:
                label = self.resolve(label)
            idb = self._idbs.get(label)
            if idb is None:
                idb = IDB(self.root / f"v{label}" / "idb.sqlite")
                self._idbs[label] = idb
                if idb.version and idb.version != label:
                    log.warning("IDB %s declares version %s in its IDB table", idb.path, idb.version)
            return idb

    def idb_for_time(self, obt: float) -> IDB:
        """Return the IDB to use for a packet with on-board time ``obt``."""
        return self.get_idb(obt=obt)

    def close(self) -> None:
        """Close every opened IDB."""
        with self._lock:
            for idb in self._idbs.values():
                idb.close()
            self._idbs.clear()
            if self._forced_idb is not None:
                self._forced_idb.close()
