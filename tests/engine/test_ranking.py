"""Relative rank points across the watchlist."""

from __future__ import annotations

import numpy as np

from engine.ranking import rank_points


def test_the_strongest_instrument_on_every_measure_gets_fifteen():
    points = rank_points(
        np.array([1.0, 5.0, 3.0]),
        np.array([0.1, -0.9, 0.5]),
        np.array([1.0, 4.0, 2.0]),
        ranked=np.ones(3, dtype=bool),
    )
    assert points[1] == 15.0
    assert points[0] < points[2] < points[1]
    assert ((points >= 0) & (points <= 15)).all()


def test_unranked_and_unknown_measures_get_nothing():
    points = rank_points(
        np.array([1.0, np.nan, 9.0]),
        np.array([0.5, 0.5, 0.5]),
        np.array([np.nan] * 3),
        ranked=np.array([True, True, False]),
    )
    assert points[2] == 0.0
    assert points[0] == 10.0  # top ratio (5) and tied imbalance (5), no surge known
    assert points[1] == 5.0
