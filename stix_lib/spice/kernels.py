"""Loading Solar Orbiter SPICE kernels: :class:`SpiceKernels`.

SPICE is a process-global C library; this module keeps no state of its own. A
:class:`SpiceKernels` object describes one kernel tree and makes SPICE hold exactly the latest
``[predicted, flown]`` meta kernels of it (loaded in that order after ``kclear``, so flown data
override predictions). Whether that is already the case is read back from SPICE itself
(``ktotal``/``kdata``), so loading the same set again — from the same or another object — costs
a directory listing and a few SPICE queries, not a reload. Between two full checks a kernel-pool
watcher (``swpool``/``cvpool`` on the leap-second and spacecraft-clock variables, notified by every
``kclear``, text-kernel load or unload) and the kernel count tell in two SPICE calls that nothing
changed.

Typical use::

    with SpiceKernels(kernel_dir, work_dir) as spice:
        utc = spice.scet_to_datetime64(time)

Leaving the ``with`` block keeps the kernels loaded (so the next block is cheap) unless
``unload_on_exit=True``; :meth:`SpiceKernels.unload` clears SPICE explicitly. Every conversion
re-checks that SPICE still holds this set and reloads it if someone else changed the pool. SPICE is
not thread-safe: use it from one thread per process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import numpy as np
import spiceypy
from numpy.typing import ArrayLike
from spiceypy.utils.exceptions import SpiceyError

from stix_lib.spice import clock
from stix_lib.spice.errors import SpiceKernelError, spice_error_reason
from stix_lib.spice.meta_kernels import MetaKernels, find_meta_kernels, rewrite_meta_kernel
from stix_lib.time.scet import SCETime

log = logging.getLogger(__name__)

#: NAIF id of Solar Orbiter (spacecraft clock and ephemeris).
SOLO_ID = -144

#: Kernel-pool variables watched between full checks: any ``kclear``, any (re)load or unload of a
#: text kernel, any meta kernel and any other LSK or SCLK notifies the watcher.
_WATCHED = ("DELTET/DELTA_AT", f"SCLK01_COEFFICIENTS_{-SOLO_ID}", "KERNELS_TO_LOAD")


def default_work_dir() -> Path:
    """Per-user folder in the system temp dir for rewritten meta kernels."""
    return Path(tempfile.gettempdir()) / f"stix-spice-{os.getuid()}"


def _loaded_meta_kernels() -> list[str]:
    return [spiceypy.kdata(i, "META")[0] for i in range(spiceypy.ktotal("META"))]


class SpiceKernels:
    """The latest predicted + flown meta kernels of a kernel tree, loaded into SPICE on demand.

    Parameters
    ----------
    kernel_dir
        Kernel tree root (``ck, fk, ik, lsk, mk, pck, sclk, spk`` folders).
    work_dir
        Where rewritten meta kernels are written (see
        :func:`~stix_lib.spice.meta_kernels.rewrite_meta_kernel`); default
        :func:`default_work_dir`.
    use_predicted
        Load the predicted MK below the flown one (operational default). ``False`` loads the flown
        MK only.
    unload_on_exit
        Clear SPICE when a ``with`` block ends.

    Raises
    ------
    SpiceKernelError
        From :meth:`load` when the tree has no meta kernel or none of them loads.
    """

    def __init__(
        self,
        kernel_dir: Path,
        work_dir: Path | None = None,
        *,
        use_predicted: bool = True,
        unload_on_exit: bool = False,
    ) -> None:
        self.kernel_dir = Path(kernel_dir).resolve()
        self.work_dir = Path(work_dir) if work_dir is not None else default_work_dir()
        self.use_predicted = use_predicted
        self.unload_on_exit = unload_on_exit
        self._selection: MetaKernels | None = None
        self._originals: tuple[Path, ...] = ()  # MKs that loaded, load order
        self._rewritten: tuple[str, ...] = ()  # their rewritten paths, as SPICE reports them
        self._kernel_count: int | None = None  # ktotal("ALL") when SPICE held exactly our set
        self._direct_ticks = True
        self._agent: tuple[int, tuple[str, ...], str] | None = None  # pool watcher: (pid, set, name)
        self.generation = 0  # incremented whenever this object (re)loads SPICE
        self.load_errors: dict[str, str] = {}

    # ------------------------------------------------------------------------------------------
    # loading
    def _select(self) -> tuple[MetaKernels, tuple[Path, ...]]:
        selection = find_meta_kernels(self.kernel_dir)
        wanted = selection.load_order if self.use_predicted else tuple(p for p in (selection.flown,) if p)
        if not wanted:
            raise SpiceKernelError(f"no meta kernel found in {self.kernel_dir / 'mk'}")
        return selection, wanted

    def _holds(self, rewritten: Sequence[str]) -> bool:
        """Whether SPICE holds exactly the kernels of ``rewritten`` (and nothing else)."""
        if _loaded_meta_kernels() != list(rewritten):
            return False
        total = spiceypy.ktotal("ALL")
        if self._kernel_count is not None and tuple(rewritten) == self._rewritten:
            return total == self._kernel_count
        allowed = set(rewritten)
        for index in range(total):
            _, kind, source, _ = spiceypy.kdata(index, "ALL")
            if kind != "META" and source not in allowed:
                return False
        self._kernel_count = total
        return True

    def _watch(self) -> None:
        """Arm the pool watcher of this set in this process and clear its pending notice.

        Call only when SPICE is known to hold exactly this set. Objects holding the same set share
        one watcher (SPICE allows at most 1000 per variable): a notice taken by one of them was
        taken after it found this very set loaded, or was followed by a ``kclear`` that notifies
        again. Without a watcher (none left in SPICE) every check is a full one.
        """
        pid = os.getpid()
        if self._agent is None or self._agent[0] != pid or self._agent[1] != self._rewritten:
            digest = hashlib.sha1("\n".join(self._rewritten).encode()).hexdigest()
            name = f"STIXLIB_{digest[:24]}"
            try:
                spiceypy.swpool(name, len(_WATCHED), 32, list(_WATCHED))
            except SpiceyError:
                name = ""
            self._agent = (pid, self._rewritten, name)
        if self._agent[2]:
            spiceypy.cvpool(self._agent[2])

    def _unchanged(self) -> bool:
        """Cheap check: no watcher notice and the kernel count of the last full check (this process)."""
        agent = self._agent
        if agent is None or not agent[2] or agent[0] != os.getpid() or agent[1] != self._rewritten:
            return False
        return not spiceypy.cvpool(agent[2]) and spiceypy.ktotal("ALL") == self._kernel_count

    def load(self) -> SpiceKernels:
        """Make SPICE hold the latest ``[predicted, flown]`` MKs of the tree (no-op if it does).

        Returns
        -------
        SpiceKernels
            ``self``.
        """
        selection, wanted = self._select()
        rewritten = [str(rewrite_meta_kernel(mk, self.kernel_dir, self.work_dir)) for mk in wanted]
        if self._holds(rewritten):  # already loaded, by this or another object
            if self._originals != wanted or self._selection != selection:
                self._remember(selection, wanted, rewritten)
            self._watch()
            return self
        self._kernel_count = None
        self.generation += 1
        spiceypy.kclear()
        loaded: list[Path] = []
        loaded_paths: list[str] = []
        self.load_errors = {}
        for original, path in zip(wanted, rewritten, strict=True):
            try:
                spiceypy.furnsh(path)
            except SpiceyError as exc:
                reason = spice_error_reason(exc)
                self.load_errors[original.name] = reason
                log.warning("failed to load meta kernel %s: %s", original, reason)
                try:
                    spiceypy.unload(path)
                except SpiceyError:  # pragma: no cover - unload of a half-loaded MK
                    pass
                continue
            loaded.append(original)
            loaded_paths.append(path)
        if not loaded:
            spiceypy.kclear()
            raise SpiceKernelError(f"failed to load any meta kernel of {self.kernel_dir}: {self.load_errors}")
        self._remember(selection, tuple(loaded), loaded_paths)
        self._kernel_count = spiceypy.ktotal("ALL")
        self._watch()
        return self

    def _remember(self, selection: MetaKernels, originals: Sequence[Path], rewritten: Sequence[str]) -> None:
        self._selection = selection
        self._originals = tuple(originals)
        self._rewritten = tuple(rewritten)
        self._direct_ticks = clock.sclk_is_plain(SOLO_ID)

    def ensure_loaded(self) -> None:
        """Reload if SPICE no longer holds exactly this set (cheap when it does)."""
        if self._originals and self._unchanged():
            return
        if not self._originals or not self._holds(self._rewritten):
            self.load()
        else:
            self._watch()

    def is_loaded(self) -> bool:
        """Whether SPICE currently holds exactly this set."""
        return bool(self._originals) and self._holds(self._rewritten)

    def unload(self) -> None:
        """Clear all SPICE kernels (``kclear``)."""
        spiceypy.kclear()
        self._kernel_count = None
        self.generation += 1

    def __enter__(self) -> SpiceKernels:
        return self.load()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.unload_on_exit:
            self.unload()

    # ------------------------------------------------------------------------------------------
    # what is loaded
    @property
    def meta_kernels(self) -> tuple[Path, ...]:
        """Original paths of the MKs loaded, in load order (predicted first)."""
        return self._originals

    @property
    def meta_kernel_names(self) -> list[str]:
        """File names of the loaded MKs, load order (the ``SPICE_MK`` header value joins them)."""
        return [p.name for p in self._originals]

    @property
    def flown_meta_kernel(self) -> Path | None:
        """The flown MK if it is loaded."""
        flown = self._selection.flown if self._selection else None
        return flown if flown in self._originals else None

    @property
    def predicted_meta_kernel(self) -> Path | None:
        """The predicted MK if it is loaded."""
        predicted = self._selection.predicted if self._selection else None
        return predicted if predicted in self._originals else None

    def rewritten_path(self, original: Path) -> str:
        """Path SPICE knows a loaded MK by (its rewritten copy)."""
        return self._rewritten[self._originals.index(original)]

    # ------------------------------------------------------------------------------------------
    # time conversions (see :mod:`stix_lib.spice.clock`)
    def scet_to_et(self, time: SCETime) -> np.ndarray:
        """Spacecraft time → ephemeris time (TDB seconds past J2000)."""
        self.ensure_loaded()
        return clock.scet_to_et(time.coarse, time.fine, SOLO_ID, direct=self._direct_ticks)

    def et_to_scet(self, et: ArrayLike) -> SCETime:
        """Ephemeris time → spacecraft time (nearest fine tick)."""
        self.ensure_loaded()
        return SCETime(*clock.et_to_scet(et, SOLO_ID, direct=self._direct_ticks))

    def scet_to_datetime64(self, time: SCETime) -> np.ndarray:
        """Spacecraft time → UTC ``datetime64[ns]``."""
        return clock.et_to_datetime64(self.scet_to_et(time))

    def datetime64_to_scet(self, utc: ArrayLike) -> SCETime:
        """UTC (``datetime64`` or ISO strings) → spacecraft time."""
        self.ensure_loaded()
        return self.et_to_scet(clock.datetime64_to_et(utc))

    def scet_to_utc_iso(self, time: SCETime, precision: int = 3) -> np.ndarray:
        """Spacecraft time → ISO UTC strings (SPICE ``et2utc`` ``ISOC``, rounded)."""
        return clock.et_to_utc_iso(self.scet_to_et(time), precision)

    def scet_to_time(self, time: SCETime):
        """Spacecraft time → :class:`astropy.time.Time` (UTC)."""
        return clock.datetime64_to_time(self.scet_to_datetime64(time))

    def time_to_scet(self, time) -> SCETime:
        """:class:`astropy.time.Time` → spacecraft time."""
        return self.datetime64_to_scet(clock.time_to_datetime64(time))
