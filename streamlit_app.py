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

log = logging.getLogger("app")


@asynccontextmanager
async def lifespan(_app):
    service = get_service(get_settings())  # starts streaming when AUTO_START is on
    yield {}
    service.stop()


def health(_request: Request) -> JSONResponse:
    """The feed's status as JSON: 200 while streaming or idle by choice, 503 when down."""
    status = get_service(get_settings()).status()
    down = status["state"] in ("error", "login_required")
    body = {"status": "down" if down else "ok", "feed": status}
    return JSONResponse(body, status_code=503 if down else 200)


app = st.App("dashboard.py", routes=[Route("/health", health)], lifespan=lifespan)
