"""Put-Call Ratio from an options chain, and the bias it gives a signal."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd


class PcrBias(StrEnum):
    """What the options market leans to: writers selling puts (bullish) or calls (bearish)."""

    BULLISH = "BULLISH"
    BEARISH = "BEARISH"
    NEUTRAL = "NEUTRAL"


BIAS_CODE = {PcrBias.BULLISH: 1.0, PcrBias.BEARISH: -1.0, PcrBias.NEUTRAL: 0.0}


@dataclass(frozen=True)
class PCRResult:
    """OI and volume PCR of one underlying's chain, with the bias the OI PCR gives.

    ``pcr`` (put OI / call OI) and ``volume_pcr`` are NaN when undefined; ``reason`` then says
    why (empty chain, no call OI...). ``origin`` says where the chain came from: ``real``
    (Kite), ``simulated`` (the simulator's chains) or ``mock`` (a neutral stand-in), so the UI
    can label anything that is not market data; ``expiry`` which expiry's chain it was.
    """

    pcr: float
    volume_pcr: float
    bias: PcrBias
    put_oi: int
    call_oi: int
    put_volume: int
    call_volume: int
    reason: str = ""
    origin: str = "real"
    expiry: str = ""  # ISO date of the option expiry the chain is of (real chains)

    @property
    def available(self) -> bool:
        return not math.isnan(self.pcr)


_TYPE_COLUMNS = ("type", "instrument_type", "option_type")
_PUTS = {"PE", "PUT", "P"}
_CALLS = {"CE", "CALL", "C"}


def pcr_bias(pcr: float, bullish_above: float = 1.2, bearish_below: float = 0.8) -> PcrBias:
    """BULLISH above ``bullish_above``, BEARISH below ``bearish_below``, else NEUTRAL."""
    if math.isnan(pcr):
        return PcrBias.NEUTRAL
    if pcr > bullish_above:
        return PcrBias.BULLISH
    if pcr < bearish_below:
        return PcrBias.BEARISH
    return PcrBias.NEUTRAL


def calculate_real_pcr(
    chain: pd.DataFrame,
    bullish_above: float = 1.2,
    bearish_below: float = 0.8,
    origin: str = "real",
) -> PCRResult:
    """PCR of an options chain: a DataFrame with ``strike``, ``type`` (CE/PE), ``oi``, ``volume``.

    ``type`` may also be named ``instrument_type`` or ``option_type`` (Kite's dump), and
    ``volume`` may be absent (volume PCR is then NaN). An empty or one-sided chain gives NaN
    with a reason and a NEUTRAL bias rather than a division error. Raises ``ValueError`` for a
    chain without the required columns, or with negative or unknown values.
    """
    if bearish_below >= bullish_above:
        raise ValueError("bearish_below must be below bullish_above")
    type_column = next((name for name in _TYPE_COLUMNS if name in chain.columns), None)
    missing = [name for name in ("strike", "oi") if name not in chain.columns]
    if type_column is None:
        missing.append("type")
    if missing:
        raise ValueError(f"options chain lacks column(s): {', '.join(missing)}")
    kinds = chain[type_column].astype(str).str.upper().str.strip()
    unknown = sorted(set(kinds) - _PUTS - _CALLS)
    if unknown:
        raise ValueError(f"options chain has unknown option type(s): {', '.join(unknown)}")
    open_interest = pd.to_numeric(chain["oi"], errors="coerce").fillna(0).to_numpy()
    volume = (
        pd.to_numeric(chain["volume"], errors="coerce").fillna(0).to_numpy()
        if "volume" in chain.columns
        else None
    )
    if np.any(open_interest < 0) or (volume is not None and np.any(volume < 0)):
        raise ValueError("options chain has negative open interest or volume")
    is_put = kinds.isin(_PUTS).to_numpy()
    put_oi, call_oi = int(open_interest[is_put].sum()), int(open_interest[~is_put].sum())
    put_volume = int(volume[is_put].sum()) if volume is not None else 0
    call_volume = int(volume[~is_put].sum()) if volume is not None else 0

    reason = ""
    if chain.empty:
        reason = "empty options chain"
    elif call_oi == 0 and put_oi == 0:
        reason = "no open interest in the chain"
    elif call_oi == 0:
        reason = "no call open interest (one-sided chain)"
    elif put_oi == 0:
        reason = "no put open interest (one-sided chain)"
    pcr = put_oi / call_oi if not reason else math.nan
    volume_pcr = (
        put_volume / call_volume
        if volume is not None and call_volume > 0 and put_volume > 0
        else math.nan
    )
    return PCRResult(
        pcr=pcr,
        volume_pcr=volume_pcr,
        bias=pcr_bias(pcr, bullish_above, bearish_below),
        put_oi=put_oi,
        call_oi=call_oi,
        put_volume=put_volume,
        call_volume=call_volume,
        reason=reason,
        origin=origin,
    )


def mock_pcr(reason: str = "real PCR disabled (ENABLE_REAL_PCR=false)") -> PCRResult:
    """A neutral PCR of 1.0, labelled mock: what the engine uses when no chain is fetched."""
    return PCRResult(1.0, math.nan, PcrBias.NEUTRAL, 0, 0, 0, 0, reason=reason, origin="mock")
