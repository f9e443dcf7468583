"""How well detections match the event simulator's ground truth.

A detection (an iceberg record or an ACCUMULATION / DISTRIBUTION signal) matches an iceberg
agent of the same symbol and side (a hidden buyer: BID / ACCUMULATION; a hidden seller: ASK /
DISTRIBUTION) when it comes between the agent's start and ``grace_seconds`` after its end.

* **recall**: agents with at least ``min_refills`` refills (fewer revealed nothing to
  anyone) that at least one detection matched; also by strength, the refills a minute the
  agent was set to cause (3, 5, 10, 20), and by pace, the refills a minute it achieved over
  its life (behind a busy queue, or while the price stood away from it, an agent achieves
  far fewer than it was set to: its pace is how hard it was to see), by clarity, how many
  standard deviations of its level's own visible arrivals and cancellations its hidden fills
  amount to (``IcebergTruth.clarity``: under about 3 no reading of the book can tell it from
  an ordinary queue, however well made), and of the agents that lived only within the
  opening (its flow consumes them quickly: most of the fastest);
* **precision**: detections that matched an agent, over all detections;
* **false per instrument-hour**: unmatched detections per instrument-hour, overall, on thin
  books, and during each confounder episode (news, spoof, momentum, opening);
* **how sure these shares are**: each precision and recall comes with its 95 % Wilson score
  interval (a few dozen signals pin a share down only to within about ±0.15);
* **time to detect**: median seconds from an agent's start to its first matching detection,
  and from its first refill (queued behind visible orders, an agent shows nothing until the
  flow has eaten through them and its display comes back); over several runs, the median of
  all the agents found (each run's times are kept), not of the runs' medians, which weigh a
  run that found two agents as much as one that found twenty.
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from feeds.book_simulator import BookSimulator, Episode, IcebergTruth, book_instruments

STRENGTH_BUCKETS = (3.0, 5.0, 10.0, 20.0)
# Refills a minute achieved over an agent's life: (label, from, up to).
PACE_BUCKETS = (("under 1", 0.0, 1.0), ("1-3", 1.0, 3.0), ("3-5", 3.0, 5.0), ("5+", 5.0, 1e9))
# Clarity of an agent's hidden fills against its level's own scatter: (label, from, up to).
CLARITY_BUCKETS = (
    ("under 3", -1e9, 3.0),
    ("3-5", 3.0, 5.0),
    ("5-8", 5.0, 8.0),
    ("8+", 8.0, math.inf),
)
SIDE_OF = {"ACCUMULATION": "BID", "DISTRIBUTION": "ASK", "BID": "BID", "ASK": "ASK"}


@dataclass(frozen=True)
class Detection:
    """What a detector said: symbol, side (BID / ASK) and when (epoch seconds)."""

    symbol: str
    side: str
    at: int


@dataclass(frozen=True)
class DetectionQuality:
    detections: int
    true_positives: int
    icebergs: int
    found: int
    precision: float
    recall: float
    recall_by_strength: dict[float, tuple[int, int]] = field(default_factory=dict)
    recall_by_pace: dict[str, tuple[int, int]] = field(default_factory=dict)
    recall_by_clarity: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Agents that started and ended within their symbol's opening episode (found, all).
    recall_opening_only: tuple[int, int] = (0, 0)
    false_per_instrument_hour: dict[str, float] = field(default_factory=dict)
    median_seconds_to_detect: float = float("nan")
    median_seconds_after_first_refill: float = float("nan")
    # Each agent found: seconds from its start (and from its first refill) to its detection.
    seconds_to_detect: list[int] = field(default_factory=list)
    seconds_after_first_refill: list[int] = field(default_factory=list)


def share_interval(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of the share ``hits / total`` (95 % at the default ``z``):
    where the true share plausibly lies, given how few the counts are. ``(nan, nan)`` for no
    total."""
    if total <= 0:
        return float("nan"), float("nan")
    share = hits / total
    spread = z * z / total
    centre = (share + spread / 2) / (1 + spread)
    half = z * math.sqrt(share * (1 - share) / total + spread / (4 * total)) / (1 + spread)
    return max(centre - half, 0.0), min(centre + half, 1.0)


def describe_share(hits: int, total: int) -> str:
    """``"20 of 23 (0.87; 95 % 0.68-0.95)"``, or ``"0 of 0"``."""
    if total <= 0:
        return "0 of 0"
    low, high = share_interval(hits, total)
    return f"{hits} of {total} ({hits / total:.2f}; 95 % {low:.2f}-{high:.2f})"


def strength_bucket(strength: float) -> float:
    """The largest bucket at or below ``strength`` (below 3: 0)."""
    below = [bucket for bucket in STRENGTH_BUCKETS if strength >= bucket]
    return below[-1] if below else 0.0


def pace_bucket(iceberg: IcebergTruth) -> str:
    """The pace bucket of the refills a minute ``iceberg`` achieved over its life."""
    pace = iceberg.refills * 60.0 / max(iceberg.end - iceberg.start, 1)
    return next(label for label, low, high in PACE_BUCKETS if low <= pace < high)


def clarity_bucket(iceberg: IcebergTruth) -> str | None:
    """The clarity bucket of ``iceberg`` (None if it was never filled at the touch)."""
    clarity = iceberg.clarity
    return next((label for label, low, high in CLARITY_BUCKETS if low <= clarity < high), None)


def score_detections(
    detections: list[Detection],
    icebergs: list[IcebergTruth],
    episodes: list[Episode],
    thin_symbols: set[str],
    instrument_hours: float,
    grace_seconds: int = 60,
    min_refills: int = 2,
) -> DetectionQuality:
    """Match ``detections`` to the agents (see the module docstring)."""
    truth = [iceberg for iceberg in icebergs if iceberg.refills >= min_refills]
    first_hit: dict[int, int] = {}
    true_positives = 0
    false: dict[str, int] = {"all": 0, "thin": 0}
    for detection in detections:
        side = SIDE_OF.get(detection.side, detection.side)
        matched = [
            index
            for index, iceberg in enumerate(truth)
            if iceberg.symbol == detection.symbol
            and iceberg.side == side
            and iceberg.start <= detection.at <= iceberg.end + grace_seconds
        ]
        known = any(
            iceberg.symbol == detection.symbol
            and iceberg.side == side
            and iceberg.start <= detection.at <= iceberg.end + grace_seconds
            for iceberg in icebergs
        )
        if matched or known:
            true_positives += 1
            for index in matched:
                first_hit[index] = min(first_hit.get(index, detection.at), detection.at)
            continue
        false["all"] += 1
        if detection.symbol in thin_symbols:
            false["thin"] += 1
        for episode in episodes:
            if episode.symbol == detection.symbol and episode.start <= detection.at <= episode.end:
                false[episode.kind] = false.get(episode.kind, 0) + 1
    by_strength: dict[float, list[int]] = {bucket: [0, 0] for bucket in STRENGTH_BUCKETS}
    by_pace: dict[str, list[int]] = {label: [0, 0] for label, _, _ in PACE_BUCKETS}
    by_clarity: dict[str, list[int]] = {label: [0, 0] for label, _, _ in CLARITY_BUCKETS}
    for index, iceberg in enumerate(truth):
        bucket = strength_bucket(iceberg.strength)
        clarity = clarity_bucket(iceberg)
        pairs = (
            [by_pace[pace_bucket(iceberg)]]
            + ([by_strength[bucket]] if bucket else [])
            + ([by_clarity[clarity]] if clarity else [])
        )
        for pair in pairs:
            pair[0], pair[1] = pair[0] + (index in first_hit), pair[1] + 1
    opening_only = [
        index
        for index, iceberg in enumerate(truth)
        if any(
            episode.kind == "opening"
            and episode.symbol == iceberg.symbol
            and episode.start <= iceberg.start
            and iceberg.end <= episode.end
            for episode in episodes
        )
    ]
    delays = [first_hit[index] - truth[index].start for index in first_hit]
    after_refill = [
        max(first_hit[index] - truth[index].first_refill, 0)
        for index in first_hit
        if truth[index].first_refill is not None
    ]
    hours = max(instrument_hours, 1e-9)
    return DetectionQuality(
        detections=len(detections),
        true_positives=true_positives,
        icebergs=len(truth),
        found=len(first_hit),
        precision=true_positives / len(detections) if detections else float("nan"),
        recall=len(first_hit) / len(truth) if truth else float("nan"),
        recall_by_strength={k: (v[0], v[1]) for k, v in by_strength.items()},
        recall_by_pace={k: (v[0], v[1]) for k, v in by_pace.items()},
        recall_by_clarity={k: (v[0], v[1]) for k, v in by_clarity.items()},
        recall_opening_only=(sum(index in first_hit for index in opening_only), len(opening_only)),
        false_per_instrument_hour={k: round(v / hours, 3) for k, v in false.items()},
        median_seconds_to_detect=float(np.median(delays)) if delays else float("nan"),
        median_seconds_after_first_refill=(
            float(np.median(after_refill)) if after_refill else float("nan")
        ),
        seconds_to_detect=sorted(delays),
        seconds_after_first_refill=sorted(after_refill),
    )


SESSION_START = 1_763_005_500  # 09:15 IST: the opening minutes are part of every run
CONFIDENCE_STEPS = tuple(np.arange(1.0, 10.01, 0.5).round(1))


def run_benchmark(
    settings,
    seeds=(101, 102, 103),
    instruments: int = 12,
    minutes: int = 60,
    opening_minutes: int = 10,
) -> dict:
    """Run the book simulator for each seed through the signal engine and the level tracker
    and score both. The signals are those of an engine at ``settings`` (what the dashboard
    would have shown); the precision and recall of ACC/DIS at each MIN_CONFIDENCE step come
    from the same engine's shadow gates (:meth:`engine.core.SignalEngine.shadow_gates`):
    what an engine at that setting would have issued, each step with its own cool-downs
    and announced icebergs. Every run starts at 09:15 with the simulator's opening
    (``opening_minutes`` of more flow, arrivals and cancellations). A JSON-ready dict."""
    from engine import SignalEngine, parse_kite_frame
    from engine.signals import ICEBERG_TYPES

    started = time.perf_counter()
    runs, curve_signals = [], []
    sizes = None  # what earlier seeds' icebergs taught, as a stored history would
    for seed in seeds:
        book = book_instruments(instruments, seed=seed)
        simulator = BookSimulator(
            book,
            SESSION_START,
            seed=seed,
            session_seconds=minutes * 60,
            opening_seconds=opening_minutes * 60,
        )
        symbols = {i.instrument_token: i.symbol for i in book}
        uncapped = {"max_daily_signals": 1000}
        engine = SignalEngine(settings.model_copy(update=uncapped), symbols)
        engine.shadow_gates(CONFIDENCE_STEPS)
        if sizes is not None:
            engine.sizes = sizes
        signals, ended, estimated = [], [], {}
        for _ in range(minutes * 60):
            ticks = parse_kite_frame(simulator.frame())
            if len(ticks):
                signals += engine.update(ticks)
                ended += engine.take_ended_icebergs()
                for iceberg in engine.icebergs():  # each one's estimate when first found
                    estimated.setdefault(
                        (iceberg.symbol, iceberg.side, iceberg.first_seen), iceberg
                    )
        ended += list(engine.icebergs())
        sizes = engine.sizes
        context = (
            simulator.icebergs,
            simulator.episodes,
            {i.symbol for i in book if i.thin},
            instruments * minutes / 60,
        )
        gated = [s for s in signals if s.signal_type in ICEBERG_TYPES]
        shadows = {
            step: [
                Detection(symbol, kind, at)
                for symbol, kind, at, _ in issued
                if kind in ICEBERG_TYPES
            ]
            for step, issued in engine.shadow_signals.items()
        }
        runs.append(
            {
                "seed": seed,
                "signals": _as_dict(score_detections(detections_of(gated), *context)),
                "levels": _as_dict(
                    score_detections(
                        [Detection(i.symbol, i.side, i.detected_at) for i in ended], *context
                    )
                ),
                "sizes": size_coverage(list(estimated.values()), simulator.icebergs),
            }
        )
        curve_signals.append((shadows, context))
    curve = []
    for step in CONFIDENCE_STEPS:
        found = detections = right = icebergs = 0
        for shadows, context in curve_signals:
            score = score_detections(shadows[float(step)], *context)
            found, icebergs = found + score.found, icebergs + score.icebergs
            detections, right = detections + score.detections, right + score.true_positives
        curve.append(
            {
                "min_confidence": float(step),
                "precision": right / detections if detections else None,
                "recall": found / icebergs if icebergs else None,
                "signals": detections,
                "right": right,
            }
        )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seeds": list(seeds),
        "instruments": instruments,
        "minutes": minutes,
        "opening_minutes": opening_minutes,
        "min_confidence": settings.min_confidence,
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "seconds": round(time.perf_counter() - started, 1),
        "runs": runs,
        "curve": curve,
    }


def size_coverage(estimates, icebergs: list[IcebergTruth], tick: float = 0.05) -> dict:
    """How often the estimated total's interval, as first published, held the whole order
    of an agent that completed (its first display and its hidden reserve).

    An estimate belongs to the agent of its symbol, side and price that was resting when the
    level was first seen."""
    completed = [t for t in icebergs if t.ended == "completed"]
    covered = judged = 0
    for truth in completed:
        mine = [
            e
            for e in estimates
            if e.symbol == truth.symbol
            and SIDE_OF[e.side] == truth.side
            and abs(e.price - truth.price) < tick / 2
            and truth.start - 60 <= e.first_seen <= truth.end
        ]
        if not mine:
            continue
        first = min(mine, key=lambda e: e.detected_at)
        whole = truth.peak + truth.hidden_total
        judged += 1
        covered += bool(first.total_low <= whole <= first.total_high)
    return {"judged": judged, "covered": covered, "share": covered / judged if judged else None}


def pooled(runs: list[dict], detector: str) -> dict:
    """One score over all ``runs`` (saved results' ``runs``; ``detector`` "signals" or
    "levels"), shaped as one run's: counts and buckets summed, false rates averaged over the
    runs, times the median over every agent found (the median of the runs' medians for
    results saved before the runs kept each agent's time) and how many of them took a minute
    or less (``seconds_to_detect_within_a_minute``: found so, found; likewise from the first
    refill)."""
    keys = ("detections", "true_positives", "icebergs", "found")
    score: dict = {key: sum(run[detector][key] for run in runs) for key in keys}
    for share, hits, total in (
        ("precision", "true_positives", "detections"),
        ("recall", "found", "icebergs"),
    ):
        score[share] = score[hits] / score[total] if score[total] else None
    for name in ("recall_by_strength", "recall_by_pace", "recall_by_clarity"):
        buckets: dict[str, list[int]] = {}
        for run in runs:
            for bucket, (found, count) in run[detector].get(name, {}).items():
                pair = buckets.setdefault(bucket, [0, 0])
                pair[0], pair[1] = pair[0] + found, pair[1] + count
        score[name] = buckets
    score["recall_opening_only"] = [
        sum(run[detector].get("recall_opening_only", (0, 0))[k] for run in runs) for k in (0, 1)
    ]
    false: dict[str, float] = {}
    for run in runs:
        for kind, rate in run[detector]["false_per_instrument_hour"].items():
            false[kind] = false.get(kind, 0.0) + rate / len(runs)
    score["false_per_instrument_hour"] = false
    for name, each in (
        ("median_seconds_to_detect", "seconds_to_detect"),
        ("median_seconds_after_first_refill", "seconds_after_first_refill"),
    ):
        if all(each in run[detector] for run in runs):
            times = [t for run in runs for t in run[detector][each]]
            score[f"{each}_within_a_minute"] = [sum(t <= 60 for t in times), len(times)]
        else:
            times = [run[detector].get(name) for run in runs]
            times = [t for t in times if t is not None]
        score[name] = float(np.median(times)) if times else None
    return score


def detections_of(signals) -> list[Detection]:
    """The signals as detections (symbol, type, exchange time)."""
    return [Detection(s.symbol, str(s.signal_type), int(s.timestamp.timestamp())) for s in signals]


def _as_dict(quality: DetectionQuality) -> dict:
    values = asdict(quality)
    values["recall_by_strength"] = {
        f"{k:g}": list(v) for k, v in quality.recall_by_strength.items()
    }
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in values.items()}


def save_results(results: dict, data_dir: str) -> Path:
    """Keep the last benchmark run in ``DATA_DIR/detection-quality.json``."""
    path = Path(data_dir) / "detection-quality.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    return path


def load_results(data_dir: str) -> dict | None:
    """The last saved run, or None when there is none (or it cannot be read)."""
    try:
        return json.loads((Path(data_dir) / "detection-quality.json").read_text())
    except (OSError, ValueError):
        return None
