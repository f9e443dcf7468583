"""Plotly figures for the pages. Pure: data in, ``go.Figure`` out (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from engine.sessions import IST_ZONE
from engine.signals import direction_of

SIGNAL_COLOURS = {
    "ACCUMULATION": "#2ecc71",  # green
    "DISTRIBUTION": "#e74c3c",  # red
    "BUY": "#3498db",  # blue
    "SELL": "#f39c12",  # orange
}
LEVEL_COLOURS = {"entry": "#bdc3c7", "target": "#2ecc71", "stop": "#e74c3c"}
ICEBERG_COLOURS = {"BID": "#2ecc71", "ASK": "#e74c3c"}  # hidden buyer / hidden seller


def _add_icebergs(figure: go.Figure, icebergs: Iterable, symbol: str, since=None) -> None:
    """A thick segment per iceberg of ``symbol`` at its price, from when it was first seen
    to when it was last seen (ended ones too), hover text with its evidence."""
    for iceberg in icebergs:
        if iceberg.symbol != symbol:
            continue
        start, end = pd.to_datetime([iceberg.first_seen, iceberg.last_seen], unit="s", utc=True)
        start, end = start.tz_convert(IST_ZONE), end.tz_convert(IST_ZONE)
        if since is not None and end < since:
            continue
        who = "hidden buyer" if iceberg.side == "BID" else "hidden seller"
        figure.add_trace(
            go.Scatter(
                x=[start, end],
                y=[iceberg.price, iceberg.price],
                mode="lines+markers",
                name=f"iceberg {iceberg.side}",
                line={"color": ICEBERG_COLOURS[iceberg.side], "width": 5},
                marker={"symbol": "diamond", "size": 8},
                opacity=0.9 if iceberg.state == "active" else 0.45,
                hovertext=f"{who} at {iceberg.price:.2f} ({iceberg.state}): {iceberg.refills} "
                f"refills, {iceberg.hidden_volume:,.0f} hidden shares revealed",
                hoverinfo="text",
            )
        )


def _layout(figure: go.Figure, title: str, height: int = 280) -> go.Figure:
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        showlegend=False,
        hovermode="x unified",
    )
    return figure


def price_chart(
    history: pd.DataFrame, signals: Iterable, symbol: str, icebergs: Iterable = ()
) -> go.Figure:
    """Last price with a marker per signal, the latest signal's entry/target/stop lines and
    a segment at each iceberg's price while it was seen."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=history.index,
            y=history["last_price"],
            mode="lines",
            name="last price",
            line={"color": "#ecf0f1", "width": 1.5},
        )
    )
    _add_icebergs(figure, icebergs, symbol, history.index.min() if len(history) else None)
    mine = [s for s in signals if s.symbol == symbol and s.timestamp is not None]
    for kind, colour in SIGNAL_COLOURS.items():
        of_kind = [s for s in mine if str(s.signal_type) == kind]
        if not of_kind:
            continue
        figure.add_trace(
            go.Scatter(
                x=[s.timestamp for s in of_kind],
                y=[s.entry for s in of_kind],
                mode="markers",
                name=kind,
                marker={
                    "color": colour,
                    "size": 13,
                    "symbol": "triangle-up" if direction_of(kind) > 0 else "triangle-down",
                    "line": {"color": "#111", "width": 1},
                },
                hovertext=[f"{kind} {s.confidence:.1f}/10" for s in of_kind],
            )
        )
    if mine:
        latest = mine[-1]
        for label, level in (
            ("entry", latest.entry),
            ("target", latest.target),
            ("stop", latest.stop_loss),
        ):
            figure.add_hline(
                y=level,
                line={"color": LEVEL_COLOURS[label], "dash": "dash", "width": 1},
                annotation_text=f"{label} {level:.2f}",
                annotation_position="top left",
            )
    return _layout(figure, f"{symbol}: price and signals", height=320)


def ratio_chart(history: pd.DataFrame, threshold: float, symbol: str) -> go.Figure:
    """Institutional ratio over time against the detection threshold."""
    figure = go.Figure(
        go.Scatter(
            x=history.index,
            y=history["institutional_ratio"],
            mode="lines",
            line={"color": "#9b59b6"},
            name="institutional ratio",
        )
    )
    figure.add_hline(
        y=threshold,
        line={"color": "#e67e22", "dash": "dot"},
        annotation_text=f"threshold {threshold:g}",
    )
    return _layout(figure, f"{symbol}: institutional ratio")


def imbalance_chart(history: pd.DataFrame, threshold: float, symbol: str) -> go.Figure:
    """Visible order imbalance (-1 selling .. +1 buying) with the rule's thresholds."""
    imbalance = history["order_imbalance"]
    figure = go.Figure(
        go.Bar(
            x=history.index,
            y=imbalance,
            name="order imbalance",
            marker={"color": ["#2ecc71" if v >= 0 else "#e74c3c" for v in imbalance.fillna(0)]},
        )
    )
    for level in (threshold, -threshold):
        figure.add_hline(y=level, line={"color": "#7f8c8d", "dash": "dot"})
    figure.update_yaxes(range=[-1, 1])
    return _layout(figure, f"{symbol}: order imbalance")


def depth_heatmap(
    depth: pd.DataFrame, signals: Iterable, symbol: str, icebergs: Iterable = ()
) -> go.Figure:
    """Time x price with the visible 5-level book's quantity as colour, the last price on
    top, trades as dots sized by their volume, the symbol's icebergs at their price while
    they were seen, and its signals where they fired."""
    book = depth[depth["side"] != "trade"]
    trades = depth[depth["side"] == "trade"]
    grid = book.pivot_table(index="price", columns="time", values="quantity", aggfunc="sum")
    figure = go.Figure(
        go.Heatmap(
            x=grid.columns,
            y=grid.index,
            z=grid.to_numpy(),
            colorscale="Viridis",
            colorbar={"title": "shares"},
            name="visible book",
            hoverongaps=False,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=trades["time"],
            y=trades["price"],
            mode="lines",
            name="last price",
            line={"color": "#ecf0f1", "width": 1.2},
        )
    )
    traded = trades[trades["quantity"] > 0]
    if len(traded):
        size = 4 + 18 * np.sqrt(traded["quantity"] / traded["quantity"].max())
        figure.add_trace(
            go.Scatter(
                x=traded["time"],
                y=traded["price"],
                mode="markers",
                name="traded",
                marker={"size": size, "color": "rgba(236,240,241,0.35)"},
                hovertext=[f"{q:,.0f} shares" for q in traded["quantity"]],
            )
        )
    start = trades["time"].min() if len(trades) else None
    _add_icebergs(figure, icebergs, symbol, start)
    mine = [
        s for s in signals if s.symbol == symbol and s.timestamp and start and s.timestamp >= start
    ]
    for kind, colour in SIGNAL_COLOURS.items():
        of_kind = [s for s in mine if str(s.signal_type) == kind]
        if of_kind:
            figure.add_trace(
                go.Scatter(
                    x=[s.timestamp for s in of_kind],
                    y=[s.entry for s in of_kind],
                    mode="markers",
                    name=kind,
                    marker={"color": colour, "size": 14, "symbol": "star"},
                )
            )
    return _layout(figure, f"{symbol}: visible book (5 levels a side) and trades", height=360)


def cvd_chart(history: pd.DataFrame, symbol: str) -> go.Figure:
    """The day's cumulative volume delta (buyer- minus seller-initiated shares, by the quote
    rule) under the price: a rising price on a falling delta is buying that is being sold."""
    delta = history["cvd"]
    figure = go.Figure(
        go.Scatter(
            x=history.index,
            y=delta,
            mode="lines",
            name="cumulative volume delta",
            line={"color": "#5dade2", "width": 1.5},
            fill="tozeroy",
        )
    )
    figure.add_hline(y=0, line={"color": "#7f8c8d", "dash": "dot"})
    figure.update_yaxes(title_text="shares")
    return _layout(figure, f"{symbol}: cumulative volume delta (today)", height=220)


def watchlist_ratio_chart(metrics: pd.DataFrame, threshold: float) -> go.Figure:
    """Every symbol's institutional ratio at a glance, those over the threshold highlighted."""
    ordered = metrics[["symbol", "institutional_ratio"]].fillna(0.0)
    ordered = ordered.sort_values("institutional_ratio")
    colours = ["#e67e22" if r >= threshold else "#566573" for r in ordered["institutional_ratio"]]
    figure = go.Figure(
        go.Bar(
            x=ordered["institutional_ratio"],
            y=ordered["symbol"],
            orientation="h",
            marker={"color": colours},
        )
    )
    figure.add_vline(x=threshold, line={"color": "#e67e22", "dash": "dot"})
    return _layout(
        figure, "Institutional ratio across the watchlist", height=max(220, 26 * len(ordered) + 60)
    )


def time_series_chart(frame: pd.DataFrame, column: str, title: str, colour: str) -> go.Figure:
    """One column of a time-indexed frame as a line (health page)."""
    figure = go.Figure(
        go.Scatter(x=frame.index, y=frame[column], mode="lines", line={"color": colour})
    )
    # From zero: an autoscaled axis makes 10.345 vs 10.36 ticks/s look like a swing.
    top = float(frame[column].max()) if len(frame) else 0.0
    figure.update_yaxes(range=[0, max(top * 1.15, 1.0)])
    return _layout(figure, title, height=220)


def _days_axis(figure: go.Figure, days) -> go.Figure:
    """A calendar-day x axis; a single day gets a day either side instead of milliseconds."""
    days = pd.to_datetime(pd.Series(days)).dropna().unique()
    figure.update_xaxes(tickformat="%d %b", type="date")
    if len(days) <= 1:
        centre = pd.Timestamp(days[0]) if len(days) else pd.Timestamp.now().normalize()
        figure.update_xaxes(
            range=[centre - pd.Timedelta(days=1), centre + pd.Timedelta(days=1)], dtick=86_400_000
        )
    return figure


def signals_per_day_chart(daily: pd.DataFrame) -> go.Figure:
    """Stacked bars: signals per IST day by type (``SignalStore.daily_summary``)."""
    figure = go.Figure()
    for kind, colour in SIGNAL_COLOURS.items():
        of_kind = daily[daily["signal_type"] == kind]
        if len(of_kind):
            figure.add_trace(
                go.Bar(
                    x=of_kind["trade_date"],
                    y=of_kind["signals"],
                    name=kind,
                    marker={"color": colour},
                    width=0.8 * 86_400_000,  # a day's bar on a date axis, in milliseconds
                )
            )
    figure.update_layout(barmode="stack")
    figure = _layout(figure, "Signals per day by type")
    figure.update_layout(showlegend=True)
    return _days_axis(figure, daily["trade_date"])


def cumulative_r_chart(series: pd.DataFrame) -> go.Figure:
    """Cumulative R of decided outcomes, day by day."""
    figure = go.Figure(
        go.Scatter(
            x=series.index,
            y=series["cumulative_r"],
            mode="lines+markers",
            line={"color": "#2ecc71"},
        )
    )
    figure.add_hline(y=0, line={"color": "#7f8c8d", "dash": "dot"})
    return _days_axis(_layout(figure, "Cumulative R"), series.index)


def rolling_win_rate_chart(series: pd.DataFrame) -> go.Figure:
    """Win rate over the last few days of decided outcomes."""
    figure = go.Figure(
        go.Scatter(
            x=series.index,
            y=series["rolling_win_rate"],
            mode="lines+markers",
            line={"color": "#3498db"},
            marker={"size": 8},
        )
    )
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    return _days_axis(_layout(figure, "Win rate, rolling 5 days"), series.index)


def equity_curve_chart(curve: pd.Series) -> go.Figure:
    """Cumulative R outcome by outcome."""
    figure = go.Figure(
        go.Scatter(x=curve.index, y=curve.to_numpy(), mode="lines", line={"color": "#2ecc71"})
    )
    figure.add_hline(y=0, line={"color": "#7f8c8d", "dash": "dot"})
    return _layout(figure, "Equity curve (R)", height=300)


def win_rate_chart(groups: pd.DataFrame, column: str, title: str) -> go.Figure:
    """Win rate per group with its 95% interval as error bars."""
    rate = groups["win_rate"]
    figure = go.Figure(
        go.Bar(
            x=groups[column].astype(str),
            y=rate,
            marker={"color": [SIGNAL_COLOURS.get(str(v), "#3498db") for v in groups[column]]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": groups["ci_high"] - rate,
                "arrayminus": rate - groups["ci_low"],
            },
            customdata=groups["outcomes"],
            hovertemplate="%{x}: %{y:.0%} of %{customdata} outcomes<extra></extra>",
        )
    )
    # The sample sizes go under the bars, where the error bars cannot cross them.
    figure.update_xaxes(
        tickvals=groups[column].astype(str),
        ticktext=[f"{v}<br>n={n}" for v, n in zip(groups[column], groups["outcomes"], strict=True)],
    )
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    return _layout(figure, title)


def distribution_chart(counts: pd.Series, title: str) -> go.Figure:
    """How many signals of each type."""
    figure = go.Figure(
        go.Pie(
            labels=counts.index.astype(str),
            values=counts.to_numpy(),
            hole=0.5,
            marker={"colors": [SIGNAL_COLOURS.get(str(k), "#95a5a6") for k in counts.index]},
        )
    )
    figure = _layout(figure, title)
    figure.update_layout(showlegend=True)
    return figure
