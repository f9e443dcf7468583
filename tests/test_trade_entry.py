"""The manual-trade checks name each bad field."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.sessions import IST
from trade_entry import TradeInput, check_trade

SIGNAL_TIME = datetime(2026, 11, 24, 10, 15, 20, tzinfo=IST)
NOW = datetime(2026, 11, 24, 14, 0, tzinfo=IST)


def check(**changes):
    values = dict(
        quantity="10",
        entry_price=1330.75,
        exit_price=1325.0,
        entry_time=SIGNAL_TIME + timedelta(minutes=1),
        exit_time=SIGNAL_TIME + timedelta(minutes=30),
    )
    values.update(changes)
    return check_trade(TradeInput(**values), 1330.75, SIGNAL_TIME, now=NOW)


def test_a_sound_trade_has_no_error_and_its_quantity():
    assert check() == ({}, 10)


def test_quantities_that_are_not_positive_whole_numbers_are_named():
    assert check(quantity="2.5")[0] == {
        "quantity": "Quantity: '2.5' is not a whole number of shares"
    }
    assert check(quantity="-5")[0]["quantity"] == "Quantity: must be at least 1 share"
    assert "more than 10,000,000" in check(quantity="1000000000000")[0]["quantity"]


def test_a_price_far_from_the_signal_needs_confirming():
    assert check(entry_price=1519.85)[0] == {}  # 14 % away: within the band
    wide, _ = check(entry_price=1700.0)
    assert wide["entry_price"].startswith("Entry price: 1,700.00 is 28% from the signal's entry")
    far, _ = check(exit_price=1e11)
    assert "Exit price: 100,000,000,000.00 is" in far["exit_price"]
    assert check(exit_price=1e11, prices_confirmed=True)[0] == {}
    assert check(entry_price=0.0)[0]["entry_price"] == "Entry price: must be a positive price"
    assert check(exit_price=None)[0]["exit_price"] == "Exit price: enter the price"


def test_times_must_follow_the_signal_and_each_other():
    early = check(entry_time=SIGNAL_TIME - timedelta(minutes=5))[0]
    assert early["entry_time"] == "Entry time: before the signal (2026-11-24 10:15 IST)"
    backwards = check(exit_time=SIGNAL_TIME)[0]
    assert backwards["exit_time"] == "Exit time: must be after the entry time"
    assert check(exit_time=NOW + timedelta(hours=1))[0]["exit_time"] == "Exit time: in the future"
    assert check(entry_time=None)[0]["entry_time"] == "Entry time: enter when you entered"
