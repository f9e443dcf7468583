"""Market hours label the feed; they never gate ticks."""

from __future__ import annotations

from datetime import date, datetime

from feeds.market_hours import IST, is_market_open, market_phase


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2025, 11, day, hour, minute, tzinfo=IST)


def test_weekday_session_is_open_from_0915_to_1530_ist():
    assert market_phase(at(13, 9, 14)) == "pre-open"
    assert is_market_open(at(13, 9, 15))
    assert is_market_open(at(13, 15, 29))
    assert market_phase(at(13, 15, 30)) == "closed"


def test_weekends_and_configured_holidays_are_closed():
    assert market_phase(at(15, 11, 0)) == "weekend"  # a Saturday
    assert market_phase(at(13, 11, 0), holidays={date(2025, 11, 13)}) == "holiday"


def test_time_zone_of_the_input_does_not_matter():
    utc_morning = datetime.fromisoformat("2025-11-13T04:00:00+00:00")  # 09:30 IST
    assert is_market_open(utc_morning)
