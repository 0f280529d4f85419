"""Read an L1 QL light-curve file and draw the LL03 daily plot (SVG product + PNG preview).

The data are read with stixpy's ``QLLightCurve`` time series (what users see): count rates in
ct/(keV s) per energy band, corrected for live time, plus the rate control regime (RCR). V01
files (``*_err`` columns) are read through a temporary renamed copy.

The figure is drawn on a plain :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot
state). The SVG is reproducible: fixed ``svg.hashsalt``, no date in its metadata, text as paths;
the input file name and its ``DATE`` are recorded in the SVG metadata (``dc:source``) so a later
run can tell whether the plot is up to date (:mod:`stix_lib.daily.processing_history`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
from astropy.io import fits

from stix_lib.daily.ll03_names import complete_name
from stix_lib.validate.v01 import V01_RENAMES, rename_v01_error_columns

SVG_HASHSALT = "stix-ll03"
#: Colours of the five QL energy bands, low to high, and of the RCR curve.
BAND_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
RCR_COLOUR = "black"


class LightCurveError(ValueError):
    """An input cannot be plotted; the message names the file and the reason."""


@dataclass(frozen=True)
class LightCurveData:
    """What the LL03 plot shows.

    Attributes
    ----------
    source
        The L1 file read.
    input_name
        Its complete name (``U`` status removed), recorded in the plot metadata.
    input_date
        Its ``DATE`` header (creation time, UTC ISO string).
    day
        UTC day plotted (centre of the data).
    times
        Bin centres, ``datetime64[ms]`` UTC.
    bands
        Band label (``"4-10 keV"``) → count rate array.
    unit
        Unit of the rates (``ct / (keV s)``).
    rcr
        Rate control regime per bin.
    n_bins
        Number of time bins (rows of DATA).
    """

    source: Path
    input_name: str
    input_date: str
    day: date
    times: np.ndarray
    bands: dict[str, np.ndarray]
    unit: str
    rcr: np.ndarray
    n_bins: int


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(str(text).strip().replace("Z", ""))


def centre_day(header: fits.Header) -> date:
    """UTC date of the centre of the product (``DATE-AVG``, else the middle of ``DATE-BEG``/``DATE-END``)."""
    if header.get("DATE-AVG"):
        return _utc(header["DATE-AVG"]).date()
    start, end = _utc(header.get("DATE-BEG", header["DATE-OBS"])), _utc(header["DATE-END"])
    return (start + (end - start) / 2).date()


@contextmanager
def _stixpy_readable(path: Path) -> Iterator[Path]:
    with fits.open(path, memmap=True) as hdul:
        names = hdul["DATA"].columns.names
    if not any(name in V01_RENAMES and V01_RENAMES[name] not in names for name in names):
        yield path
        return
    work = Path(tempfile.mkdtemp(prefix="stix-ll03-"))
    try:
        copy = work / path.name
        shutil.copyfile(path, copy)
        copy.chmod(0o600)
        rename_v01_error_columns(copy)
        yield copy
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_lightcurve(path: Path) -> LightCurveData:
    """Read an L1 ``ql-lightcurve`` file for plotting.

    Raises
    ------
    LightCurveError
        If the file is not a readable QL light curve with at least one time bin.
    """
    path = Path(path)
    try:
        header = fits.getheader(path, 0)
        day = centre_day(header)
        with _stixpy_readable(path) as readable:
            import stixpy.timeseries  # noqa: F401 - registers the STIX sources with sunpy
            from sunpy.timeseries import TimeSeries

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                series = TimeSeries(str(readable))
            frame = series.to_dataframe()
            units = dict(series.units)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise LightCurveError(f"{path}: cannot read as QL light curve: {type(exc).__name__}: {exc}") from exc
    if type(series).__name__ != "QLLightCurve":
        raise LightCurveError(f"{path}: stixpy reads it as {type(series).__name__}, not QLLightCurve")
    if len(frame) == 0:
        raise LightCurveError(f"{path}: no time bins")
    labels = [c for c in frame.columns if c.endswith(" keV") and not c.endswith("_comp_err")]
    bands = {label: frame[label].to_numpy(dtype=float) for label in labels}
    unit = str(units.get(labels[0], "")) if labels else ""
    return LightCurveData(
        source=path,
        input_name=complete_name(str(header.get("FILENAME", path.name)) or path.name),
        input_date=str(header.get("DATE", "")),
        day=day,
        times=frame.index.to_numpy().astype("datetime64[ms]"),
        bands=bands,
        unit=unit,
        rcr=frame["rcr"].to_numpy(dtype=float) if "rcr" in frame.columns else np.zeros(len(frame)),
        n_bins=len(frame),
    )


def _with_gaps(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert NaN where consecutive bins are further apart than 3 median steps (no lines over gaps)."""
    if len(times) < 3:
        return times, values
    steps = np.diff(times).astype("timedelta64[ms]").astype(float)
    limit = 3 * np.median(steps)
    breaks = np.nonzero(steps > limit)[0] + 1
    if not len(breaks):
        return times, values
    gap_times = times[breaks - 1] + (times[breaks] - times[breaks - 1]) // 2
    return np.insert(times, breaks, gap_times), np.insert(values.astype(float), breaks, np.nan)


def draw_figure(data: LightCurveData):  # -> matplotlib.figure.Figure
    """The LL03 figure: log count rates per band, RCR on a twin axis when any RCR > 0."""
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    handles = []
    for number, (label, values) in enumerate(data.bands.items()):
        times, shown = _with_gaps(data.times, np.where(values > 0, values, np.nan))
        (line,) = axes.plot(times, shown, lw=0.8, color=BAND_COLOURS[number % len(BAND_COLOURS)], label=label)
        handles.append(line)
    axes.set_yscale("log")
    axes.set_ylabel(f"Count rate [{data.unit}]" if data.unit else "Count rate")
    start = np.datetime64(data.day, "ms")
    axes.set_xlim(start, start + np.timedelta64(1, "D"))
    axes.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 2)))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    axes.set_xlabel(f"Time (UTC) on {data.day.isoformat()}")
    axes.grid(True, which="major", alpha=0.3)
    axes.set_title(f"STIX quick-look light curves {data.day.isoformat()}")
    if np.nanmax(data.rcr, initial=0) > 0:
        twin = axes.twinx()
        times, rcr = _with_gaps(data.times, data.rcr)
        (line,) = twin.step(times, rcr, where="mid", color=RCR_COLOUR, lw=1.0, label="RCR")
        twin.set_ylabel("Rate control regime (RCR)")
        twin.set_ylim(-0.2, max(7.0, float(np.nanmax(data.rcr))) + 0.2)
        handles.append(line)
    axes.legend(handles=handles, loc="upper right", fontsize="small", title="Energy bands")
    figure.text(0.01, 0.01, data.input_name, fontsize=7, color="0.4")
    figure.tight_layout()
    return figure


def _atomic_save(figure, path: Path, fmt: str, metadata: dict[str, str | None]) -> None:
    import matplotlib

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "path"}):
            figure.savefig(tmp, format=fmt, metadata=metadata)
        tmp.chmod(0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def source_tag(data: LightCurveData) -> str:
    """The ``dc:source`` metadata value: ``<input name> DATE=<input DATE>``."""
    return f"{data.input_name} DATE={data.input_date}"


def write_plot(data: LightCurveData, svg_path: Path, png_path: Path | None = None) -> list[Path]:
    """Draw ``data`` and write the SVG (and the PNG preview) atomically; returns the written paths."""
    figure = draw_figure(data)
    title = f"STIX LL03 quick-look light curves {data.day.isoformat()}"
    _atomic_save(figure, svg_path, "svg", {"Date": None, "Title": title, "Source": source_tag(data)})
    written = [svg_path]
    if png_path is not None:
        _atomic_save(figure, png_path, "png", {"Title": title, "Source": source_tag(data)})
        written.append(png_path)
    return written
