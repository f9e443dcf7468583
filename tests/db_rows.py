"""Signal rows for the database tests (made-up values, not market data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.sessions import IST


def signal_dict(
    signal_id: str,
    when: datetime,
    symbol: str = "RELIANCE",
    signal_type: str = "ACCUMULATION",
    confidence: float = 8.0,
    entry: float = 100.0,
    simulated: bool = True,
) -> dict:
    long = signal_type in ("ACCUMULATION", "BUY")
    return {
        "id": signal_id,
        "symbol": symbol,
        "instrument_token": 738561,
        "signal_type": signal_type,
        "confidence": confidence,
        "rank_points": 12.0,
        "entry": entry,
        "target": entry + (2.0 if long else -2.0),
        "stop_loss": entry - (1.0 if long else -1.0),
        "institutional_ratio": 4.2,
        "order_imbalance": -0.4,
        "volume_surge": None,
        "pcr": None,
        "pcr_bias": "UNKNOWN",
        "factors": {"base": 3, "pcr": 1, "total": 9},
        "signal_time": when.astimezone(UTC),
        "trade_date": when.astimezone(IST).date(),
        "source": "simulator",
        "simulated": simulated,
    }


def outcome_dict(
    signal_id: str, when: datetime, r_multiple: float, outcome: str, net: bool = True
) -> dict:
    """An outcome row; with ``net`` (schema 5 on) 0.3 R of costs, on 1,000 shares."""
    costs = {"quantity": 1_000, "costs": 30.0, "net_pnl_pct": r_multiple - 0.03}
    return ({**costs, "net_r": r_multiple - 0.3} if net else {}) | {
        "signal_id": signal_id,
        "outcome": outcome,
        "exit_price": 100.0 + r_multiple,
        "pnl_pct": r_multiple,
        "r_multiple": r_multiple,
        "mfe_pct": max(r_multiple, 0.0) + 0.1,
        "mae_pct": 0.2,
        "minutes_to_outcome": 12.5,
        "closed_at": (when + timedelta(minutes=12.5)).astimezone(UTC),
    }
