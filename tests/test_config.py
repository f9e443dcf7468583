"""Settings: defaults, environment, and clear errors for bad values."""

from __future__ import annotations

import pytest

from config import ConfigError, Settings, load_settings


def test_defaults_match_the_documented_ones(monkeypatch):
    settings = Settings(_env_file=None)
    assert settings.min_confidence == 7
    assert settings.max_daily_signals == 6
    assert settings.institutional_threshold == 2.5
    assert settings.enable_signal_persistence is True


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("MIN_CONFIDENCE", "8.5")
    monkeypatch.setenv("ENABLE_REAL_PCR", "true")
    settings = load_settings(_env_file=None)
    assert settings.min_confidence == 8.5 and settings.enable_real_pcr is True


def test_out_of_range_value_names_the_variable_and_the_range(monkeypatch):
    monkeypatch.setenv("MIN_CONFIDENCE", "42")
    with pytest.raises(ConfigError, match=r"MIN_CONFIDENCE.*got '42'.*>= 1 and <= 10"):
        load_settings(_env_file=None)


def test_non_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("INSTITUTIONAL_THRESHOLD", "lots")
    with pytest.raises(ConfigError, match=r"INSTITUTIONAL_THRESHOLD.*valid number"):
        load_settings(_env_file=None)


def test_inconsistent_windows_are_explained(monkeypatch):
    monkeypatch.setenv("WINDOW_SECONDS", "62")
    with pytest.raises(ConfigError, match="multiple of BUCKET_SECONDS"):
        load_settings(_env_file=None)


def test_env_file_is_read(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("MAX_DAILY_SIGNALS=3\n")
    assert load_settings(_env_file=env_file).max_daily_signals == 3


def test_secret_values_are_never_echoed(monkeypatch):
    monkeypatch.setenv("KITE_API_SECRET", "s3cr3t-value")
    settings = load_settings(_env_file=None)
    assert "s3cr3t-value" not in repr(settings) and "s3cr3t-value" not in str(settings)
    assert settings.kite_api_secret.get_secret_value() == "s3cr3t-value"


def test_env_example_documents_every_variable():
    from pathlib import Path

    from config import env_example

    documented = Path(__file__).resolve().parent.parent.joinpath(".env.example").read_text()
    for name in Settings.model_fields:
        assert f"{name.upper()}=" in documented, name
    assert documented == env_example(), "regenerate with: python config.py > .env.example"


def test_watchlist_is_trimmed_upper_cased_and_deduplicated(monkeypatch):
    monkeypatch.setenv("WATCHLIST", " reliance, TCS ,,tcs, infy ")
    assert load_settings(_env_file=None).symbols == ["RELIANCE", "TCS", "INFY"]


def test_replay_without_a_file_is_explained(monkeypatch):
    monkeypatch.setenv("DATA_SOURCE", "replay")
    with pytest.raises(ConfigError, match="needs REPLAY_FILE"):
        load_settings(_env_file=None)


def test_bad_holiday_dates_are_explained(monkeypatch):
    monkeypatch.setenv("MARKET_HOLIDAYS", "2025-13-40")
    with pytest.raises(ConfigError, match="MARKET_HOLIDAYS"):
        load_settings(_env_file=None)


def test_the_readme_lists_every_variable_as_config_says():
    from pathlib import Path

    from config import markdown_table

    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    assert markdown_table() in readme, "regenerate the table with: python config.py --markdown"


def test_a_watchlist_file_replaces_the_watchlist_and_a_missing_one_is_named(tmp_path, monkeypatch):
    listed = tmp_path / "mine.txt"
    listed.write_text("# my list\nnse:reliance  # the big one\nNFO:nifty-i, BSE:TCS\n\n")
    monkeypatch.setenv("WATCHLIST", "INFY")
    monkeypatch.setenv("WATCHLIST_FILE", str(listed))
    assert Settings(_env_file=None).symbols == ["RELIANCE", "NFO:NIFTY-I", "BSE:TCS"]
    monkeypatch.setenv("WATCHLIST_FILE", str(tmp_path / "gone.txt"))
    with pytest.raises(ConfigError, match=r"WATCHLIST_FILE .*gone\.txt does not exist"):
        load_settings()


def test_the_shipped_watchlists_are_entries_the_simulator_can_run():
    from pathlib import Path

    from config import parse_symbols
    from feeds.simulator import simulated_instruments

    folder = Path(__file__).resolve().parent.parent / "watchlists"
    futures = parse_symbols((folder / "index-futures.txt").read_text())
    known, unknown = simulated_instruments(futures)
    assert len(known) == 5 and unknown == []
    assert all(i.symbol.endswith("FUT") and i.entry.endswith("-I") for i in known)
    nifty = parse_symbols((folder / "nifty50.txt").read_text())
    assert len(nifty) == 50 and all(":" not in s for s in nifty)
