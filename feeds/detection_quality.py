"""How well detections match the event simulator's ground truth.

A detection (an iceberg record or an ACCUMULATION / DISTRIBUTION signal) matches an iceberg
agent of the same symbol and side (a hidden buyer: BID / ACCUMULATION; a hidden seller: ASK /
DISTRIBUTION) when it comes between the agent's start and ``grace_seconds`` after its end.

* **recall**: agents with at least ``min_refills`` refills (fewer revealed nothing to
  anyone) that at least one detection matched; also by strength, the refills a minute the
  agent was set to cause (3, 5, 10, 20; behind a busy queue it achieves fewer);
* **precision**: detections that matched an agent, over all detections;
* **false per instrument-hour**: unmatched detections per instrument-hour, overall, on thin
  books, and during each confounder episode (news, spoof, momentum, opening);
* **time to detect**: median seconds from an agent's start to its first matching detection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from feeds.book_simulator import Episode, IcebergTruth

STRENGTH_BUCKETS = (3.0, 5.0, 10.0, 20.0)
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
    false_per_instrument_hour: dict[str, float] = field(default_factory=dict)
    median_seconds_to_detect: float = float("nan")

    def table(self) -> str:
        """The figures as lines of text (for benchmarks and logs)."""
        strengths = " ".join(
            f"{bucket:g}+/min {found}/{total}"
            for bucket, (found, total) in sorted(self.recall_by_strength.items())
        )
        false = " ".join(f"{k} {v:.2f}" for k, v in self.false_per_instrument_hour.items())
        return (
            f"precision {self.precision:.3f} ({self.true_positives}/{self.detections}) · "
            f"recall {self.recall:.3f} ({self.found}/{self.icebergs}) · by strength "
            f"{strengths} · false per instrument-hour {false} · median time to detect "
            f"{self.median_seconds_to_detect:.0f} s"
        )


def achieved_strength(iceberg: IcebergTruth) -> float:
    """Refills of the display per minute the agent actually achieved."""
    return iceberg.refills / max((iceberg.end - iceberg.start) / 60.0, 1 / 60)


def strength_bucket(strength: float) -> float:
    """The largest bucket at or below ``strength`` (below 3: 0)."""
    below = [bucket for bucket in STRENGTH_BUCKETS if strength >= bucket]
    return below[-1] if below else 0.0


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
    for index, iceberg in enumerate(truth):
        bucket = strength_bucket(iceberg.strength)
        if bucket:
            by_strength[bucket][1] += 1
            by_strength[bucket][0] += index in first_hit
    delays = [first_hit[index] - truth[index].start for index in first_hit]
    hours = max(instrument_hours, 1e-9)
    return DetectionQuality(
        detections=len(detections),
        true_positives=true_positives,
        icebergs=len(truth),
        found=len(first_hit),
        precision=true_positives / len(detections) if detections else float("nan"),
        recall=len(first_hit) / len(truth) if truth else float("nan"),
        recall_by_strength={k: (v[0], v[1]) for k, v in by_strength.items()},
        false_per_instrument_hour={k: round(v / hours, 3) for k, v in false.items()},
        median_seconds_to_detect=float(np.median(delays)) if delays else float("nan"),
    )
