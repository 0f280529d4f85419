"""SCETime model: conventions, arithmetic, ranges (cases from the STIXCore test checklist §8.7)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stix_lib.time import (
    MAX_COARSE,
    MAX_FINE,
    SCETime,
    SCETimeDelta,
    SCETimeRange,
    scet_from_float,
    scet_from_string,
    scet_to_float,
    scet_to_string,
    time_sync,
)

ONE_TICK_FLOAT = (1 + 1 / 65535) * u.s


def test_init_and_equality() -> None:
    zero = SCETime(0, 0)
    assert zero == SCETime.from_float(0 * u.s)
    assert zero == SCETime.from_float(0.0)
    assert zero == SCETime(np.uint32(0), np.uint16(0))
    assert zero.coarse.dtype == np.uint32 and zero.fine.dtype == np.uint16


@pytest.mark.parametrize(
    ("coarse", "fine"), [(-1, 0), (0, -1), (2**32, 0), (0, 2**16), (1.0, 0), (1, 0.5), ([1, 2.5], 0)]
)
def test_init_rejects_bad_values(coarse, fine) -> None:
    with pytest.raises(ValueError):
        SCETime(coarse, fine)


def test_float_form_uses_65535() -> None:
    assert float(SCETime(1, 32768).as_float()) == 1.5000076295109483
    assert float(SCETime(1, 0).as_float()) == 1.0
    assert SCETime.from_float(1.0) == SCETime(1, 0)
    assert SCETime.from_float(1 * u.s) == SCETime(1, 0)
    assert SCETime.from_float(u.Quantity(2, u.min)) == SCETime(120, 0)
    # the reference light curve OBT_BEG
    assert SCETime.from_float(642038387.2001526) == SCETime(642038387, 13117)
    assert float(SCETime(642038387, 13117).as_float()) == pytest.approx(642038387.2001526, abs=1e-7)


def test_string_forms() -> None:
    time = SCETime(659402030, 8)
    assert time.to_string() == "0659402030:00008"
    assert time.to_string(sep="f") == "0659402030f00008"
    assert SCETime.from_string("0659402030:00008") == time
    assert SCETime.from_string("0659402030f00008", sep="f") == time
    assert SCETime.from_string("12") == SCETime(12, 0)
    assert str(time) == "0659402030:00008"
    many = SCETime([1, 2], [3, 4])
    assert many.to_string().tolist() == ["0000000001:00003", "0000000002:00004"]
    with pytest.raises(ValueError, match="not an SCET string"):
        SCETime.from_string("12:ab")
    with pytest.raises(ValueError):
        SCETime.from_string("1:70000")


def test_add() -> None:
    time = SCETime(123, 456)
    assert time + ONE_TICK_FLOAT == SCETime(124, 457)
    assert ONE_TICK_FLOAT + time == SCETime(124, 457)
    assert time + SCETimeDelta(1, 1) == SCETime(124, 457)
    assert SCETimeDelta(1, 1) + time == SCETime(124, 457)
    with pytest.raises(TypeError):
        time + time  # noqa: B018
    with pytest.raises(TypeError):
        time + 1  # noqa: B018
    with pytest.raises(ValueError):  # astropy UnitConversionError is a ValueError
        time + 1 * u.m  # noqa: B018


def test_sub() -> None:
    time = SCETime(123, 456)
    assert time - ONE_TICK_FLOAT == SCETime(122, 455)
    assert time - SCETimeDelta(1, 1) == SCETime(122, 455)
    with pytest.raises(TypeError):
        time - 1  # noqa: B018
    later = SCETime(124, 457)
    delta = later - time
    assert isinstance(delta, SCETimeDelta)
    assert (int(delta.coarse), int(delta.fine)) == (1, 1)
    back = time - later
    assert (int(back.coarse), int(back.fine)) == (-1, -1)
    assert back.as_float() == pytest.approx(-(1 + 1 / 65535))
    with pytest.raises(TypeError):
        delta - time  # noqa: B018


def test_out_of_range_results() -> None:
    with pytest.raises(ValueError):
        SCETime.max_time() + SCETimeDelta(0, 1)
    with pytest.raises(ValueError):
        SCETime.min_time() - SCETimeDelta(0, 1)
    assert SCETime.max_time() == SCETime(MAX_COARSE, MAX_FINE)
    assert SCETime.max_time() - SCETimeDelta(0, 1) == SCETime(MAX_COARSE, MAX_FINE - 1)


def test_broadcast_and_vector_ops() -> None:
    times = SCETime(np.arange(100), 5)
    assert times.shape == (100,)
    assert len(times) == 100
    shifted = times + SCETimeDelta(1, 65535)
    assert np.array_equal(shifted.coarse, np.arange(100) + 2)
    assert np.array_equal(shifted.fine, np.full(100, 4))
    assert np.array_equal(times < SCETime(50, 0), np.arange(100) < 50)
    assert times[3] == SCETime(3, 5)
    assert times[-1] == SCETime(99, 5)
    assert times[10:12].to_string().tolist() == ["0000000010:00005", "0000000011:00005"]
    assert times.min() == SCETime(0, 5) and times.max() == SCETime(99, 5)
    joined = SCETime.concatenate([times[:2], SCETime(7, 7)])
    assert joined.to_string().tolist() == ["0000000000:00005", "0000000001:00005", "0000000007:00007"]
    with pytest.raises(TypeError):
        len(SCETime(1, 1))
    empty = SCETime([], [])
    assert empty.shape == (0,) and empty.coarse.dtype == np.uint32
    assert SCETime.concatenate([]).shape == (0,)


def test_comparisons() -> None:
    assert SCETime(1, 2) < SCETime(1, 3)
    assert SCETime(2, 0) > SCETime(1, 65535)
    assert SCETime(1, 2) <= SCETime(1, 2) and SCETime(1, 2) >= SCETime(1, 2)
    assert SCETime(1, 2) != SCETime(1, 3)
    assert (SCETime(1, 2) == "0000000001:00002") is False
    assert (SCETime(1, 2) == SCETimeDelta(1, 2)) is False


def test_pickle_round_trip() -> None:
    import pickle

    times = SCETime([1, 2], [3, 4])
    assert np.all(pickle.loads(pickle.dumps(times)) == times)
    delta = SCETimeDelta(-1, -2)
    assert pickle.loads(pickle.dumps(delta)) == delta
    rng = SCETimeRange(SCETime(1, 0), SCETime(2, 0))
    assert pickle.loads(pickle.dumps(rng)) == rng


def test_time_sync_and_days() -> None:
    assert time_sync(np.array([0, 2**31 - 1, 2**31, 2**32 - 1], dtype=np.uint32)).tolist() == [
        True,
        True,
        False,
        False,
    ]
    assert SCETime(2**31 + 5, 0).time_sync.item() is False
    assert SCETime([86399, 86400, 172800], 0).get_scedays().tolist() == [0, 1, 2]


def test_delta_basics() -> None:
    assert SCETimeDelta(0, 0) == SCETimeDelta.from_float(0 * u.s)
    assert float(SCETimeDelta(-1, 0).as_float()) == -1.0
    assert SCETimeDelta.from_float(-1 * u.s) == SCETimeDelta(-1, 0)
    assert SCETimeDelta.from_float(1.5) == SCETimeDelta(1, 32768)  # round(0.5 * 65535) = 32768 (half to even)
    assert SCETimeDelta(100, 1) + SCETimeDelta(200, 2) == SCETimeDelta(300, 3)
    assert SCETimeDelta(100, 1) + 2 * u.s == SCETimeDelta(102, 1)
    assert 2 * u.s + SCETimeDelta(100, 1) == SCETimeDelta(102, 1)
    assert SCETimeDelta(100, 1) - SCETimeDelta(200, 2) == SCETimeDelta(-100, -1)
    assert SCETime(100, 100) + SCETimeDelta(200, -100) == SCETime(300, 0)
    assert 3 * u.s - SCETimeDelta(4, 0) == SCETimeDelta(-1, 0)
    assert float((SCETimeDelta(3, 0) - 4 * u.s).as_float()) == -1.0
    assert -SCETimeDelta(1, 2) == SCETimeDelta(-1, -2)
    assert abs(SCETimeDelta(-1, -2)) == SCETimeDelta(1, 2)
    assert SCETimeDelta(10, 0) / 4 == SCETimeDelta(2, 32768)
    assert SCETimeDelta(0, 5) / 2 == SCETimeDelta(0, 2)  # floor of the tick count
    assert SCETimeDelta(10, 0) * 2 == SCETimeDelta(20, 0)
    assert SCETimeDelta(10, 0) / SCETimeDelta(5, 0) == 2.0
    with pytest.raises(ValueError):
        SCETimeDelta(2**31, 0)
    with pytest.raises(ValueError):
        SCETimeDelta(1.5, 0)


def test_delta_mixed_signs_in_arrays() -> None:
    a = SCETime([10, 20, 30], [0, 0, 5])
    b = SCETime([20, 10, 30], [0, 0, 0])
    delta = a - b
    assert delta.coarse.tolist() == [-10, 10, 0]
    assert delta.fine.tolist() == [0, 0, 5]
    assert delta.as_float().tolist() == [-10.0, 10.0, 5 / 65535]
    assert np.all(b + delta == a)


def test_time_range() -> None:
    rng = SCETimeRange(SCETime(10, 0), SCETime(20, 0))
    assert SCETime(15, 0) in rng
    assert SCETime(10, 0) in rng and SCETime(20, 0) in rng
    assert SCETime(20, 1) not in rng
    assert SCETime([11, 12], 0) in rng
    assert SCETime([11, 22], 0) not in rng
    assert SCETimeRange(SCETime(12, 0), SCETime(13, 0)) in rng
    assert SCETimeRange(SCETime(12, 0), SCETime(23, 0)) not in rng
    assert rng.duration == SCETimeDelta(10, 0)
    assert rng.avg == SCETime(15, 0)
    bigger = rng.expand(SCETime([5, 25], 0))
    assert bigger == SCETimeRange(SCETime(5, 0), SCETime(25, 0))
    assert rng == SCETimeRange(SCETime(10, 0), SCETime(20, 0))  # unchanged
    assert rng.expand(SCETimeRange(SCETime(1, 0), SCETime(2, 0))).start == SCETime(1, 0)
    assert SCETimeRange.covering(SCETime([7, 3, 9], 0)) == SCETimeRange(SCETime(3, 0), SCETime(9, 0))
    with pytest.raises(ValueError):
        SCETimeRange(SCETime(2, 0), SCETime(1, 0))


@given(st.integers(0, MAX_COARSE), st.integers(0, MAX_FINE))
def test_round_trips(coarse: int, fine: int) -> None:
    time = SCETime(coarse, fine)
    assert SCETime.from_btime(time.btime) == time
    assert SCETime.from_string(time.to_string()) == time
    c, f = scet_from_string(scet_to_string(coarse, fine))
    assert (int(c), int(f)) == (coarse, fine)
    if (coarse, fine) == (MAX_COARSE, MAX_FINE):
        # fine 65535 is a whole second in the float form: the last time floats to 2**32 s
        with pytest.raises(ValueError):
            scet_from_float(scet_to_float(coarse, fine))
        return
    # the float form loses < 1 tick at 2**32 s (float64 resolution ~1e-6 s)
    c, f = scet_from_float(scet_to_float(coarse, fine))
    assert abs((int(c) * 65535 + int(f)) - (coarse * 65535 + fine)) <= 1


def test_float_form_of_fine_65535_is_the_next_second() -> None:
    assert float(SCETime(10, 65535).as_float()) == 11.0
    assert SCETime.from_float(11.0) == SCETime(11, 0)
    with pytest.raises(ValueError):
        SCETime.from_float(SCETime.max_time().as_float())


@given(st.integers(-(2**40), 2**40))
def test_delta_components_reassemble(btime: int) -> None:
    delta = SCETimeDelta.from_btime(btime)
    assert int(delta.coarse) * 65536 + int(delta.fine) == btime
    assert abs(int(delta.fine)) < 65536
    assert int(delta.coarse) == 0 or np.sign(int(delta.coarse)) == np.sign(btime)
    assert int(delta.fine) == 0 or np.sign(int(delta.fine)) == np.sign(btime)
