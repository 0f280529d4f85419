"""Helpers of the ANC aspect tests: a stand-in for the IDL command and HK inputs in an archive.

IDL cannot run here. :func:`stand_in_idl` writes a small executable Python script that speaks the
bridge protocol (``<cmd> input.json output.json``) and answers deterministically:
``y_srf = 1000 * (cha_diode0 - chb_diode0)``, ``z_srf = 1000 * (cha_diode1 - chb_diode1)`` (rounded
to 1e-3), ``sas_ok = cha_diode0 > SAS_THRESHOLD``, ``error = "" | "low signal"``. Every call is
appended to ``calls.jsonl`` next to the script (file names, cwd, ``STIX_IDL_GSW_PATH``). ``mode``
selects a failure instead: ``exit`` (status 3, licence message on stderr), ``garbage`` (output
not JSON), ``silent`` (exit 0, no output file), ``sleep`` (never returns), ``fatal`` (the first
file marked ``fatal_error``), ``short`` (one value missing per column).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

HK_NAME = "solo_L1_stix-hk-maxi_20200501_V01.fits"
GSW_VERSION = "v0.5.2-stand-in"
SAS_THRESHOLD = 1.8

_SCRIPT = """#!{python}
import json, os, sys, time
MODE = {mode!r}
source, target = sys.argv[1], sys.argv[2]
doc = json.load(open(source))
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"files": [f["name"] for f in doc["hk_files"]], "cwd": os.getcwd(),
                          "gsw": os.environ.get("STIX_IDL_GSW_PATH"), "protocol": doc["protocol"],
                          "task": doc["task"], "gsw_path": doc["gsw_path"]}}) + "\\n")
print("stand-in IDL:", len(doc["hk_files"]), "file(s)")
if MODE == "exit":
    print("% CLLFloatingLicenseInitialize failed to start the license thread", file=sys.stderr)
    sys.exit(3)
if MODE == "sleep":
    time.sleep(600)
if MODE == "silent":
    sys.exit(0)
if MODE == "garbage":
    open(target, "w").write("IDL> % Compiled module: STX_DERIVE_ASPECT_SOLUTION.")
    sys.exit(0)
files = []
for number, f in enumerate(doc["hk_files"]):
    d = f["data"]
    if MODE == "fatal" and number == 0:
        files.append({{"name": f["name"], "fatal_error": "FATAL_IDL_ERROR: stx_calib_sas_data crashed"}})
        continue
    y = [round(1000.0 * (a - b), 3) for a, b in zip(d["cha_diode0"], d["chb_diode0"])]
    z = [round(1000.0 * (a - b), 3) for a, b in zip(d["cha_diode1"], d["chb_diode1"])]
    ok = [a > {threshold} for a in d["cha_diode0"]]
    err = ["" if good else "low signal" for good in ok]
    if MODE == "short":
        y, z, ok, err = y[1:], z[1:], ok[1:], err[1:]
    files.append({{"name": f["name"], "y_srf": y, "z_srf": z, "sas_ok": ok, "error": err}})
json.dump({{"idlgswversion": {version!r}, "processed_files": files}}, open(target, "w"))
"""


def stand_in_idl(folder: Path, mode: str = "ok") -> Path:
    """Write the executable stand-in IDL command into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / f"idl-{mode}.py"
    script.write_text(_SCRIPT.format(python=sys.executable, mode=mode, threshold=SAS_THRESHOLD, version=GSW_VERSION))
    script.chmod(0o755)
    return script


def calls(script: Path) -> list[dict]:
    """The calls the stand-in recorded."""
    log = script.parent / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def expected_solution(hk: Path) -> dict[str, np.ndarray]:
    """What the stand-in returns for an HK file (computed here from the file with astropy)."""
    with fits.open(hk) as hdul:
        data = hdul["DATA"].data
        a0, a1 = np.asarray(data["hk_asp_photoa0_v"], float), np.asarray(data["hk_asp_photoa1_v"], float)
        b0, b1 = np.asarray(data["hk_asp_photob0_v"], float), np.asarray(data["hk_asp_photob1_v"], float)
    return {
        "y_srf": np.round(1000.0 * (a0 - b0), 3),
        "z_srf": np.round(1000.0 * (a1 - b1), 3),
        "sas_ok": a0 > SAS_THRESHOLD,
    }


def hk_input(archive: Path, reference_data: Path, name: str = HK_NAME.replace("_V01", "_V02")) -> Path:
    """The real reference L1 ``hk-maxi`` file of 2020-05-01 in ``archive`` as ``name``, with ``VERSION = 02``."""
    folder = Path(archive) / "L1/2020/05/01/HK"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shutil.copyfile(reference_data / "reference" / "l1" / HK_NAME, path)
    path.chmod(0o644)
    with fits.open(path, mode="update") as hdul:
        hdul[0].header["VERSION"] = "02"
    return path
