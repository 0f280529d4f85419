"""The stuck-backlog window rule over synthetic sample series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stix_lib.monitor.window import Sample, Verdict, evaluate_window

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def series(values: list[int], step: timedelta, start: datetime = T0) -> list[Sample]:
    return [Sample(start + i * step, v) for i, v in enumerate(values)]


def test_runbook_case_nine_three_hourly_samples_constant_is_stuck():
    result = evaluate_window(series([5] * 9, timedelta(hours=3)), 9, DAY)
    assert result.verdict is Verdict.STUCK
    assert len(result.window) == 9 and result.span == DAY


def test_eight_three_hourly_samples_are_not_enough():
    result = evaluate_window(series([5] * 8, timedelta(hours=3)), 9, DAY)
    assert result.verdict is Verdict.INSUFFICIENT


def test_fifteen_minute_samples_over_a_day_non_decreasing_is_stuck():
    values = [3] * 40 + [4] * 40 + [7] * 17  # grows, never shrinks: 97 samples = 24 h
    result = evaluate_window(series(values, timedelta(minutes=15)), 9, DAY)
    assert result.verdict is Verdict.STUCK
    assert result.window[0].backlog == 3 and result.window[-1].backlog == 7


def test_only_the_last_span_counts():
    # an old decrease outside the window does not prevent the alarm
    values = [9, 2] + [4] * 9
    result = evaluate_window(series(values, timedelta(hours=3)), 9, DAY)
    assert result.verdict is Verdict.STUCK
    assert [s.backlog for s in result.window] == [4] * 9


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([5, 5, 5, 5, 4, 5, 5, 5, 5], "went down from 5 to 4"),
        ([5] * 8 + [0], "backlog is empty"),
        ([0, 0, 3, 3, 3, 3, 3, 3, 3], "empty within the window"),
    ],
)
def test_progress(values, reason):
    result = evaluate_window(series(values, timedelta(hours=3)), 9, DAY)
    assert result.verdict is Verdict.PROGRESS
    assert reason in result.reason


def test_gap_in_sampling_is_insufficient_not_progress():
    # the monitor was down for two days: 2 samples span the window, too few to judge either way
    samples = [Sample(T0, 5), Sample(T0 + 2 * DAY, 5)]
    assert evaluate_window(samples, 9, DAY).verdict is Verdict.INSUFFICIENT


def test_young_history_with_a_decrease_is_progress():
    assert evaluate_window(series([4, 3], timedelta(minutes=15)), 9, DAY).verdict is Verdict.PROGRESS


def test_unordered_input_and_empty_series():
    samples = series([5] * 9, timedelta(hours=3))
    assert evaluate_window(list(reversed(samples)), 9, DAY).verdict is Verdict.STUCK
    assert evaluate_window([], 9, DAY).verdict is Verdict.INSUFFICIENT


def test_configurable_window():
    samples = series([2] * 4, timedelta(hours=1))
    assert evaluate_window(samples, 4, timedelta(hours=3)).verdict is Verdict.STUCK
    assert evaluate_window(samples, 5, timedelta(hours=3)).verdict is Verdict.INSUFFICIENT
    with pytest.raises(ValueError):
        evaluate_window(samples, 1, DAY)
