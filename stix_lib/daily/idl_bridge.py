"""The IDL bridge of the ANC aspect product: one subprocess call per batch of HK files.

STIXCore runs an STX-GSW script in a licensed IDL (through ``hissw``; operations spec §8.5). Here
the IDL side is an external command, the ``idl_executable`` setting (split like a shell command
line), so that the licensed environment (IDL, SolarSoft, STX-GSW at ``idl_gsw_path``) is set up
by a wrapper the operators own. Protocol of one call:

1. a fresh work directory below ``<log_dir>/idl-aspect`` (kept, and named in the error, when the call
   fails);
2. ``input.json`` in it::

       {"protocol": 1, "task": "stx_anc_aspect", "gsw_path": "<idl_gsw_path>",
        "hk_files": [{"name": "<HK file name>", "path": "<absolute path>",
                      "data": {"cha_diode0": [...], ..., "error": [...]}}, ...]}

   ``data`` holds the columns of :data:`stix_lib.daily.aspect_table.INPUT_COLUMNS` (non-finite
   numbers as ``null``);
3. the command is run as ``<idl_executable> <work>/input.json <work>/output.json`` with the work
   directory as current directory and ``STIX_IDL_GSW_PATH`` in its environment, stdout/stderr
   captured, at most ``idl_timeout`` (the whole process group is killed on timeout);
4. it must exit 0 and leave ``output.json``::

       {"idlgswversion": "<STX-GSW version>",
        "processed_files": [{"name": "<HK file name>", "y_srf": [...], "z_srf": [...],
                             "sas_ok": [...], "error": [...]},          # one value per row
                            {"name": "<HK file name>", "fatal_error": "<why>"}, ...]}

   ``y_srf``/``z_srf`` in arcsec (``null`` = no solution), ``sas_ok`` booleans (or 0/1),
   ``error`` strings; ``fatal_error`` marks a file IDL could not process (STIXCore's
   ``FATAL_IDL_ERROR``).

A non-zero exit, a timeout, a missing or unparsable result, or a result that does not match the
batch fails the whole batch (:class:`IdlBatchError`, naming its HK files); a file that is absent
from an otherwise valid result, or marked ``fatal_error``, fails alone. A failed file never
produces a product.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stix_lib.daily.aspect_table import AspectInput
from stix_lib.settings import Settings

log = logging.getLogger(__name__)

PROTOCOL = 1
TASK = "stx_anc_aspect"
INPUT_NAME = "input.json"
OUTPUT_NAME = "output.json"
GSW_ENV = "STIX_IDL_GSW_PATH"
#: Folder below ``log_dir`` holding the work directories of IDL calls (failed ones are kept there).
WORK_FOLDER = "idl-aspect"
#: Characters of captured output quoted in an error.
OUTPUT_TAIL = 2000


class IdlBridgeError(RuntimeError):
    """The IDL bridge is not usable (not configured, command missing)."""


class IdlBatchError(RuntimeError):
    """One IDL call failed; no file of its batch gets a product.

    Attributes
    ----------
    files
        Names of the HK files of the batch.
    work_dir
        The kept work directory of the call (input, output, for inspection), if any.
    """

    def __init__(self, message: str, files: Sequence[str], work_dir: Path | None = None) -> None:
        names = ", ".join(files)
        where = f" (work dir kept: {work_dir})" if work_dir is not None else ""
        super().__init__(f"IDL aspect batch of {len(files)} HK file(s) [{names}] failed: {message}{where}")
        self.files = list(files)
        self.work_dir = work_dir


@dataclass
class FileSolution:
    """The aspect solution of one HK file, one value per DATA row.

    Attributes
    ----------
    y_srf, z_srf
        Sun centre in the spacecraft reference frame, arcsec (``NaN`` = no solution).
    sas_ok
        Whether the SAS solution is valid.
    error
        Per-row error text from STX-GSW (``""`` when none).
    """

    y_srf: npt.NDArray[np.float64]
    z_srf: npt.NDArray[np.float64]
    sas_ok: npt.NDArray[np.bool_]
    error: npt.NDArray[np.str_]


@dataclass
class BatchResult:
    """What one IDL call returned.

    Attributes
    ----------
    gsw_version
        STX-GSW version reported by the IDL side (header ``STX_GSW``).
    solutions
        HK file name -> its solution.
    failed
        HK file name -> why IDL could not process it (no product for it).
    """

    gsw_version: str
    solutions: dict[str, FileSolution] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _tail(text: str | bytes | None) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text if len(text) <= OUTPUT_TAIL else "..." + text[-OUTPUT_TAIL:]


def _floats(values: Any, rows: int, what: str) -> npt.NDArray[np.float64]:
    if not isinstance(values, list) or len(values) != rows:
        raise ValueError(f"{what}: expected a list of {rows} values")
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: not numbers ({exc})") from None


def _flags(values: Any, rows: int, what: str) -> npt.NDArray[np.bool_]:
    if not isinstance(values, list) or len(values) != rows:
        raise ValueError(f"{what}: expected a list of {rows} values")
    if not all(isinstance(v, bool) or (isinstance(v, int) and v in (0, 1)) for v in values):
        raise ValueError(f"{what}: expected booleans or 0/1")
    return np.array([bool(v) for v in values], dtype=bool)


def _texts(values: Any, rows: int, what: str) -> npt.NDArray[np.str_]:
    if values is None:
        return np.full(rows, "", dtype=str)
    if not isinstance(values, list) or len(values) != rows:
        raise ValueError(f"{what}: expected a list of {rows} values")
    return np.array(["" if v is None else str(v) for v in values], dtype=str)


def parse_result(document: Any, batch: Sequence[AspectInput]) -> BatchResult:
    """Check and convert the ``output.json`` content of a batch.

    Raises
    ------
    ValueError
        If the document does not follow the protocol (module docstring) for this batch.
    """
    if not isinstance(document, dict):
        raise ValueError("result is not a JSON object")
    version = document.get("idlgswversion")
    if not isinstance(version, str) or not version.strip():
        raise ValueError("result has no 'idlgswversion'")
    entries = document.get("processed_files")
    if not isinstance(entries, list):
        raise ValueError("result has no 'processed_files' list")
    rows = {item.hk_path.name: len(item) for item in batch}
    result = BatchResult(version.strip())
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name not in rows:
            raise ValueError(f"result names a file that is not in the batch: {name!r}")
        if name in result.solutions or name in result.failed:
            raise ValueError(f"result lists {name} twice")
        if entry.get("fatal_error"):
            result.failed[name] = f"IDL could not process it: {entry['fatal_error']}"
            continue
        count = rows[name]
        result.solutions[name] = FileSolution(
            y_srf=_floats(entry.get("y_srf"), count, f"{name} y_srf"),
            z_srf=_floats(entry.get("z_srf"), count, f"{name} z_srf"),
            sas_ok=_flags(entry.get("sas_ok"), count, f"{name} sas_ok"),
            error=_texts(entry.get("error"), count, f"{name} error"),
        )
    for name in rows:
        if name not in result.solutions and name not in result.failed:
            result.failed[name] = "IDL returned no result for it"
    return result


@dataclass
class IdlBridge:
    """Runs the configured IDL command on batches of aspect inputs (protocol: module docstring).

    Parameters
    ----------
    command
        The command (``idl_executable`` split like a shell command line).
    gsw_path
        STX-GSW path (``idl_gsw_path``), passed in the input and as ``STIX_IDL_GSW_PATH``.
    timeout
        Longest run of one call.
    batch_size
        HK files per call.
    work_root
        Where work directories are made (default: the system temp directory).
    """

    command: list[str]
    gsw_path: str
    timeout: timedelta = timedelta(hours=1)
    batch_size: int = 20
    work_root: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings, work_root: Path | None = None) -> IdlBridge:
        """The bridge of ``idl_executable``, ``idl_gsw_path``, ``idl_timeout`` and ``idl_batchsize``.

        Work directories go to ``work_root``, default ``<log_dir>/idl-aspect``.

        Raises
        ------
        IdlBridgeError
            If ``idl_executable`` is empty or ``idl_batchsize`` is not positive.
        """
        command = shlex.split(str(settings.idl_executable or ""))
        if not command:
            raise IdlBridgeError(
                f"idl_gsw_path is set ({settings.idl_gsw_path}) but idl_executable is empty: "
                "no command to run the IDL aspect solution"
            )
        if int(settings.idl_batchsize) < 1:
            raise IdlBridgeError(f"idl_batchsize must be at least 1, not {settings.idl_batchsize}")
        root = work_root if work_root is not None else Path(settings.log_dir) / WORK_FOLDER
        return cls(command, str(settings.idl_gsw_path), settings.idl_timeout, int(settings.idl_batchsize), root)

    def batches(self, inputs: Sequence[AspectInput]) -> list[list[AspectInput]]:
        """``inputs`` cut into batches of at most ``batch_size``, in order."""
        size = max(1, int(self.batch_size))
        return [list(inputs[i : i + size]) for i in range(0, len(inputs), size)]

    def run(self, batch: Sequence[AspectInput]) -> BatchResult:
        """One IDL call for ``batch``.

        Raises
        ------
        IdlBatchError
            Non-zero exit, timeout, command not found, missing/unparsable/mismatching result.
        """
        names = [item.hk_path.name for item in batch]
        if len(set(names)) != len(names):
            raise IdlBatchError("the batch holds two files of the same name", names)
        if self.work_root is not None:
            Path(self.work_root).mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="stix-idl-aspect-", dir=self.work_root))
        document = {
            "protocol": PROTOCOL,
            "task": TASK,
            "gsw_path": self.gsw_path,
            "hk_files": [
                {"name": item.hk_path.name, "path": str(item.hk_path.resolve()), "data": item.records()}
                for item in batch
            ],
        }
        source, target = work / INPUT_NAME, work / OUTPUT_NAME
        source.write_text(json.dumps(document))
        argv = [*self.command, str(source), str(target)]
        env = {**os.environ, GSW_ENV: self.gsw_path}
        seconds = self.timeout.total_seconds()
        log.info("IDL aspect: %d HK file(s), running %s", len(batch), shlex.join(argv))
        try:
            process = subprocess.Popen(  # noqa: S603 - the configured bridge command, no shell
                argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
            )
        except OSError as exc:
            raise IdlBatchError(f"cannot start {argv[0]!r}: {exc}", names, work) from exc
        try:
            stdout, stderr = process.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # the group is already gone
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise IdlBatchError(f"timed out after {self.timeout} ({_output(stdout, stderr)})", names, work) from None
        if stdout:
            log.info("IDL aspect output:\n%s", _tail(stdout))
        if process.returncode != 0:
            raise IdlBatchError(f"exit status {process.returncode} ({_output(stdout, stderr)})", names, work)
        try:
            result = parse_result(json.loads(target.read_text()), batch)
        except FileNotFoundError:
            raise IdlBatchError(f"no result file {OUTPUT_NAME} ({_output(stdout, stderr)})", names, work) from None
        except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise IdlBatchError(f"unusable result {OUTPUT_NAME}: {exc}", names, work) from None
        shutil.rmtree(work, ignore_errors=True)
        return result


def _output(stdout: bytes | None, stderr: bytes | None) -> str:
    parts = [f"{label}: {_tail(text)}" for label, text in (("stderr", stderr), ("stdout", stdout)) if _tail(text)]
    return "; ".join(parts) if parts else "no output"
