"""The dashboard page, driven through Streamlit's AppTest."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import config
from feeds import service as service_module


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SIMULATOR_WARMUP_SECONDS", "120")
    monkeypatch.setenv("SIMULATOR_SPEED", "50")
    monkeypatch.setenv("WATCHLIST", "RELIANCE,TCS")
    config.get_settings.cache_clear()
    monkeypatch.setattr(service_module, "_service", None)
    st.cache_resource.clear()  # the page caches the service across runs
    test = AppTest.from_file("../dashboard.py", default_timeout=30)
    yield test
    if service_module._service is not None:
        service_module._service.stop()
    config.get_settings.cache_clear()


def texts(test: AppTest) -> str:
    parts = [e.value for e in test.markdown] + [e.value for e in test.info]
    parts += [e.value for e in test.warning] + [e.value for e in test.error]
    return "\n".join(str(part) for part in parts)


def test_the_page_shows_the_simulated_feed_labelled_as_such(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Order-flow dashboard"
    assert "SIMULATED DATA" in texts(app)
    service = service_module._service
    assert service is not None and service.wait_for(lambda: service.ticks_total > 0, 30)


def test_stop_and_start_monitoring_from_the_sidebar_with_a_bad_symbol(app):
    app.run()
    app.sidebar.button[1].click().run()  # Stop Monitoring
    assert "Not monitoring" in texts(app)
    app.sidebar.text_area[0].set_value("reliance\nNOTREAL\n").run()
    app.sidebar.button[0].click().run()  # Start Monitoring
    assert "Not found, not monitored: NOTREAL" in texts(app)
    assert service_module._service.symbols == ["RELIANCE", "NOTREAL"]
    assert service_module._service.status()["symbols"] == ["RELIANCE"]


def test_self_tests_render_their_results(app):
    app.run()
    app.sidebar.button[2].click().run()
    rendered = texts(app)
    for name in (
        "time normalisation",
        "order imbalance",
        "confidence bounds",
        "thread safety",
        "risk calculation",
    ):
        assert f"**{name}**: passed" in rendered
