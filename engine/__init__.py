"""Pure order-flow engine: Kite ticks in, signals and a metrics snapshot out.

Importable without a network, a browser or a database: no threads (except the self-test that
checks thread safety), no I/O, no Streamlit, no kiteconnect.
"""

from engine.core import SignalEngine, UnknownInstrumentError
from engine.institutional import (
    InstitutionalActivity,
    detect_institutional_activity_normalized,
)
from engine.pcr import PcrBias, PCRResult, calculate_real_pcr
from engine.signals import Signal, SignalType, generate_signal
from engine.ticks import TICK_DTYPE, FrameError, encode_kite_frame, parse_kite_frame

__all__ = [
    "TICK_DTYPE",
    "FrameError",
    "InstitutionalActivity",
    "PCRResult",
    "PcrBias",
    "Signal",
    "SignalEngine",
    "SignalType",
    "UnknownInstrumentError",
    "calculate_real_pcr",
    "detect_institutional_activity_normalized",
    "encode_kite_frame",
    "generate_signal",
    "parse_kite_frame",
]
