"""The backtester: recorded sessions through the live engine, a grid of settings, no future."""

from __future__ import annotations

import numpy as np
import pytest

from backtest import (
    BacktestError,
    Session,
    parse_grid,
    replay,
    run_grid,
    session_of,
    summary,
)
from backtest.__main__ import main
from engine.ticks import encode_kite_frame
from feeds.recording import FrameRecorder
from tests.engine.test_core import START, WATCHLIST, episode, normal_session, warm_session


def record(path, ticks: np.ndarray) -> Session:
    """``ticks`` as the app records them: one frame a second, stamped with its clock."""
    metadata = {"instruments": {str(t): s for t, s in WATCHLIST.items()}, "simulated": False}
    times = ticks["exchange_timestamp"]
    with FrameRecorder(path, metadata) as recorder:
        for second in np.unique(times):
            recorder.write(encode_kite_frame(ticks[times == second]), float(second))
    return session_of(str(path))


def iceberg_session() -> np.ndarray:
    """Ten quiet minutes, then a hidden buyer on ICEBERG for three, then ten calm minutes."""
    warm = warm_session()
    hidden = episode(warm, START + 601, 180)
    volumes = {
        t: int(hidden[hidden["instrument_token"] == t]["volume_traded"][-1]) for t in WATCHLIST
    }
    after = normal_session(START + 782, 600, volumes)
    return np.concatenate([warm, hidden, after])


def test_a_price_jump_after_a_signal_changes_its_outcome_and_nothing_before_it(settings, tmp_path):
    ticks = iceberg_session()
    plain = replay(settings, record(tmp_path / "plain.kfr", ticks))
    [signal] = plain["signals"]
    at = int(signal.timestamp.timestamp())
    # The same session, but ICEBERG jumps 5 % a minute after the signal.
    jumped = ticks.copy()
    later = (jumped["instrument_token"] == 101) & (jumped["exchange_timestamp"] > at + 60)
    for name in ("last_price",):
        jumped[name][later] *= 1.05
    for name in ("bid_price", "ask_price"):
        jumped[name][later] *= 1.05
    moved = replay(settings, record(tmp_path / "jumped.kfr", jumped))
    [same] = moved["signals"]
    assert repr(same) == repr(signal)  # type, time, confidence, factors, levels, size (NaN PCR)
    [before], [after] = plain["outcomes"], moved["outcomes"]
    assert before.outcome == "expired" and after.outcome == "target"
    assert after.closed_at.timestamp() > at + 60


def test_a_grid_runs_every_combination_the_same_in_processes_as_in_one(settings, tmp_path):
    session = record(tmp_path / "s.kfr", iceberg_session())
    grid = parse_grid(
        ["OPENING_QUIET_MINUTES=10,20", "stop_atr_multiple=1.5", "STOP_ATR_MULTIPLE=2"], settings
    )
    assert grid == [
        {"opening_quiet_minutes": 10, "stop_atr_multiple": 1.5},
        {"opening_quiet_minutes": 10, "stop_atr_multiple": 2.0},
        {"opening_quiet_minutes": 20, "stop_atr_multiple": 1.5},
        {"opening_quiet_minutes": 20, "stop_atr_multiple": 2.0},
    ]
    serial = run_grid(settings, grid, [session], workers=1)
    parallel = run_grid(settings, grid, [session], workers=2)
    timing = ("seconds", "ticks_per_second")
    assert [{k: v for k, v in r.items() if k not in timing} for r in serial] == [
        {k: v for k, v in r.items() if k not in timing} for r in parallel
    ]
    # The hidden buyer trades from 09:25 to 09:28: a 20-minute quiet opening holds it back.
    assert [row["signals"] for row in serial] == [1, 1, 0, 0]


def test_bad_sessions_and_settings_say_what_was_wrong(settings, tmp_path):
    with pytest.raises(BacktestError, match="no such recording"):
        session_of(str(tmp_path / "missing.kfr"))
    with pytest.raises(BacktestError, match="sim:SEED"):
        session_of("sim:seven")
    (tmp_path / "notes.kfr").write_text("not a recording")
    with pytest.raises(BacktestError, match="not a frame recording"):
        session_of(str(tmp_path / "notes.kfr"))
    with pytest.raises(BacktestError, match="NAME=VALUE"):
        parse_grid(["WATCHLIST=INFY"], settings)
    with pytest.raises(BacktestError, match="'high' is not a float"):
        parse_grid(["MIN_CONFIDENCE=high"], settings)
    with pytest.raises(BacktestError, match="min_confidence"):
        parse_grid(["MIN_CONFIDENCE=11"], settings)  # the settings' own range: 0-10


def test_the_summary_is_net_with_intervals_and_the_drawdown_of_the_equity_curve():
    net = np.array([1.0, -1.0, -1.0, 2.0, -0.5])
    figures = summary(net, net + 0.2)
    assert figures["decided"] == 5 and figures["wins"] == 2
    assert figures["net_expectancy_r"] == pytest.approx(0.1)
    assert figures["gross_expectancy_r"] == pytest.approx(0.3)
    assert figures["profit_factor"] == pytest.approx(3.0 / 2.5)
    assert figures["max_drawdown_r"] == pytest.approx(2.0)  # from +1 down to -1
    assert figures["net_expectancy_low"] < 0.1 < figures["net_expectancy_high"]
    assert 0 < figures["win_rate_low"] < 0.4 < figures["win_rate_high"] < 1


def test_the_command_prints_one_row_per_setting(settings, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    path = tmp_path / "s.kfr"
    record(path, iceberg_session())
    assert main([str(path), "--set", "MIN_CONFIDENCE=5,9", "--workers", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("setting")  # only one value was varied
    assert lines[1].startswith("MIN_CONFIDENCE=5 ") and lines[2].startswith("MIN_CONFIDENCE=9 ")
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nothing.kfr")])


def test_a_run_is_stored_and_read_back_for_comparison(settings, tmp_path):
    from database import SignalStore

    session = record(tmp_path / "s.kfr", iceberg_session())
    rows = run_grid(settings, parse_grid(["MIN_CONFIDENCE=5,9"], settings), [session], 1)
    store = SignalStore(f"sqlite:///{tmp_path / 'signals.db'}")
    store.migrate()
    run_id = store.save_backtest(["s.kfr"], rows)
    sessions, stored = store.backtest_results(run_id)
    assert sessions == ["s.kfr"]
    assert [row["setting"] for row in stored] == [{"min_confidence": 5.0}, {"min_confidence": 9.0}]
    assert [row["signals"] for row in stored] == [row["signals"] for row in rows]
    assert stored[0]["net_expectancy_r"] == pytest.approx(rows[0]["net_expectancy_r"])
    assert store.backtest_runs()["run_id"].tolist() == [run_id]
    store.close()
