"""Entry point: ``streamlit run streamlit_app.py`` serves the dashboard and ``GET /health``.

The market service starts with the server (``AUTO_START=true``), not with the first browser,
so a trader who restarts at 09:10 streams without a click and ``/health`` reports a live
feed with no page open.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from config import get_settings
from feeds.service import get_service
from logs import configure_logging
from monitoring import health_check

log = logging.getLogger("app")


@asynccontextmanager
async def lifespan(_app):
    settings = get_settings()
    log_file = configure_logging(settings)
    log.info("order-flow dashboard starting; logging to %s", log_file)
    service = get_service(settings)  # starts streaming when AUTO_START is on
    yield {}
    service.close()  # stops the feed and flushes the database writer


def health(_request: Request) -> JSONResponse:
    """``monitoring.health_check()`` as JSON: HTTP 200 unless the status is down (503)."""
    body = health_check()
    return JSONResponse(body, status_code=503 if body["status"] == "down" else 200)


app = st.App("dashboard.py", routes=[Route("/health", health)], lifespan=lifespan)
