"""Kaplan-Meier total size: the textbook example, censoring, the native bound, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from engine.hidden_size import NATIVE_MAX_REFILLS, survival, total_size


def test_kaplan_meier_matches_the_worked_example():
    # Events at 2, 3, 3, 5; censored at 3 and 4. At risk: 6 at 2, 5 at 3, 1 at 5.
    counts, s = survival([2, 3, 3, 3, 4, 5], [True, True, True, False, False, True])
    assert counts.tolist() == [2, 3, 5]
    assert np.allclose(s, [5 / 6, 5 / 6 * 3 / 5, 0.0])


def test_without_censoring_it_is_the_empirical_survival():
    rng = np.random.default_rng(3)
    refills = rng.integers(1, 9, 500)
    counts, s = survival(refills, np.ones(500, bool))
    empirical = [(refills > k).mean() for k in counts]
    assert np.allclose(s, empirical)


def test_the_estimate_grows_with_the_refills_seen_and_respects_the_native_bound():
    rng = np.random.default_rng(5)
    refills = rng.integers(3, 10, 400)  # natives: 3 to 9 refills
    counts, s = survival(refills, np.ones(400, bool))
    early = total_size(100, 1, counts, s)
    late = total_size(100, 7, counts, s)
    assert early.low < early.median < early.high and late.median > early.median
    assert late.high <= 100 * (1 + NATIVE_MAX_REFILLS)
    assert total_size(100, 9, counts, s).high == 100 * (1 + NATIVE_MAX_REFILLS)


def test_the_interval_covers_most_true_totals():
    rng = np.random.default_rng(11)
    history = rng.integers(3, 10, 300)
    counts, s = survival(history, np.ones(300, bool))
    truth = rng.integers(3, 10, 200)
    seen = np.array([rng.integers(0, total + 1) for total in truth])
    covered = [
        (estimate := total_size(50, int(k), counts, s)).low <= 50 * (1 + total) <= estimate.high
        for k, total in zip(seen, truth, strict=True)
    ]
    assert np.mean(covered) >= 0.8


def test_a_level_refilling_more_often_than_one_native_order_can_goes_unbounded():
    counts, s = survival(np.arange(3, 40), np.ones(37, bool))
    beyond = total_size(100, NATIVE_MAX_REFILLS + 3, counts, s, native=True)
    assert beyond.high > 100 * (1 + NATIVE_MAX_REFILLS + 3) and not beyond.capped


def test_the_native_bound_shapes_the_median_never_the_top():
    from types import SimpleNamespace

    from engine.hidden_size import SizeModel

    model = SizeModel()
    model.learn(np.arange(4, 40), np.ones(36, bool))  # natives and re-posting algorithms

    def seen(refills):
        return SimpleNamespace(
            peak=100.0, refills=refills, hidden_volume=100.0, hidden_se=0.0, native=True
        )

    # However often a level came back without a new order, an algorithm re-posting in the
    # same second as its fill looks the same: its 30 slices are as possible as a native
    # order's nine at most, so the interval reaches past the bound; its median stays one
    # native order's.
    for refills in (1, 2, 5):
        [size] = model.estimate([seen(refills)])
        assert size.high > 100 * (1 + NATIVE_MAX_REFILLS) and not size.capped
        assert size.median <= 100 * (1 + NATIVE_MAX_REFILLS)
    # With little history (no count past six seen yet) the unbounded reading stops at six:
    # the native-looking level's interval still reaches the exchange's nine.
    young = SizeModel()
    young.learn([3, 4, 5, 6, 6, 6, 6], [True, True, True, True, False, False, False])
    [early] = young.estimate([seen(1)])
    assert early.high == 100 * (1 + NATIVE_MAX_REFILLS) and early.capped
    # A level called synthetic has no bound at all; the native reading's median is lower.
    [free] = model.estimate([SimpleNamespace(**{**vars(seen(2)), "native": False})])
    [bound] = model.estimate([seen(2)])
    assert free.high == bound.high and bound.median <= free.median


def test_the_size_model_counts_active_icebergs_as_censored():
    from types import SimpleNamespace

    from engine.hidden_size import SizeModel

    model = SizeModel()
    model.learn([4, 5, 6, 7, 8], [True] * 5)
    young = SimpleNamespace(
        peak=100.0, refills=7, hidden_volume=350.0, hidden_se=20.0, native=False
    )
    [alone] = model.estimate([young])
    assert alone.low == 100 * 5 and alone.high <= 100 * 9  # between the ends seen
    # Many icebergs still going past 8 refills: the curve no longer ends at 8.
    veterans = [
        SimpleNamespace(peak=100.0, refills=12, hidden_volume=1_200.0, hidden_se=0.0, native=False)
    ] * 20
    [crowded, *_] = model.estimate([young, *veterans], [3] * 21)  # first seen at 3
    assert crowded.median > alone.median and crowded.capped  # open-ended beyond 8
    with pytest.raises(ValueError, match="one value per iceberg"):
        model.learn([1, 2], [True])


def test_refills_are_counted_in_revealed_volume_and_surely_so_while_active():
    from types import SimpleNamespace

    from engine.hidden_size import SURE_MARGIN, revealed_refills

    # The level jumped back 9 times, but only 4.5 peaks of volume went unexplained.
    level = SimpleNamespace(peak=100.0, refills=9, hidden_volume=450.0, hidden_se=50.0)
    assert revealed_refills(level, margin=0.0) == 4
    # While active, only what lies SURE_MARGIN standard errors below the estimate counts.
    assert revealed_refills(level) == int((450.0 - SURE_MARGIN * 50.0) // 100.0) == 3
    # No peak seen: the level's own count.
    assert revealed_refills(SimpleNamespace(peak=0.0, refills=5, hidden_volume=0, hidden_se=0)) == 5


def test_icebergs_first_seen_late_are_at_risk_only_from_then_on():
    # Every iceberg ends at 1-9 refills; one is seen only if it reaches the count at which
    # it would have been found (0-6), and is watched from there. Counted as watched from
    # its first display, the ones found late make early ends look rarer than they are.
    rng = np.random.default_rng(17)
    total = rng.integers(1, 10, 20_000)
    found_at = rng.integers(0, 7, 20_000)
    seen = total >= found_at
    truth = [(total > k).mean() for k in range(1, 10)]
    counts, naive = survival(total[seen], np.ones(seen.sum(), bool))
    counts, delayed = survival(total[seen], np.ones(seen.sum(), bool), found_at[seen])
    assert counts.tolist() == list(range(1, 10))
    assert np.allclose(delayed, truth, atol=0.02)
    assert naive[1] - truth[1] > 0.05  # P(R > 2): the naive curve is too high


def test_the_size_model_keeps_each_icebergs_entry():
    from types import SimpleNamespace

    from engine.hidden_size import SizeModel

    # Long-lived icebergs found late, and short ones watched from the start: counted from
    # their first display, the late ones would say short lives are rare.
    lives, found_at = [2] * 50 + [4] * 10 + [8] * 50, [0] * 60 + [6] * 50
    model = SizeModel()
    model.learn(lives, [True] * 110, found_at)
    young = SimpleNamespace(peak=100.0, refills=1, hidden_volume=100.0, hidden_se=0.0)
    naive = SizeModel()
    naive.learn(lives, [True] * 110)
    with_entry = model.estimate([SimpleNamespace(**vars(young), native=False)], [1])[0]
    without = naive.estimate([SimpleNamespace(**vars(young), native=False)], [1])[0]
    assert with_entry.median < without.median
    with pytest.raises(ValueError, match="entries"):
        model.learn([1, 2], [True, False], [0])
