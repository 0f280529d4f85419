"""Building blocks: text-kernel syntax, quaternions, sampling, DAF comments, meta kernels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spiceypy
from hypothesis import given, settings
from hypothesis import strategies as st

from stix_lib.dev.synthetic_kernels.attitude import matrices_to_quaternions
from stix_lib.dev.synthetic_kernels.daf import comment_lines
from stix_lib.dev.synthetic_kernels.files import write_text_atomic
from stix_lib.dev.synthetic_kernels.metakernel import meta_kernel_text
from stix_lib.dev.synthetic_kernels.spk import sample_epochs
from stix_lib.dev.synthetic_kernels.textkernel import Epoch, assignment, format_value
from stix_lib.spice.meta_kernels import rewritten_meta_kernel_text


def test_values() -> None:
    assert format_value("it's") == "'it''s'"
    assert format_value(0.1) == "0.1" and format_value(3) == "3" and format_value(Epoch("2000-01-01")) == "@2000-01-01"
    with pytest.raises(TypeError):
        format_value(True)
    assert assignment("A", 1) == f"   {'A':<32} = 1"
    assert assignment("A", [1]) == f"   {'A':<32} = ( 1 )"
    long = assignment("LIST", [float(i) + 0.125 for i in range(40)])
    assert all(len(line) <= 80 for line in long.splitlines()) and long.endswith(" )")
    assert [float(v) for v in long.split("(")[1].rstrip(" )").split()] == [float(i) + 0.125 for i in range(40)]


def test_text_kernel_round_trip(tmp_path: Path, clean_spice: None) -> None:
    values = [1.0 / 3.0, -43135.816, 2.0**48, 1e-300, 759931270.684, 1.0015200246857006]
    path = tmp_path / "values.tpc"
    write_text_atomic(path, f"KPL/PCK\n\\begindata\n{assignment('STIX_TEST_VALUES', values)}\n\\begintext\n")
    spiceypy.furnsh(str(path))
    # SPICE's number parser is not correctly rounded: repr() values come back within a few ulp
    np.testing.assert_allclose(spiceypy.gdpool("STIX_TEST_VALUES", 0, 10), values, rtol=2e-15, atol=0)
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(tmp_path / "bad.tf", "µ")
    assert not (tmp_path / "bad.tf").exists()


def test_meta_kernel_paths_are_rewritable(tmp_path: Path) -> None:
    text = meta_kernel_text("title", ["lsk/a.tls", "spk/b.bsp"])
    assert "PATH_VALUES                      = ( '..' )" in text
    rewritten = rewritten_meta_kernel_text(text, tmp_path)
    assert f"'{tmp_path.resolve()}'" in rewritten and "'..'" not in rewritten
    with pytest.raises(ValueError):
        meta_kernel_text("title", ["../outside.bsp"])


def test_sample_epochs() -> None:
    np.testing.assert_array_equal(sample_epochs(0.0, 10.0, 3.0), [0.0, 3.0, 6.0, 9.0, 10.0])
    np.testing.assert_array_equal(sample_epochs(0.0, 9.1, 3.0), [0.0, 3.0, 6.0, 9.1])  # no 0.1 s interval
    with pytest.raises(ValueError):
        sample_epochs(1.0, 1.0, 3.0)


def test_comment_lines() -> None:
    lines = comment_lines("short\n\n  " + "word " * 40)
    assert lines[0] == "short" and lines[1] == " "
    assert all(len(line) <= 78 for line in lines) and all(line.startswith("  ") for line in lines[2:])
    with pytest.raises(ValueError):
        comment_lines("naïve")


_angles = st.floats(-np.pi, np.pi, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(a=_angles, b=_angles, c=_angles)
def test_quaternions_match_spice(a: float, b: float, c: float) -> None:
    matrix = spiceypy.eul2m(a, b, c, 3, 1, 3)
    ours = matrices_to_quaternions(np.asarray(matrix)[None])[0]
    theirs = np.asarray(spiceypy.m2q(matrix))
    assert min(np.abs(ours - theirs).max(), np.abs(ours + theirs).max()) < 1e-12
    np.testing.assert_allclose(spiceypy.q2m(ours), matrix, atol=1e-12)


def test_quaternions_are_sign_continuous() -> None:
    angles = np.linspace(0.0, 4.0 * np.pi, 400)
    matrices = np.array([spiceypy.rotate(angle, 3) for angle in angles])
    quats = matrices_to_quaternions(matrices)
    assert np.all(np.einsum("ij,ij->i", quats[1:], quats[:-1]) > 0)
