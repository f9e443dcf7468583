"""Performance figures from stored outcomes. Pure pandas: frames in, numbers and frames out.

A *win* is an outcome with a positive R multiple (a target hit, or an expiry in profit); a
loss is anything else. Win rates always come with a Wilson 95% interval, and below
``SMALL_SAMPLE`` decided outcomes the figures are labelled as too few to judge.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SMALL_SAMPLE = 30
Z95 = 1.959963984540054
CONFIDENCE_BINS = [0.0, 7.0, 8.0, 9.0, 10.0001]
CONFIDENCE_LABELS = ["below 7", "7-8", "8-9", "9-10"]


def wilson_interval(wins: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a win rate (0..1); (0, 1) when nothing is decided."""
    if total <= 0:
        return 0.0, 1.0
    rate = wins / total
    denominator = 1 + z * z / total
    centre = (rate + z * z / (2 * total)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def describe_win_rate(wins: int, total: int) -> str:
    """``58% (95% CI 41-73%, n = 36)``; with a small sample, the counts first."""
    if total == 0:
        return "no decided outcomes yet"
    low, high = wilson_interval(wins, total)
    interval = f"95% CI {low:.0%}-{high:.0%}"
    if total < SMALL_SAMPLE:
        return f"{wins} of {total} won ({interval}): too few outcomes to judge"
    return f"{wins / total:.0%} ({interval}, n = {total})"


NET = {"r_multiple": "net_r", "pnl_pct": "net_pnl_pct"}  # the same figures after costs


def net_view(outcomes: pd.DataFrame) -> pd.DataFrame:
    """``outcomes`` with the net R and P/L in the gross columns' places (rows without net
    figures dropped), so every function here can read either."""
    net = outcomes.dropna(subset=list(NET.values()))
    return net.drop(columns=list(NET)).rename(columns={v: k for k, v in NET.items()})


def summarize(outcomes: pd.DataFrame) -> dict:
    """Headline figures of decided outcomes (columns ``r_multiple``, ``pnl_pct``; for the
    figures after costs pass :func:`net_view`)."""
    total = len(outcomes)
    if total == 0:
        return {
            "total": 0,
            "wins": 0,
            "losses": 0,
            "win_rate": float("nan"),
            "ci_low": 0.0,
            "ci_high": 1.0,
            "avg_pnl_pct": float("nan"),
            "avg_r": float("nan"),
            "total_r": 0.0,
            "profit_factor": float("nan"),
            "expectancy_r": float("nan"),
            "small_sample": True,
        }
    r = outcomes["r_multiple"].astype(float)
    wins = int((r > 0).sum())
    gains, losses = r[r > 0].sum(), -r[r <= 0].sum()
    low, high = wilson_interval(wins, total)
    win_rate = wins / total
    avg_win = r[r > 0].mean() if wins else 0.0
    avg_loss = -r[r <= 0].mean() if total - wins else 0.0
    return {
        "total": total,
        "wins": wins,
        "losses": total - wins,
        "win_rate": win_rate,
        "ci_low": low,
        "ci_high": high,
        "avg_pnl_pct": float(outcomes["pnl_pct"].astype(float).mean()),
        "avg_r": float(r.mean()),
        "total_r": float(r.sum()),
        "profit_factor": float(gains / losses) if losses > 0 else float("inf") if gains else 0.0,
        # expected R per signal: P(win) x average win - P(loss) x average loss (= mean R)
        "expectancy_r": float(win_rate * avg_win - (1 - win_rate) * avg_loss),
        "small_sample": total < SMALL_SAMPLE,
    }


def by_group(outcomes: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per value of ``column``: count, wins, win rate with its interval, average and total R."""
    rows = []
    for value, group in outcomes.groupby(column, observed=True, sort=True):
        figures = summarize(group)
        rows.append(
            {
                column: value,
                "outcomes": figures["total"],
                "wins": figures["wins"],
                "win_rate": figures["win_rate"],
                "ci_low": figures["ci_low"],
                "ci_high": figures["ci_high"],
                "avg_r": figures["avg_r"],
                "total_r": figures["total_r"],
                "profit_factor": figures["profit_factor"],
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            column,
            "outcomes",
            "wins",
            "win_rate",
            "ci_low",
            "ci_high",
            "avg_r",
            "total_r",
            "profit_factor",
        ],
    )


def confidence_bucket(confidence: pd.Series) -> pd.Series:
    """Confidence 0-10 into ``below 7``, ``7-8``, ``8-9``, ``9-10`` (left-closed)."""
    return pd.cut(confidence.astype(float), CONFIDENCE_BINS, labels=CONFIDENCE_LABELS, right=False)


def equity_curve(outcomes: pd.DataFrame) -> pd.Series:
    """Cumulative R in the order outcomes closed (``closed_at``)."""
    ordered = outcomes.sort_values("closed_at")
    return pd.Series(
        ordered["r_multiple"].astype(float).cumsum().to_numpy(),
        index=pd.Index(ordered["closed_at"], name="closed_at"),
        name="cumulative_r",
    )


def daily_series(daily: pd.DataFrame, window: int = 5, net: bool = True) -> pd.DataFrame:
    """From ``SignalStore.daily_summary``: per day, cumulative R and a rolling win rate, net
    of costs unless ``net`` is False."""
    if daily.empty:
        return pd.DataFrame(
            columns=["signals", "decided", "wins", "r_total", "cumulative_r", "rolling_win_rate"]
        )
    if net:
        daily = daily.drop(columns=["wins", "r_total"]).rename(
            columns={"net_wins": "wins", "net_r_total": "r_total"}
        )
    per_day = daily.groupby("trade_date")[["signals", "decided", "wins", "r_total"]].sum()
    per_day["cumulative_r"] = per_day["r_total"].cumsum()
    wins = per_day["wins"].rolling(window, min_periods=1).sum()
    decided = per_day["decided"].rolling(window, min_periods=1).sum()
    per_day["rolling_win_rate"] = np.where(decided > 0, wins / decided.where(decided > 0), np.nan)
    return per_day


def best_and_worst(by_type: pd.DataFrame) -> str:
    """One line naming the best and the worst signal type by total R, in words that fit
    the numbers (a "worst" that still made money is called the weakest)."""
    if by_type.empty:
        return ""
    ranked = by_type.sort_values("total_r", ascending=False)

    def describe(row) -> str:
        outcomes = int(row["outcomes"])
        noun = "outcome" if outcomes == 1 else "outcomes"
        return f"**{row['signal_type']}** ({row['total_r']:+.1f} R over {outcomes} {noun})"

    best, worst = ranked.iloc[0], ranked.iloc[-1]
    if len(ranked) == 1:
        return f"Only type so far: {describe(best)}"
    last = "worst" if worst["total_r"] < 0 else "weakest"
    return f"Best type: {describe(best)} · {last}: {describe(worst)}"
