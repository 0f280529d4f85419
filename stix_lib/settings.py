"""Pipeline settings: one typed object, read from a TOML file plus environment overrides.

Resolution order (later wins):

1. the defaults documented on each field of :class:`Settings`;
2. a TOML file: the path given to :func:`load_settings`, else ``$STIX_CONFIG`` if set
   (keys are the field names, optionally grouped in tables that are simply flattened, e.g.
   ``[paths] data_root = "/data/stix"``);
3. environment variables ``STIX_<FIELD NAME IN UPPER CASE>`` (e.g. ``STIX_DATA_ROOT``,
   ``STIX_REFERENCE_DATA``, ``STIX_STAGING_DELAY``).

Folder fields left empty derive from ``data_root`` (layout mirrors the STIXCore runbook, see
:data:`FOLDER_DEFAULTS`). Durations accept seconds or ``<n><unit>`` with unit ``s``, ``min``,
``h``, ``d`` (``"2d"``, ``"90min"``). Lists accept a comma separated string.

Remote endpoints (the SOC exchange host, SMTP, the pipeline database in production, the SOAR
target host) are Airflow Connections, named by the ``*_conn_id`` fields; the library itself never
reads Airflow.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "STIX_"
CONFIG_ENV = "STIX_CONFIG"

#: Folder fields and their location relative to ``data_root`` when not set explicitly.
FOLDER_DEFAULTS: dict[str, str] = {
    "soc_incoming_dir": "SOLSOC/from_edds/tm/incoming",
    "soc_processing_dir": "SOLSOC/from_edds/tm/processing",
    "from_soc_dir": "SOLSOC/from_soc",
    "spice_dir": "spice",
    "idb_dir": "idb",
    "conf_dir": "STIX-CONF",
    "fits_archive_dir": "fits",
    "soar_target_dir": "out/esa",
    "soar_conflicts_dir": "out/esa_conflicts",
    "nas_mirror_dir": "nas/stixcore_fits",
    "quarantine_dir": "quarantine",
    "log_dir": "logs",
}

#: Default of the folder fields: "derive from ``data_root``" (compared by identity; ``None`` means the same).
DERIVED: Path = Path("<derived from data_root>")

_DURATION_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting and its source."""


@dataclass(frozen=True)
class Settings:
    """All settings of the STIX pipeline.

    Attributes
    ----------
    data_root
        Root of all pipeline data (``/data/stix`` in production). Default ``./stix-data-root``.
    reference_data
        The shared real STIX reference data (IDBs, telemetry, reference L1, SPICE, STIX-CONF).
        Environment ``STIX_REFERENCE_DATA``; default ``../shared/stix-data``.
    soc_incoming_dir
        Where ingested telemetry XML lands (runbook ``from_edds/tm/incoming``).
    soc_processing_dir
        Telemetry released by the staging step (runbook ``from_edds/tm/processing``).
    from_soc_dir
        Mirror of the SOC ``from_soc`` tree: SPICE kernel zips and SOOP files.
    spice_dir
        Unzipped SPICE kernel tree (``ck, fk, ... mk``).
    idb_dir
        IDB versions, ``v<version>/idb.sqlite``, plus ``idbVersionHistory.json``.
    conf_dir
        STIX-CONF working copy (git checkout of the latest tag, ``VERSION.TXT``).
    fits_archive_dir
        The FITS product archive (``LB/``, ``L0/``, ``L1/``, ...).
    soar_target_dir
        SOAR delivery directory (on ``soar_host`` or local).
    soar_conflicts_dir
        Where products with more than two supplements are parked.
    nas_mirror_dir
        FITS mirror on the NAS (local path, or remote path on ``nas_host``).
    quarantine_dir
        Bad input files are moved here with a ``.reason`` text file next to them.
    log_dir
        Pipeline logs and reports.
    rid_lut_file
        Science request-id lookup table (CSV). Default ``<data_root>/publish/rid_lut.csv``.
    rid_lut_update_url
        Data-center API for RID LUT updates.
    pipeline_db_url
        SQLAlchemy URL of the pipeline database. Default SQLite file ``<data_root>/pipeline.sqlite``.
        In Airflow the connection ``pipeline_db_conn_id`` takes precedence when it exists.
    tm_source
        Where the SOC exchange publishes telemetry: a remote directory on the SSH connection
        ``soc_ssh_conn_id`` or, when ``tm_source_local`` is true, a local directory.
    tm_source_local
        Treat ``tm_source`` as a local directory (demo, tests).
    tm_pattern
        Glob of telemetry files to ingest.
    tm_settle_time
        A pulled TM file that is not complete XML (truncated) is taken to be still being written at
        the source while its modification time is younger than this: it is left out of
        ``incoming/`` and pulled again on the next run. Older truncated files are quarantined.
        Default 1 h.
    watch_interval
        How often the triggerer's folder watchers list ``tm_source`` and ``from_soc_source`` for
        new or changed files (``stix_ops.triggers.folder``). Default 10 s.
    staging_delay
        Release a TM file to processing when it is older than this (runbook: 2 days), or earlier
        once the flown SPICE kernels cover its on-board time range. The age is counted from the
        ledger's ``received_at`` (when ingest pulled the file), not from the file's mtime.
    from_soc_source
        The SOC ``from_soc`` tree (SPICE kernel zips, SOOP files): a remote directory on the SSH
        connection ``soc_ssh_conn_id`` or, when ``from_soc_source_local`` is true, a local
        directory. Its content is mirrored into ``from_soc_dir`` (runbook
        ``/home/solsoc/from_soc``).
    from_soc_source_local
        Treat ``from_soc_source`` as a local directory (demo, tests).
    spice_zip_pattern
        Glob (on the file name, anywhere below ``from_soc_dir``) of the kernel zips to unzip into
        ``spice_dir`` (runbook ``solo_ANC*20*zip``).
    conf_repo_url
        Git remote of STIX-CONF, cloned into ``conf_dir`` when that is missing
        (default ``https://github.com/i4Ds/STIX-CONF.git``; a local path works too).
    conf_public_dir
        The public STIX-CONF copy (runbook: ``/var/www/data/STIX-CONF``, cron C4a): a second
        working copy of the latest tag, synced by ``stix_conf_sync`` every 4 hours; relative paths
        are below ``data_root``; empty (default): no public copy.
    transfer_timeout
        Upper limit for one rsync command (default 1 h).
    transfer_io_timeout
        rsync ``--timeout``: give up when no data moved for this long (default 5 min).
    ssh_connect_timeout
        SSH ``ConnectTimeout`` for remote endpoints (default 30 s).
    publish_waiting_period
        Age a product must reach before SOAR publishing (STIXCore code default 14 days).
    publish_ll_waiting_period
        Age gate for low-latency levels (``LL*``).
    publish_future_guard
        Products starting further than this in the future are never published.
    publish_batch_size
        Maximum number of files per publishing run; ``-1`` for no limit.
    publish_stixpy_check
        The publish gate also opens every L1 product with stixpy (``stix_lib.publish.gate``);
        products stixpy cannot load are parked, not delivered (default on).
    publish_conservation_check
        The publish gate also checks that every science count product (L0/L1 of rpd, cpd, scpd,
        vis, spec) holds exactly the counts of its packets, read from its LB parent in the archive
        (``stix_lib.validate.conservation``); a product that fails or cannot be checked is parked
        (default on).
    request_incomplete_alert
        A science request still incomplete (packets missing) this long after its TM file was
        processed is reported by mail as a data problem (default 3 days).
    soar_host
        SOAR target host; empty or ``localhost`` means a local copy.
    nas_host
        NAS host for the FITS mirror; empty means a local path. When set, the mirror goes over SSH
        with port, login, key and pinned host key from the connection ``nas_ssh_conn_id`` (whose
        own host, if set, must match).
    alert_from
        Sender address of pipeline mails.
    alert_to
        Recipients of failure alerts and reports.
    monitor_window_samples
        Stuck-pipeline monitor: number of backlog samples in the window (runbook: 9).
    monitor_window_min_span
        Stuck-pipeline monitor: the window must span at least this long (runbook: 1 day).
    monitor_poll_interval
        Stuck-pipeline monitor: time between the watch's passes in the triggerer (the old cron
        period, 15 min).
    processing_deadline
        A processing run older than this counts as stuck.
    airflow_api_url
        Airflow REST API base URL used by ``stix-pipeline status`` and the monitor.
    airflow_api_user
        User for the Airflow REST API; the password is read from ``STIX_AIRFLOW_API_PASSWORD``.
    ecc_path
        Directory of the external ECC energy-calibration programs; empty disables CAL.
    idl_gsw_path
        STX-GSW path for the IDL aspect bridge; empty disables the ANC aspect product.
    idl_executable
        Command of the IDL aspect bridge (split like a shell command line): it is run with the
        batch's input JSON and the result JSON path appended, in a per-batch work directory,
        with ``STIX_IDL_GSW_PATH`` set (protocol: :mod:`stix_lib.daily.idl_bridge`). Needed once
        ``idl_gsw_path`` is set; without it due aspect inputs fail the daily task.
    idl_batchsize
        L1 ``hk-maxi`` files per IDL call (STIXCore ``[IDLBridge] batchsize``). Default 20.
    idl_timeout
        Longest run of one IDL call; a batch exceeding it fails (no product). Default 1 h.
    processing_version
        Product processing version written into file names (``_V02``).
    mission_time_margin_before_launch
        Packets timed before the launch (2020-02-10) minus this are reported and not turned into
        products (OBT 0, corrupted or unsynchronised clocks, ground tests). Default 30 d; raise it
        to process pre-launch ground-test data such as ``moc_test`` (2019-11-27).
    mission_time_margin_after_now
        Packets timed after now plus this are reported and not turned into products. Default 2 d.
    spice_zip_max_ratio
        A kernel zip member expanding more than this many times its compressed size is refused
        (zip bomb). Default 200 (SPICE kernels compress 2-20 times).
    spice_zip_max_total
        Most bytes one kernel zip may expand to in total; a larger zip is refused. Default 50 GiB.
    soc_ssh_conn_id, smtp_conn_id, pipeline_db_conn_id, soar_conn_id, nas_ssh_conn_id
        Airflow connection ids of the remote endpoints.
    """

    data_root: Path = Path("stix-data-root")
    reference_data: Path = Path("../shared/stix-data")

    soc_incoming_dir: Path = DERIVED
    soc_processing_dir: Path = DERIVED
    from_soc_dir: Path = DERIVED
    spice_dir: Path = DERIVED
    idb_dir: Path = DERIVED
    conf_dir: Path = DERIVED
    fits_archive_dir: Path = DERIVED
    soar_target_dir: Path = DERIVED
    soar_conflicts_dir: Path = DERIVED
    nas_mirror_dir: Path = DERIVED
    quarantine_dir: Path = DERIVED
    log_dir: Path = DERIVED
    rid_lut_file: Path = DERIVED

    rid_lut_update_url: str = "https://datacenter.stix.i4ds.net/api/bsd/info/"
    pipeline_db_url: str = ""

    tm_source: str = "/home/solmoc/from_edds/tm"
    tm_source_local: bool = False
    tm_pattern: str = "*PktTmRaw*.xml"
    tm_settle_time: timedelta = timedelta(hours=1)
    watch_interval: timedelta = timedelta(seconds=10)

    staging_delay: timedelta = timedelta(days=2)

    from_soc_source: str = "/home/solsoc/from_soc"
    from_soc_source_local: bool = False
    spice_zip_pattern: str = "solo_ANC*20*zip"
    conf_repo_url: str = "https://github.com/i4Ds/STIX-CONF.git"
    conf_public_dir: Path | None = None

    transfer_timeout: timedelta = timedelta(hours=1)
    transfer_io_timeout: timedelta = timedelta(minutes=5)
    ssh_connect_timeout: timedelta = timedelta(seconds=30)
    publish_waiting_period: timedelta = timedelta(days=14)
    publish_ll_waiting_period: timedelta = timedelta(minutes=1)
    publish_future_guard: timedelta = timedelta(days=7)
    publish_batch_size: int = -1
    publish_stixpy_check: bool = True
    publish_conservation_check: bool = True
    request_incomplete_alert: timedelta = timedelta(days=3)
    soar_host: str = ""
    nas_host: str = ""

    alert_from: str = "stix-pipeline@localhost"
    alert_to: tuple[str, ...] = ()

    monitor_window_samples: int = 9
    monitor_window_min_span: timedelta = timedelta(days=1)
    monitor_poll_interval: timedelta = timedelta(minutes=15)
    processing_deadline: timedelta = timedelta(hours=6)

    airflow_api_url: str = "http://127.0.0.1:8080"
    airflow_api_user: str = "admin"

    ecc_path: str = ""
    idl_gsw_path: str = ""
    idl_executable: str = ""
    idl_batchsize: int = 20
    idl_timeout: timedelta = timedelta(hours=1)
    processing_version: int = 2
    mission_time_margin_before_launch: timedelta = timedelta(days=30)
    mission_time_margin_after_now: timedelta = timedelta(days=2)
    spice_zip_max_ratio: int = 200
    spice_zip_max_total: int = 50 * 1024**3

    soc_ssh_conn_id: str = "stix_soc"
    smtp_conn_id: str = "smtp_default"
    pipeline_db_conn_id: str = "stix_pipeline_db"
    soar_conn_id: str = "stix_soar"
    nas_ssh_conn_id: str = "stix_nas"

    sources: tuple[str, ...] = field(default=(), compare=False, repr=False)
    #: Names of the fields whose value was derived from ``data_root`` (set by ``__post_init__``).
    derived: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        root = Path(self.data_root).expanduser()
        object.__setattr__(self, "data_root", root)
        object.__setattr__(self, "reference_data", Path(self.reference_data).expanduser())
        derived: set[str] = set()
        defaults = {**FOLDER_DEFAULTS, "rid_lut_file": "publish/rid_lut.csv"}
        for name, rel in defaults.items():
            value = getattr(self, name)
            if value is None or value is DERIVED:
                object.__setattr__(self, name, root / rel)
                derived.add(name)
        if self.conf_public_dir is not None and not Path(self.conf_public_dir).expanduser().is_absolute():
            object.__setattr__(self, "conf_public_dir", root / self.conf_public_dir)
            derived.add("conf_public_dir")
        if not self.pipeline_db_url:
            object.__setattr__(self, "pipeline_db_url", f"sqlite:///{(root / 'pipeline.sqlite').absolute()}")
            derived.add("pipeline_db_url")
        object.__setattr__(self, "derived", frozenset(derived))

    # -- derived helpers -------------------------------------------------------------------
    def folders(self) -> dict[str, Path]:
        """Return every data folder by field name."""
        return {name: getattr(self, name) for name in FOLDER_DEFAULTS}

    def ensure_folders(self) -> None:
        """Create every local data folder (idempotent)."""
        for path in self.folders().values():
            Path(path).mkdir(parents=True, exist_ok=True)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied.

        When ``data_root`` changes, every value that was derived from it (the folders left unset,
        ``rid_lut_file``, a relative ``conf_public_dir``, the default SQLite ``pipeline_db_url``)
        is derived again from the new root, unless ``changes`` sets it explicitly. Values that were
        set explicitly are kept.
        """
        if "data_root" in changes and Path(changes["data_root"]).expanduser() != self.data_root:
            for name in self.derived - changes.keys():
                if name == "conf_public_dir":
                    changes[name] = Path(self.conf_public_dir or "").relative_to(self.data_root)
                elif name == "pipeline_db_url":
                    changes[name] = ""
                else:
                    changes[name] = DERIVED
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain representation for logs and ``stix-pipeline config``; passwords in URLs are masked."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in {"sources", "derived"}:
                continue
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, timedelta):
                value = format_duration(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, str):
                value = mask_url_password(value)
            out[f.name] = value
        return out


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)[^@/\s]+@")


def mask_url_password(text: str) -> str:
    """``scheme://user:secret@host/...`` -> ``scheme://user:***@host/...`` (other text unchanged)."""
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


def parse_duration(text: str | int | float) -> timedelta:
    """Parse ``"2d"``, ``"90min"``, ``"30s"``, ``"1.5h"`` or a number of seconds.

    Raises
    ------
    ValueError
        If the text is not a duration.
    """
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]*)\s*", str(text).lower())
    if not match or match.group(2) not in {"", *_DURATION_UNITS}:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15min, 6h, 2d)")
    factor = _DURATION_UNITS.get(match.group(2), 1)
    return timedelta(seconds=float(match.group(1)) * factor)


def format_duration(value: timedelta) -> str:
    """Format a duration in the largest unit that divides it (inverse of :func:`parse_duration`)."""
    seconds = value.total_seconds()
    for unit, factor in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % factor == 0:
            return f"{int(seconds // factor)}{unit}"
    return f"{seconds:g}s"


def _convert(name: str, kind: Any, raw: Any, source: str) -> Any:
    try:
        text_kind = str(kind)
        if raw is None:
            return None
        if "Path" in text_kind:
            return Path(str(raw)) if str(raw) != "" else None
        if "timedelta" in text_kind:
            return parse_duration(raw)
        if "bool" in text_kind:
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(f"not a boolean: {raw!r}")
        if "tuple" in text_kind:
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        if "int" in text_kind:
            return int(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name!r} from {source}: {exc}") from exc


def _flatten(table: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value))
        else:
            flat[key] = value
    return flat


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build :class:`Settings` from defaults, a TOML file, the environment and keyword overrides.

    Parameters
    ----------
    config_file
        TOML file to read; defaults to ``$STIX_CONFIG`` when set, else no file.
    environ
        Environment to read ``STIX_*`` overrides from (default: ``os.environ``).
    **overrides
        Final values by field name (already typed or strings).

    Returns
    -------
    Settings
        The resolved settings; ``sources`` lists where values came from.

    Raises
    ------
    SettingsError
        Unknown keys in the file, or values that cannot be converted; the message names both.
    """
    env = os.environ if environ is None else environ
    hints = get_type_hints(Settings)
    known = {f.name for f in fields(Settings) if f.name not in {"sources", "derived"}}
    values: dict[str, Any] = {}
    sources: list[str] = ["defaults"]

    path = config_file if config_file is not None else env.get(CONFIG_ENV)
    if path:
        path = Path(path)
        try:
            with path.open("rb") as handle:
                table = _flatten(tomllib.load(handle))
        except FileNotFoundError as exc:
            raise SettingsError(f"settings file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from exc
        unknown = sorted(set(table) - known)
        if unknown:
            raise SettingsError(f"settings file {path}: unknown setting(s) {', '.join(unknown)}")
        for key, raw in table.items():
            values[key] = _convert(key, hints[key], raw, str(path))
        sources.append(str(path))

    for name in (f.name for f in fields(Settings) if f.name in known):
        env_name = ENV_PREFIX + name.upper()
        if env_name in env:
            values[name] = _convert(name, hints[name], env[env_name], f"${env_name}")
            sources.append(f"${env_name}")

    for name, raw in overrides.items():
        if name not in known:
            raise SettingsError(f"unknown setting {name!r}")
        values[name] = raw if not isinstance(raw, str) else _convert(name, hints[name], raw, "override")

    return Settings(**values, sources=tuple(sources))
