"""The iceberg evidence points: pace of refills, time held, size against the instrument,
how clear of its noise the hidden volume stands, and how many displays it is worth."""

from __future__ import annotations

import numpy as np

from engine.iceberg_evidence import MAX_POINTS, evidence_parts, total_points


def points(refills, held, hidden, typical=6_000.0, active=True, peak=None, se=100.0):
    shape = (1, 2)
    parts = evidence_parts(
        np.full(shape, refills),
        np.full(shape, float(hidden)),
        np.full(shape, held),
        np.array([typical]),
        None if peak is None else np.full(shape, float(peak)),
        None if se is None else np.full(shape, float(se)),
    )
    return total_points(np.full(shape, active), parts)[0, 0]


def test_one_order_coming_back_now_and_then_scores_every_point():
    # 4 refills in 90 s (2.7 a minute), held over half a minute, 2,000 hidden against 6,000 a
    # minute of the instrument's volume (a third of a minute), 20 standard errors clear.
    assert points(refills=4, held=90, hidden=2_000) == MAX_POINTS


def test_a_level_refilling_every_few_seconds_is_a_busy_queue_and_loses_the_pace_points():
    assert points(refills=9, held=90, hidden=2_000) == MAX_POINTS  # 6 a minute: measured
    assert points(refills=15, held=90, hidden=2_000) == 4  # 10 a minute: one pace point
    assert points(refills=18, held=90, hidden=2_000) == 3  # 12 a minute: none


def test_a_young_or_small_iceberg_scores_less():
    assert points(refills=2, held=25, hidden=2_000) == 4  # under half a minute held
    assert points(refills=4, held=90, hidden=1_000) == 4  # a sixth of a minute's volume
    # An instrument with no typical minute yet gives no size point.
    assert points(refills=4, held=90, hidden=10**9, typical=np.nan) == 4


def test_hidden_volume_back_within_its_noise_loses_the_clear_point():
    # 2,000 hidden with a standard error of 500 stands 4 clear: the point; of 600, 3.3: the
    # tracker called it at 3.5 once, but it has fallen back among the level's own arrivals.
    assert points(refills=4, held=90, hidden=2_000, se=500) == MAX_POINTS
    assert points(refills=4, held=90, hidden=2_000, se=600) == MAX_POINTS - 1
    assert points(refills=4, held=90, hidden=2_000, se=None) == MAX_POINTS - 1  # not known


def test_no_active_iceberg_scores_nothing():
    assert points(refills=4, held=90, hidden=2_000, active=False) == 0


def test_hidden_volume_of_many_displays_is_not_one_order_coming_back():
    # 2,000 hidden: four displays of 500 come back; forty of 50 are a busy queue's orders.
    assert points(refills=4, held=90, hidden=2_000, peak=500) == MAX_POINTS
    assert points(refills=4, held=90, hidden=2_000, peak=400) == MAX_POINTS  # five: the most
    assert points(refills=4, held=90, hidden=2_000, peak=50) == MAX_POINTS - 2
    # Never below nothing: a young, small level of many displays scores 0, not less.
    assert points(refills=12, held=45, hidden=1_000, peak=50) == 0
