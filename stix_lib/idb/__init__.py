"""STIX instrument database (IDB): one version (:class:`IDB`) and time-based selection (:class:`IDBManager`).

Importing this package loads nothing; IDB files are opened on first query.
"""

from stix_lib.idb.database import IDB, IDBError
from stix_lib.idb.manager import DEFAULT_FALLBACKS, IDBManager
from stix_lib.idb.records import (
    CalibrationCurve,
    PacketTypeInfo,
    ParameterInfo,
    Polynomial,
    StructureEntry,
    TextualRange,
)
from stix_lib.idb.version_history import VersionHistory, version_key

__all__ = [
    "DEFAULT_FALLBACKS",
    "IDB",
    "CalibrationCurve",
    "IDBError",
    "IDBManager",
    "PacketTypeInfo",
    "ParameterInfo",
    "Polynomial",
    "StructureEntry",
    "TextualRange",
    "VersionHistory",
    "version_key",
]
