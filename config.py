"""One typed settings object, read once from the environment and `.env`, then passed down.

Every variable is documented in `.env.example`. Names are case-insensitive environment
variables (``MIN_CONFIDENCE=8``). An invalid value stops start-up with a :class:`ConfigError`
that names the variable and what it accepts; secret values are never echoed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    # --- Kite Connect (secrets never leave memory) -------------------------------------
    kite_api_key: str = Field("", description="Kite Connect app's API key.")
    kite_api_secret: SecretStr = Field(SecretStr(""), description="Kite Connect app's secret.")

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
        description="Institutional ratio (book turnovers per reference period) that flags an "
        "iceberg.",
    )
    signal_cooldown_seconds: int = Field(
        900, ge=0, le=86_400, description="Quiet time per symbol after a signal, seconds."
    )

    # --- features -------------------------------------------------------------------------
    enable_real_pcr: bool = Field(False, description="Fetch option chains from Kite for PCR.")
    enable_signal_persistence: bool = Field(True, description="Store signals and outcomes.")
    enable_performance_tracking: bool = Field(True, description="Record manual trade results.")

    # --- engine windows (seconds of exchange time) --------------------------------------
    bucket_seconds: int = Field(5, ge=1, le=300, description="Width of one time bucket.")
    window_seconds: int = Field(60, ge=5, le=3600, description="Detection window.")
    history_seconds: int = Field(
        900, ge=30, le=86_400, description="Rolling history for baselines (volume, volatility)."
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
    stop_atr_multiple: float = Field(
        1.5, gt=0, le=20, description="Stop distance from entry, in ATRs."
    )
    min_reward_risk: float = Field(
        2.0, ge=0.5, le=20, description="Target distance over stop distance, at least."
    )
    tick_size: float = Field(0.05, gt=0, le=100, description="Price tick, rupees.")
    min_stop_ticks: int = Field(2, ge=1, le=1000, description="Smallest stop distance, ticks.")

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        problems = []
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
        secret = name in {"kite_api_secret"}
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
