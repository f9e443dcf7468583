"""The read API, on the app's own server: ``/api/v1/...`` as JSON for other programs.

Rules:

* it is off until ``API_TOKEN`` is set (every route answers 404 with a JSON error saying
  so); with it, every request needs ``Authorization: Bearer <API_TOKEN>`` (compared in
  constant time), else 401;
* ``GET /api/v1/signals``: stored signals with their outcomes, newest first, filtered as on
  the Signal History page (``symbol``, ``type`` and ``outcome`` repeatable or
  comma-separated; ``min_confidence``, ``max_confidence`` 0-10; ``start``, ``end`` IST
  dates), ``limit`` 1-1000 (default 100) a page, and ``cursor`` (the ``next_cursor`` of the
  page before): keyset pagination, so signals stored meanwhile never shift a later page;
* ``GET /api/v1/signals/active``: the running session's open signals;
* ``GET /api/v1/snapshot``: every watched instrument's live metrics;
* ``GET /api/v1/icebergs``: the icebergs active now (with their estimated totals) and those
  that ended from ``days`` (0-30, default 0: today) IST days back, newest first;
* ``GET /api/v1/openapi.json``: the OpenAPI 3.1 description of all of it (the **API** page
  renders it);
* a bad parameter is a 400 whose JSON error names it; nothing ever answers with a traceback.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import math
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from config import get_settings
from database import OUTCOMES, HistoryFilter
from engine.sessions import IST
from engine.signals import SignalType

log = logging.getLogger("api")
MAX_LIMIT = 1_000


class BadParameter(ValueError):
    """A query parameter that cannot be used: its name and why."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.name = name


def _error(status: int, message: str, parameter: str | None = None) -> JSONResponse:
    body = {"error": message} | ({"parameter": parameter} if parameter else {})
    return JSONResponse(body, status_code=status)


def _authorised(request: Request) -> JSONResponse | None:
    """None when the caller may read; else the answer to give."""
    token = get_settings().api_token.get_secret_value()
    if not token:
        return _error(404, "the API is off: set API_TOKEN on the server to turn it on")
    if not bearer_matches(request, token):
        return _error(401, "send Authorization: Bearer <API_TOKEN>")
    return None


def bearer_matches(request: Request, token: str) -> bool:
    """``Authorization: Bearer <token>`` on ``request``, compared in constant time."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


def _guarded(handler):
    """Auth first; a bad parameter is a 400 naming it; anything else a 500 with no details."""

    def route(request: Request) -> JSONResponse:
        refused = _authorised(request)
        if refused is not None:
            return refused
        try:
            return handler(request)
        except BadParameter as error:
            return _error(400, str(error), error.name)
        except Exception:
            log.exception("API %s failed", request.url.path)
            return _error(500, "internal error; the details are in the server's log")

    return route


def _values(request: Request, name: str) -> list[str]:
    """A repeatable, comma-separable parameter."""
    return [
        v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",") if v.strip()
    ]


def _number(request: Request, name: str, default: float, low: float, high: float) -> float:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise BadParameter(name, f"{text!r} is not a number") from None
    if not (low <= value <= high) or math.isnan(value):
        raise BadParameter(name, f"{value:g} is outside {low:g}-{high:g}")
    return value


def _date(request: Request, name: str) -> date | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadParameter(name, f"{text!r} is not a YYYY-MM-DD date") from None


def filters_of(request: Request) -> HistoryFilter:
    """The Signal History filters a request asks for (BadParameter names a bad one)."""
    kinds = [kind.upper() for kind in _values(request, "type")]
    unknown = sorted(set(kinds) - {str(k) for k in SignalType})
    if unknown:
        raise BadParameter("type", f"{', '.join(unknown)} is not one of {', '.join(SignalType)}")
    outcomes = [outcome.lower() for outcome in _values(request, "outcome")]
    if set(outcomes) - set(OUTCOMES):
        raise BadParameter("outcome", f"one of {', '.join(OUTCOMES)}")
    low = _number(request, "min_confidence", 0.0, 0.0, 10.0)
    high = _number(request, "max_confidence", 10.0, 0.0, 10.0)
    if low > high:
        raise BadParameter("min_confidence", "is above max_confidence")
    return HistoryFilter(
        symbols=tuple(symbol.upper() for symbol in _values(request, "symbol")),
        signal_types=tuple(kinds),
        min_confidence=low,
        max_confidence=high,
        start=_date(request, "start"),
        end=_date(request, "end"),
        outcomes=tuple(outcomes),
    )


def encode_cursor(moment: datetime, signal_id: str) -> str:
    raw = json.dumps([moment.isoformat(), signal_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str]:
    try:
        padded = text + "=" * (-len(text) % 4)
        moment, signal_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(moment), str(signal_id)
    except (ValueError, TypeError):
        raise BadParameter("cursor", "not a cursor this API gave (use next_cursor)") from None


def _records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: times as ISO strings, NaN and missing as null."""
    out = frame.astype(object).where(frame.notna(), None)
    rows = out.to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, pd.Timestamp | datetime):
                row[key] = value.isoformat()
            elif isinstance(value, np.generic):
                row[key] = value.item()
            elif isinstance(value, float) and not math.isfinite(value):
                row[key] = None
    return rows


@_guarded
def signals(request: Request) -> JSONResponse:
    from feeds.service import get_service

    filters = filters_of(request)
    limit = int(_number(request, "limit", 100, 1, MAX_LIMIT))
    cursor = request.query_params.get("cursor")
    before = decode_cursor(cursor) if cursor else None
    settings = get_settings()
    if not settings.enable_signal_persistence:
        return _error(503, "signal persistence is off (ENABLE_SIGNAL_PERSISTENCE=false)")
    service = get_service(settings)
    if service.store is None:
        service.open_store()
    store = service.store
    if store is None:
        return _error(503, f"the signal database is unavailable: {service.database_error}")
    page = store.history_page(filters, limit, before)
    rows = _records(page)
    last = page.iloc[-1] if len(page) == limit else None
    next_cursor = None if last is None else encode_cursor(last["signal_time"], last["id"])
    return JSONResponse({"signals": rows, "count": len(rows), "next_cursor": next_cursor})


@_guarded
def active(_request: Request) -> JSONResponse:
    from feeds.service import get_service

    snapshot = get_service(get_settings()).snapshot()
    return JSONResponse(
        {
            "simulated": bool(snapshot.status["simulated"]),
            "signals": [signal.as_json() for signal in snapshot.active],
        }
    )


@_guarded
def snapshot(_request: Request) -> JSONResponse:
    from feeds.service import get_service

    market = get_service(get_settings()).snapshot()
    return JSONResponse(
        {"simulated": bool(market.status["simulated"]), "instruments": _records(market.metrics)}
    )


@_guarded
def openapi(_request: Request) -> JSONResponse:
    return JSONResponse(openapi_document())


@_guarded
def icebergs(request: Request) -> JSONResponse:
    from feeds.service import get_service

    days = int(_number(request, "days", 0, 0, 30))
    settings = get_settings()
    service = get_service(settings)
    market = service.snapshot()
    ended, stored = [], False
    if settings.enable_signal_persistence:
        if service.store is None:
            service.open_store()
        if service.store is not None:
            since = (datetime.now(IST) - timedelta(days=days)).date()
            ended, stored = _records(service.store.icebergs(since, MAX_LIMIT)), True
    return JSONResponse(
        {
            "simulated": bool(market.status.get("simulated", False)),
            "active": [iceberg.as_json() for iceberg in market.icebergs],
            "ended": ended,
            "stored": stored,
        }
    )


def openapi_document() -> dict:
    """The OpenAPI 3.1 description of the routes above."""
    text = {"type": "string"}
    number = {"type": "number"}

    def parameter(name: str, schema: dict, about: str) -> dict:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": about,
        }

    listed = {"type": "string", "description": "comma-separated, or the parameter repeated"}
    error = {"$ref": "#/components/schemas/Error"}
    answers = {
        "401": {
            "description": "no or a wrong bearer token",
            "content": {"application/json": {"schema": error}},
        },
        "404": {
            "description": "the API is off (no API_TOKEN)",
            "content": {"application/json": {"schema": error}},
        },
    }
    signal = {
        "type": "object",
        "properties": {
            "symbol": text,
            "signal_type": {"type": "string", "enum": [str(k) for k in SignalType]},
            "confidence": number,
            "entry": number,
            "target": number,
            "stop_loss": number,
        },
        "additionalProperties": True,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Order-flow dashboard read API",
            "version": "1",
            "description": "Signals, their outcomes and the live watchlist. Bearer API_TOKEN.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": text, "parameter": text},
                    "required": ["error"],
                },
                "Signal": signal,
                "Iceberg": {
                    "type": "object",
                    "properties": {
                        "symbol": text,
                        "side": {"type": "string", "enum": ["BID", "ASK"]},
                        "price": number,
                        "peak": number,
                        "refills": {"type": "integer"},
                        "hidden_volume": number,
                        "hidden_se": number,
                        # Refills it had surely revealed when first published.
                        "entry_refills": {"type": "integer"},
                        "first_seen": text,
                        "last_seen": text,
                        "native": {"type": "boolean"},
                        "state": {"type": "string", "enum": ["active", "completed", "broken"]},
                        "total_low": {"type": ["number", "null"]},
                        "total": {"type": ["number", "null"]},
                        "total_high": {"type": ["number", "null"]},
                        # Active ones: standard errors clear of the level's noise now, and
                        # whether that is enough to stand behind a signal (2 or more).
                        "standard_errors_clear": number,
                        "standing": {"type": "boolean"},
                    },
                    "additionalProperties": True,
                },
            },
        },
        "paths": {
            "/api/v1/signals": {
                "get": {
                    "summary": "Stored signals with their outcomes, newest first",
                    "parameters": [
                        parameter("symbol", listed, "symbols"),
                        parameter("type", listed, "ACCUMULATION, DISTRIBUTION, BUY, SELL"),
                        parameter("outcome", listed, ", ".join(OUTCOMES)),
                        parameter(
                            "min_confidence",
                            {"type": "number", "minimum": 0, "maximum": 10},
                            "at least",
                        ),
                        parameter(
                            "max_confidence",
                            {"type": "number", "minimum": 0, "maximum": 10},
                            "at most",
                        ),
                        parameter("start", {"type": "string", "format": "date"}, "first IST day"),
                        parameter("end", {"type": "string", "format": "date"}, "last IST day"),
                        parameter(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
                            "rows a page",
                        ),
                        parameter("cursor", text, "next_cursor of the page before"),
                    ],
                    "responses": {
                        "200": {
                            "description": "a page of signals",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "signals": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Signal"},
                                            },
                                            "count": {"type": "integer"},
                                            "next_cursor": {"type": ["string", "null"]},
                                        },
                                        "required": ["signals", "count", "next_cursor"],
                                    }
                                }
                            },
                        },
                        "400": {
                            "description": "a bad parameter, named",
                            "content": {"application/json": {"schema": error}},
                        },
                        **answers,
                    },
                }
            },
            "/api/v1/signals/active": {
                "get": {
                    "summary": "The running session's open signals",
                    "responses": {
                        "200": {
                            "description": "open signals, with simulated: true for the simulator's"
                        },
                        **answers,
                    },
                }
            },
            "/api/v1/snapshot": {
                "get": {
                    "summary": "Every watched instrument's live metrics",
                    "responses": {"200": {"description": "one object an instrument"}, **answers},
                }
            },
            "/api/v1/icebergs": {
                "get": {
                    "summary": "Icebergs active now, with estimated totals, and those ended",
                    "parameters": [
                        parameter(
                            "days",
                            {"type": "integer", "minimum": 0, "maximum": 30, "default": 0},
                            "ended icebergs from this many IST days back (0: today)",
                        )
                    ],
                    "responses": {
                        "200": {
                            "description": "active: the level tracker's icebergs now; ended: "
                            "stored ones, newest first (stored false when no database)",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "simulated": {"type": "boolean"},
                                            "active": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Iceberg"},
                                            },
                                            "ended": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Iceberg"},
                                            },
                                            "stored": {"type": "boolean"},
                                        },
                                        "required": ["simulated", "active", "ended", "stored"],
                                    }
                                }
                            },
                        },
                        "400": {
                            "description": "a bad parameter, named",
                            "content": {"application/json": {"schema": error}},
                        },
                        **answers,
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1"}, **answers},
                }
            },
        },
    }


ROUTES = [
    Route("/api/v1/icebergs", icebergs),
    Route("/api/v1/signals", signals),
    Route("/api/v1/signals/active", active),
    Route("/api/v1/snapshot", snapshot),
    Route("/api/v1/openapi.json", openapi),
]
