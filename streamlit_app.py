"""Entry point: ``streamlit run streamlit_app.py`` serves the dashboard, ``GET /health`` and
the read API (``api.py``, ``/api/v1/...``).

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

import api
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


def health(request: Request) -> JSONResponse:
    """``monitoring.health_check()`` as JSON: HTTP 200 unless the status is down (503).

    ``status`` (with uptime and version) is public: Docker's health check needs it. The
    details (watchlist, reasons, feed, database) go to a caller with ``Authorization: Bearer
    <API_TOKEN>`` when a token is configured; with only a password gate they stay on the
    System Health page behind it; an app with neither shows them to everyone, as it shows
    its pages.
    """
    body = health_check()
    code = 503 if body["status"] == "down" else 200
    if not may_see_details(request, get_settings()):
        body = {name: body[name] for name in PUBLIC_HEALTH}
    return JSONResponse(body, status_code=code)


PUBLIC_HEALTH = ("status", "uptime_s", "version")


def may_see_details(request: Request, settings) -> bool:
    """True for a caller allowed to read health's details (see :func:`health`)."""
    token = settings.api_token.get_secret_value()
    if token:
        return api.bearer_matches(request, token)
    return not settings.app_password_hash.get_secret_value()


app = st.App("dashboard.py", routes=[Route("/health", health), *api.ROUTES], lifespan=lifespan)
