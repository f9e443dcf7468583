"""One typed settings object, read once from the environment and `.env`, then passed down.

Every variable is documented in `.env.example`. Names are case-insensitive environment
variables (``MIN_CONFIDENCE=8``). An invalid value stops start-up with a :class:`ConfigError`
that names the variable and what it accepts; secret values are never echoed.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WATCHLIST = (
    "RELIANCE",
    "TCS",
    "INFY",
    "HDFCBANK",
    "ICICIBANK",
    "SBIN",
    "ITC",
    "LT",
    "AXISBANK",
    "KOTAKBANK",
)


def parse_symbols(text: str) -> list[str]:
    """Watchlist entries from comma- or newline-separated text, ``#`` starting a comment:
    trimmed, upper-cased, de-duplicated; ``NSE:X`` is written ``X`` (a bare symbol is NSE),
    every other exchange keeps its prefix (``NFO:NIFTY-I``, ``BSE:RELIANCE``)."""
    symbols: list[str] = []
    for line in text.splitlines():
        for raw in line.partition("#")[0].split(","):
            symbol = raw.strip().upper().replace(" ", "")
            symbol = symbol.removeprefix("NSE:")
            if symbol and symbol not in symbols:
                symbols.append(symbol)
    return symbols


class ConfigError(ValueError):
    """A setting that is missing, malformed or out of range; the message names the variable."""


class Settings(BaseSettings):
    """Application and engine settings. Units are in the field descriptions."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # --- application -----------------------------------------------------------------
    env: Literal["development", "production", "test"] = Field(
        "development", description="Deployment flavour."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Logging threshold."
    )
    tz: str = Field("Asia/Kolkata", description="Time zone used to label times in the UI.")

    data_dir: str = Field("data", description="Where the database, logs and recordings live.")
    app_password_hash: SecretStr = Field(
        SecretStr(""),
        description="Optional password gate: a hash made by `python auth.py` (empty = no gate).",
    )
    api_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token for machine readers: turns the read API (/api/v1) on and "
        "gives /health's details to `Authorization: Bearer <token>` only (empty = API off).",
    )

    # --- market data ----------------------------------------------------------------------
    data_source: Literal["simulator", "kite", "replay"] = Field(
        "simulator", description="Where ticks come from."
    )
    watchlist: str = Field(
        ",".join(DEFAULT_WATCHLIST),
        description=(
            "Comma-separated instruments to monitor: EXCHANGE:TRADINGSYMBOL (a bare symbol is "
            "NSE; NFO:NIFTY-I is the nearest NIFTY future)."
        ),
    )
    watchlist_file: str = Field(
        "",
        description="A file of watchlist entries, one a line, # comments; replaces WATCHLIST.",
    )
    auto_start: bool = Field(
        True, description="Start streaming when the server starts, before any browser connects."
    )
    simulator_speed: float = Field(
        1.0, gt=0, le=1000, description="Simulated seconds per real second."
    )
    simulator_seed: int = Field(7, ge=0, description="Seed of the simulated session.")
    simulator_warmup_seconds: int = Field(
        900,
        ge=0,
        le=22_500,
        description="Simulated history replayed at once on start, so baselines are ready.",
    )
    replay_file: str = Field("", description="Recording to replay when DATA_SOURCE=replay.")
    replay_speed: float = Field(
        1.0, ge=0, le=10_000, description="Replay speed, 1 = as recorded, 0 = as fast as possible."
    )
    record_frames: bool = Field(
        False, description="Record every raw frame under DATA_DIR/recordings for replay."
    )
    frame_queue_size: int = Field(
        2_000, ge=10, le=1_000_000, description="Frames waiting for the engine before drops."
    )
    market_holidays: str = Field(
        "", description="Comma-separated YYYY-MM-DD exchange holidays (market closed)."
    )

    # --- Kite Connect (secrets never leave memory) -------------------------------------
    kite_api_key: str = Field("", description="Kite Connect app's API key.")
    kite_api_secret: SecretStr = Field(SecretStr(""), description="Kite Connect app's secret.")
    kite_access_token: SecretStr = Field(
        SecretStr(""), description="Access token for a headless start (expires daily)."
    )
    kite_root: str = Field("https://api.kite.trade", description="Kite REST API root.")
    kite_ticker_root: str = Field("wss://ws.kite.trade", description="Kite WebSocket root.")
    kite_max_connections: int = Field(
        3, ge=1, le=3, description="WebSocket connections per API key (Kite allows 3)."
    )
    kite_tokens_per_connection: int = Field(
        3_000, ge=1, le=3_000, description="Instruments per connection (Kite allows 3,000)."
    )
    kite_login_uri: str = Field(
        "https://kite.zerodha.com/connect/login", description="Kite login page."
    )
    feed_watchdog_seconds: float = Field(
        15,
        ge=2,
        le=600,
        description="No frame for this long on an open socket means drop and reconnect.",
    )
    pcr_refresh_seconds: float = Field(
        60, ge=5, le=3600, description="How often option chains are fetched for PCR."
    )
    breaker_failure_threshold: int = Field(
        3, ge=1, le=100, description="Consecutive REST failures that open the circuit breaker."
    )
    breaker_reset_seconds: float = Field(
        30, ge=1, le=3600, description="How long an open breaker waits before a trial call."
    )

    # --- signal gates -------------------------------------------------------------------
    min_confidence: float = Field(
        7, ge=1, le=10, description="Signals below this confidence (0-10) are not issued."
    )
    max_daily_signals: int = Field(
        6, ge=1, le=1000, description="Most signals issued per IST trading day, all symbols."
    )
    institutional_threshold: float = Field(
        2.5,
        gt=0,
        le=1000,
        description="Institutional ratio (book turnovers per reference period) drawn as the "
        "reference line on the ratio charts and highlighted in the watchlist; icebergs are "
        "found by the level tracker, not by this threshold.",
    )
    min_ratio_z: float = Field(
        2.0,
        ge=0,
        le=20,
        description="The institutional ratio counts as unusual for the instrument at this "
        "robust z-score against its own history (shown on the watchlist; the instrument's "
        "normal learns a tenth as fast while it is unusual): a book that is always thin is "
        "not institutional all day.",
    )
    opening_quiet_minutes: int = Field(
        10,
        ge=0,
        le=60,
        description="No ACCUMULATION/DISTRIBUTION, and no iceberg found, in the first minutes "
        "after 09:15 IST, while the opening's flow settles.",
    )
    signal_cooldown_seconds: int = Field(
        900,
        ge=0,
        le=86_400,
        description="Quiet time per symbol after a signal for signals of the same direction "
        "(long: ACCUMULATION, BUY; short: DISTRIBUTION, SELL), seconds.",
    )

    # --- features -------------------------------------------------------------------------
    enable_real_pcr: bool = Field(False, description="Fetch option chains from Kite for PCR.")
    enable_signal_persistence: bool = Field(True, description="Store signals and outcomes.")
    enable_performance_tracking: bool = Field(True, description="Record manual trade results.")
    database_url: SecretStr = Field(
        SecretStr(""),
        description="SQLAlchemy URL of the signal store; empty = SQLite at DATA_DIR/signals.db. "
        "PostgreSQL: postgresql+psycopg://user:password@host:5432/dbname",
    )
    db_queue_size: int = Field(
        10_000,
        ge=10,
        le=1_000_000,
        description="Rows waiting for the database writer (drops beyond).",
    )
    db_batch_size: int = Field(500, ge=1, le=10_000, description="Rows per database transaction.")

    # --- engine windows (seconds of exchange time) --------------------------------------
    bucket_seconds: int = Field(5, ge=1, le=300, description="Width of one time bucket.")
    window_seconds: int = Field(60, ge=5, le=3600, description="Detection window.")
    history_seconds: int = Field(
        900, ge=30, le=86_400, description="Rolling history for baselines (volume, volatility)."
    )
    chart_history_minutes: int = Field(
        120, ge=1, le=1440, description="How much of each symbol's metrics the charts keep."
    )
    ratio_reference_seconds: float = Field(
        60,
        gt=0,
        le=3600,
        description="The institutional ratio is traded volume per this many seconds over the "
        "time-averaged visible depth.",
    )
    max_gap_seconds: int = Field(
        30,
        ge=1,
        le=3600,
        description="A longer silence between two ticks of an instrument is a gap: the volume "
        "across it is not attributed to the depth seen before it.",
    )
    min_window_coverage: float = Field(
        0.5, gt=0, le=1, description="Share of the window an instrument must be observed."
    )
    min_side_quoted_share: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Share of the window a side of the book must have shown a quote for its "
        "absorption to be measured (a side seen for a moment is no side).",
    )
    clock_tolerance_seconds: float = Field(
        10,
        ge=0,
        le=3600,
        description="A tick stamped more than this ahead of its arrival is rejected (counted "
        "in /health) and never moves the engine's clock, seconds.",
    )
    max_tick_age_hours: float = Field(
        240,
        gt=0,
        le=100_000,
        description="A tick stamped more than this before its arrival is rejected as corrupt, "
        "hours.",
    )

    # --- factor thresholds ----------------------------------------------------------------
    imbalance_threshold: float = Field(
        0.2, gt=0, lt=1, description="Order imbalance (-1..1) that counts as visible pressure."
    )
    strong_imbalance: float = Field(
        0.4, gt=0, lt=1, description="Order imbalance that counts as strong pressure."
    )
    volume_surge_threshold: float = Field(
        2.0, gt=1, le=100, description="Window volume rate over the baseline rate for a surge."
    )
    stable_move_atr: float = Field(
        1.0, gt=0, le=20, description="Window price move, in ATRs, that still counts as stable."
    )
    trend_move_atr: float = Field(
        1.5, gt=0, le=20, description="Window price move, in ATRs, that counts as a trend."
    )

    # --- PCR ------------------------------------------------------------------------------
    pcr_bullish_above: float = Field(1.2, gt=0, le=10, description="OI PCR above: bullish.")
    pcr_bearish_below: float = Field(0.8, gt=0, le=10, description="OI PCR below: bearish.")

    # --- risk -----------------------------------------------------------------------------
    risk_horizon_minutes: int = Field(
        30,
        ge=1,
        le=375,
        description=(
            "How long a signal's trade is held: its stop and target come from the volatility "
            "of this horizon, and with neither hit it expires after this (or at 15:30 IST)."
        ),
    )
    stop_atr_multiple: float = Field(
        1.5,
        gt=0,
        le=20,
        description="BUY/SELL stop distance from entry, in ATRs of the holding horizon's bars.",
    )
    stop_buffer_atr: float = Field(
        0.25,
        ge=0,
        le=20,
        description=(
            "ACCUMULATION/DISTRIBUTION: the stop sits this many horizon ATRs beyond the hidden "
            "order's price (or the held low/high)."
        ),
    )
    stop_floor_ranges: float = Field(
        1.5,
        ge=0,
        le=100,
        description="No stop closer than this many of the instrument's typical 1-minute ranges.",
    )
    min_reward_risk: float = Field(
        2.0, ge=0.5, le=20, description="Target distance over stop distance, at least."
    )
    tick_size: float = Field(0.05, gt=0, le=100, description="Price tick, rupees.")
    min_stop_ticks: int = Field(2, ge=1, le=1000, description="Smallest stop distance, ticks.")
    capital: float = Field(
        100_000.0, ge=0, le=1e10, description="Trading capital, rupees: sizes each signal's plan."
    )
    risk_per_trade_pct: float = Field(
        1.0,
        ge=0,
        le=100,
        description=(
            "Capital risked a trade (entry to stop), percent; 0 buys the whole capital's worth. "
            "The position never exceeds the capital."
        ),
    )
    brokerage_flat: float = Field(
        20.0, ge=0, le=10_000, description="Brokerage an executed order, rupees, at most."
    )
    brokerage_pct: float = Field(
        0.03, ge=0, le=5, description="Brokerage an executed order, percent of its value, at most."
    )
    slippage_ticks: float = Field(
        1.0, ge=0, le=100, description="Each fill this many ticks worse than planned (net P/L)."
    )

    # --- alerts ---------------------------------------------------------------------------
    telegram_bot_token: SecretStr = Field(
        SecretStr(""), description="Telegram bot token for alerts (with TELEGRAM_CHAT_ID)."
    )
    telegram_chat_id: str = Field("", description="Telegram chat that receives the alerts.")
    telegram_api_root: str = Field(
        "https://api.telegram.org", description="Telegram Bot API root (a fake in tests)."
    )
    alert_webhook_url: str = Field("", description="URL that receives each alert as a JSON POST.")
    alert_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Shared secret: the webhook's X-Signature header is sha256=HMAC(body).",
    )
    smtp_host: str = Field("", description="SMTP server for e-mail alerts (with ALERT_EMAIL_TO).")
    smtp_port: int = Field(587, ge=1, le=65_535, description="SMTP port (STARTTLS).")
    smtp_user: str = Field("", description="SMTP login and sender address (empty: no login).")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    alert_email_to: str = Field("", description="Address that receives e-mail alerts.")
    alert_min_confidence: float = Field(
        7.0, ge=0, le=10, description="Signals (and their outcomes) alerted from this confidence."
    )
    alert_symbols: str = Field(
        "", description="Comma-separated symbols to alert on (empty: every watched symbol)."
    )
    alert_queue_size: int = Field(
        1_000, ge=10, le=100_000, description="Alerts waiting for delivery (drops beyond)."
    )

    @property
    def symbols(self) -> list[str]:
        """The watchlist's entries (from WATCHLIST_FILE when it is set)."""
        if self.watchlist_file:
            return parse_symbols(Path(self.watchlist_file).read_text(encoding="utf-8"))
        return parse_symbols(self.watchlist)

    @property
    def holidays(self) -> set[date]:
        return {date.fromisoformat(day) for day in parse_symbols(self.market_holidays)}

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        problems = []
        if self.watchlist_file and not Path(self.watchlist_file).is_file():
            problems.append(f"WATCHLIST_FILE {self.watchlist_file} does not exist")
        elif not self.symbols:
            problems.append(
                f"{'WATCHLIST_FILE' if self.watchlist_file else 'WATCHLIST'} must name at least "
                "one symbol"
            )
        try:
            self.holidays  # noqa: B018 - validates the dates
        except ValueError:
            problems.append(
                f"MARKET_HOLIDAYS must be YYYY-MM-DD dates, got {self.market_holidays!r}"
            )
        if self.app_password_hash.get_secret_value():
            from auth import parse_hash

            try:
                parse_hash(self.app_password_hash.get_secret_value())
            except ValueError as error:
                problems.append(str(error))
        if self.database_url.get_secret_value():
            from sqlalchemy.engine import make_url

            try:
                make_url(self.database_url.get_secret_value())
            except Exception:
                problems.append(
                    "DATABASE_URL is not a SQLAlchemy URL; for example "
                    "postgresql+psycopg://user:password@host:5432/dbname"
                )
        if self.data_source == "replay" and not self.replay_file:
            problems.append("DATA_SOURCE=replay needs REPLAY_FILE")
        if self.window_seconds % self.bucket_seconds:
            problems.append("WINDOW_SECONDS must be a multiple of BUCKET_SECONDS")
        if self.history_seconds < 2 * self.window_seconds:
            problems.append("HISTORY_SECONDS must be at least twice WINDOW_SECONDS")
        if self.strong_imbalance < self.imbalance_threshold:
            problems.append("STRONG_IMBALANCE must be at least IMBALANCE_THRESHOLD")
        if self.trend_move_atr < self.stable_move_atr:
            problems.append("TREND_MOVE_ATR must be at least STABLE_MOVE_ATR")
        if self.pcr_bearish_below >= self.pcr_bullish_above:
            problems.append("PCR_BEARISH_BELOW must be below PCR_BULLISH_ABOVE")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _describe(field_name: str) -> str:
    """The accepted values of a field, from its constraints (``between 1 and 10``)."""
    field = Settings.model_fields[field_name]
    bounds = {}
    for constraint in field.metadata:
        for key in ("ge", "gt", "le", "lt"):
            if getattr(constraint, key, None) is not None:
                bounds[key] = getattr(constraint, key)
    low = f">= {bounds['ge']}" if "ge" in bounds else f"> {bounds['gt']}" if "gt" in bounds else ""
    high = f"<= {bounds['le']}" if "le" in bounds else f"< {bounds['lt']}" if "lt" in bounds else ""
    allowed = " and ".join(part for part in (low, high) if part)
    kind = {"float": "number", "int": "whole number"}.get(
        getattr(field.annotation, "__name__", ""), "value"
    )
    return f"a {kind} {allowed}".strip() if allowed else f"a {kind}"


def _format(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        location = item.get("loc") or ()
        if not location:
            lines.append(item["msg"].removeprefix("Value error, "))
            continue
        name = str(location[0])
        secret = name in Settings.model_fields and isinstance(
            Settings.model_fields[name].default, SecretStr
        )
        shown = "" if secret else f" (got {item.get('input')!r})"
        expected = _describe(name) if name in Settings.model_fields else ""
        lines.append(f"{name.upper()}: {item['msg']}{shown}; expected {expected}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and `.env`; raise :class:`ConfigError` if invalid."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_format(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()


_SECTIONS = {
    "env": "Application",
    "data_source": "Market data",
    "kite_api_key": "Kite Connect (never commit real values; secrets and tokens stay in memory)",
    "min_confidence": "Signal gates",
    "enable_real_pcr": "Features",
    "bucket_seconds": "Engine windows (seconds of exchange time)",
    "imbalance_threshold": "Factor thresholds",
    "pcr_bullish_above": "Put-Call Ratio bias",
    "risk_horizon_minutes": "Risk levels, position size and costs",
    "telegram_bot_token": "Alerts (Telegram, webhook, e-mail)",
}


def env_example() -> str:
    """The text of `.env.example`: every variable with its default, meaning and range."""
    lines = [
        "# Copy to .env and adjust. Every variable is optional; the values shown are the defaults.",
        "# Names are case-insensitive. An invalid value stops start-up with a message naming it.",
    ]
    for name, field in Settings.model_fields.items():
        if name in _SECTIONS:
            lines += ["", f"# --- {_SECTIONS[name]} ---"]
        default = field.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if isinstance(default, bool):
            default = str(default).lower()
        if isinstance(default, float) and default.is_integer():
            default = int(default)
        description = field.description or ""
        choices = getattr(field.annotation, "__args__", None)
        if choices and all(isinstance(choice, str) for choice in choices):
            description += f" One of: {', '.join(choices)}."
        bounds = _describe(name).removeprefix("a number ").removeprefix("a whole number ")
        if any(symbol in bounds for symbol in "<>"):
            description += f" Range: {bounds}."
        lines += [f"# {description}", f"{name.upper()}={default}"]
    lines += [
        "",
        "# --- Docker Compose (read by docker-compose.yml, not by the app) ---",
        "# Port the dashboard is published on.",
        "APP_PORT=8501",
        "# With it, set DATABASE_URL=postgresql+psycopg://orderflow:<this password>"
        "@postgres:5432/orderflow",
        "# Password of the optional PostgreSQL service (docker compose --profile postgres).",
        "POSTGRES_PASSWORD=",
    ]
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """Every variable as a Markdown table (the README's configuration section)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for line_number, line in enumerate(lines := env_example().splitlines()):
        if "=" in line and not line.startswith("#"):
            name, default = line.split("=", 1)
            meaning = lines[line_number - 1].lstrip("# ").replace("|", "\\|")
            shown = f"`{default}`" if default else "(empty)"
            rows.append(f"| `{name}` | {shown} | {meaning} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python config.py > .env.example; python config.py --markdown
    import sys

    print(markdown_table() if "--markdown" in sys.argv else env_example(), end="")
