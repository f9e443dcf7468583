"""Scoring detections against the agents' record."""

from __future__ import annotations

import numpy as np

from feeds.book_simulator import Episode, IcebergTruth
from feeds.detection_quality import (
    Detection,
    describe_share,
    pooled,
    score_detections,
    share_interval,
)


def agent(
    symbol: str,
    side: str,
    start: int,
    end: int,
    strength: float,
    refills: int = 4,
    first_refill: int | None = None,
    clarity: float = float("nan"),
):
    return IcebergTruth(
        symbol,
        side,
        100.0,
        100,
        400,
        True,
        strength,
        start,
        end,
        refills,
        500,
        "completed",
        first_refill,
        clarity,
    )


def test_recall_precision_false_rates_and_time_to_detect():
    icebergs = [
        agent("A", "BID", 1_000, 1_200, 5, first_refill=1_020, clarity=9.0),
        agent("B", "ASK", 1_000, 1_100, 20, clarity=2.5),
        agent("C", "BID", 1_000, 1_100, 3, refills=1),  # revealed nothing: not counted
    ]
    episodes = [Episode("D", "news", 900, 1_500)]
    detections = [
        Detection("A", "ACCUMULATION", 1_030),  # found, 30 s in
        Detection("A", "BID", 1_250),  # the same agent again, within the grace
        Detection("B", "BID", 1_050),  # wrong side: a false detection
        Detection("D", "DISTRIBUTION", 1_000),  # during news, on no agent
        Detection("E", "ACCUMULATION", 1_000),  # a thin book
    ]
    quality = score_detections(detections, icebergs, episodes, {"E"}, instrument_hours=5.0)
    assert (quality.icebergs, quality.found, quality.recall) == (2, 1, 0.5)
    assert (quality.true_positives, quality.detections) == (2, 5)
    assert quality.recall_by_strength[5.0] == (1, 1) and quality.recall_by_strength[20.0] == (0, 1)
    # By the pace achieved: A refilled 4 times in 200 s (1.2 a minute), B in 100 s (2.4),
    # whatever they were set to.
    assert quality.recall_by_pace == {"under 1": (0, 0), "1-3": (1, 2), "3-5": (0, 0), "5+": (0, 0)}
    # By clarity: A's hidden fills stood 9 standard deviations clear of its level's scatter,
    # B's 2.5 (no reading of the book sees that); one never filled has no clarity.
    assert quality.recall_by_clarity == {
        "under 3": (0, 1),
        "3-5": (0, 0),
        "5-8": (0, 0),
        "8+": (1, 1),
    }
    # Neither lived only within an opening; one that did is counted apart too.
    assert quality.recall_opening_only == (0, 0)
    opening = [Episode("A", "opening", 900, 1_300)]
    again = score_detections(detections, icebergs, opening, {"E"}, instrument_hours=5.0)
    assert again.recall_opening_only == (1, 1)
    assert quality.false_per_instrument_hour == {"all": 0.6, "thin": 0.2, "news": 0.2}
    assert quality.median_seconds_to_detect == 30.0
    assert quality.median_seconds_after_first_refill == 10.0  # its display came back at 1,020
    assert (quality.seconds_to_detect, quality.seconds_after_first_refill) == ([30], [10])


def test_shares_come_with_how_sure_they_are():
    # Wilson's 95 % interval: 20 of 23 right is somewhere in 0.68-0.95, not "0.87".
    low, high = share_interval(20, 23)
    assert round(low, 2) == 0.68 and round(high, 2) == 0.95
    assert describe_share(20, 23) == "20 of 23 (0.87; 95 % 0.68-0.95)"
    # More of the same share pins it down; none right or all right stay inside 0-1.
    assert share_interval(200, 230)[1] - share_interval(200, 230)[0] < high - low
    assert share_interval(0, 5)[0] == 0.0 and share_interval(5, 5)[1] == 1.0
    assert 0.5 < share_interval(5, 5)[0] < 0.6  # five of five is no proof of 1.0
    assert describe_share(0, 0) == "0 of 0"


def test_runs_pool_into_one_score():
    def run(right, detections, found, agents, false, delay, clarity):
        return {
            "signals": {
                "detections": detections,
                "true_positives": right,
                "icebergs": agents,
                "found": found,
                "recall_by_strength": {"3": [found, agents]},
                "recall_by_pace": {},
                "recall_by_clarity": {"8+": clarity},
                "recall_opening_only": [0, 1],
                "false_per_instrument_hour": {"all": false},
                "median_seconds_to_detect": delay,
                "median_seconds_after_first_refill": None,
            }
        }

    runs = [run(7, 8, 7, 21, 0.1, 100.0, [4, 5]), run(0, 0, 0, 22, 0.3, None, [3, 8])]
    score = pooled(runs, "signals")
    assert (score["true_positives"], score["detections"], score["precision"]) == (7, 8, 7 / 8)
    assert (score["found"], score["icebergs"]) == (7, 43)
    assert score["recall_by_strength"] == {"3": [7, 43]}
    assert score["recall_by_clarity"] == {"8+": [7, 13]}
    assert score["recall_opening_only"] == [0, 2]
    assert round(score["false_per_instrument_hour"]["all"], 6) == 0.2  # the runs' mean
    assert score["median_seconds_to_detect"] == 100.0  # a run with none found has no time
    assert score["median_seconds_after_first_refill"] is None
    assert pooled([runs[1]], "signals")["precision"] is None  # nothing detected: no share


def test_pooled_time_to_detect_is_the_median_over_every_agent_found():
    def run(times):
        return {
            "signals": {
                **{k: 0 for k in ("detections", "true_positives", "icebergs", "found")},
                "false_per_instrument_hour": {},
                "median_seconds_to_detect": float(np.median(times)),
                "median_seconds_after_first_refill": None,
                "seconds_to_detect": times,
                "seconds_after_first_refill": [],
            }
        }

    # A run that found two agents quickly and one that found five slowly: the medians of
    # the runs (15 s and 300 s) would say 157.5 s; over the seven agents it is 200 s.
    runs = [run([10, 20]), run([100, 200, 300, 400, 500])]
    score = pooled(runs, "signals")
    assert score["median_seconds_to_detect"] == 200.0
    assert score["seconds_to_detect_within_a_minute"] == [2, 7]
    assert score["median_seconds_after_first_refill"] is None
    # Results saved before each agent's time was kept: the runs' medians are all there is.
    for old in runs:
        del old["signals"]["seconds_to_detect"]
    assert pooled(runs, "signals")["median_seconds_to_detect"] == 157.5


def test_shadow_gates_issue_what_an_engine_at_their_setting_would():
    # One engine at the default with shadow gates at 1 and 9, against engines run at 1 and
    # 9 on the same frames: each shadow issues exactly that engine's signals.
    from config import Settings
    from engine import SignalEngine, parse_kite_frame
    from feeds.book_simulator import BookSimulator, book_instruments
    from feeds.detection_quality import SESSION_START

    book = book_instruments(12, seed=4)
    simulator = BookSimulator(
        book, SESSION_START, seed=4, session_seconds=2_400, opening_seconds=120
    )
    symbols = {i.instrument_token: i.symbol for i in book}
    settings = Settings(_env_file=None).model_copy(update={"max_daily_signals": 1000})
    engine = SignalEngine(settings, symbols)
    engine.shadow_gates((1.0, 9.0))
    alone = {t: SignalEngine(settings.model_copy(update={"min_confidence": t}), symbols)
             for t in (1.0, 9.0)}  # fmt: skip
    issued: dict[float, list] = {1.0: [], 9.0: []}
    for _ in range(2_400):
        ticks = parse_kite_frame(simulator.frame())
        if len(ticks):
            engine.update(ticks)
            for threshold, other in alone.items():
                issued[threshold] += [
                    (s.symbol, str(s.signal_type), int(s.timestamp.timestamp()), s.confidence)
                    for s in other.update(ticks)
                ]
    shadows = engine.shadow_signals
    assert len(issued[1.0]) >= 3  # enough to compare
    assert shadows[1.0] == issued[1.0] and shadows[9.0] == issued[9.0]
    assert len(shadows[9.0]) < len(shadows[1.0])
