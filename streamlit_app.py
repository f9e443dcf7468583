"""Order-flow dashboard entry point: ``streamlit run streamlit_app.py``.

The live pages arrive with the market service; until then this page shows the engine's
configuration and runs its self-tests.
"""

from __future__ import annotations

import streamlit as st

from config import ConfigError, get_settings
from engine import selftest

st.set_page_config(page_title="Order-flow dashboard", layout="wide")
st.title("Order-flow dashboard")

try:
    settings = get_settings()
except ConfigError as error:
    st.error(str(error))
    st.stop()

st.info(
    "The engine is ready; the live feed (simulator, Kite, replay) is not connected yet, so no "
    "signals are shown."
)
left, middle, right = st.columns(3)
left.metric("Minimum confidence", f"{settings.min_confidence:g} / 10")
middle.metric("Institutional threshold", f"{settings.institutional_threshold:g}x")
right.metric("Max signals a day", settings.max_daily_signals)

if st.sidebar.button("Run Self-Tests"):
    with st.spinner("Running engine self-tests..."):
        results = selftest.run(settings)
    for result in results:
        icon = ":material/check_circle:" if result.passed else ":material/error:"
        status = "passed" if result.passed else "FAILED"
        st.markdown(f"{icon} **{result.name}**: {status} ({result.seconds * 1000:.0f} ms)")
        st.caption(result.detail)
