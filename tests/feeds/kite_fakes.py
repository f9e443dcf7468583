"""Loopback fakes of Kite: a WebSocket server speaking Kite's binary protocol and an HTTP
server with Kite's JSON envelope. Real servers on 127.0.0.1 that the real ``kiteconnect``
classes talk to; faults are switched on per test."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
import websockets
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from engine.sessions import CONTINUOUS_START, IST, ist_today
from engine.ticks import encode_kite_frame
from feeds.book_simulator import BookSimulator, book_instruments_like
from feeds.simulator import MarketSimulator, SimulatedInstrument

GOOD_TOKEN = "good-access-token-123"


def last_session_start() -> int:
    """09:15 IST of the latest weekday before today (IST): the fake streams a recent past
    session, so its timestamps are neither ahead of their arrival nor days old."""
    day = ist_today() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return int(datetime.combine(day, CONTINUOUS_START, IST).timestamp())


START = last_session_start()


def option_chain(symbols: list[str]) -> list[dict]:
    """A nearest-expiry NFO chain per symbol: three strikes, puts' OI 3,000 and calls'
    2,000, so each symbol's OI PCR is 1.5."""
    return [
        {
            "instrument_token": 9000 + 10 * index + 2 * n + (kind == "PE"),
            "tradingsymbol": f"{symbol}99DEC{1400 + 10 * n}{kind}",
            "name": symbol,
            "expiry": "2099-12-30",
            "strike": 1400 + 10 * n,
            "instrument_type": kind,
            "segment": "NFO-OPT",
            "exchange": "NFO",
            "last_price": 1,
            "exchange_token": 1,
            "tick_size": 0.05,
            "lot_size": 500,
            "oi": 3_000 if kind == "PE" else 2_000,
        }
        for index, symbol in enumerate(symbols)
        for n in range(3)
        for kind in ("CE", "PE")
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeKiteTicker:
    """Kite's WebSocket: checks the token, honours subscribe/mode, streams binary frames.

    Switches: ``freeze`` (keep the socket open, answer pings, send nothing), ``drop()``
    (cut every connection without a close frame; ``drop(n)`` only the n-th open one),
    ``reject_with_text`` (accept, send Kite's error text, close), ``outage(seconds)`` (refuse
    connections for a while).

    Like Kite, one connection streams at most ``max_tokens`` (3,000) instruments: a subscribe
    beyond that gets an error text message and the extra tokens are ignored (``refusals``
    counts them). Each connection is sent only the instruments it subscribed in full mode;
    the simulated market moves once an ``interval`` whatever the number of connections.
    """

    max_tokens = 3_000

    def __init__(
        self,
        instruments: list[SimulatedInstrument],
        interval: float = 0.1,
        book_seconds: int = 0,
    ):
        self.port = free_port()
        self.instruments = instruments
        self.interval = interval
        # The scenario simulator by default (cheap for thousands of instruments); with
        # ``book_seconds`` the event-driven order book for that long, whose quiet seconds
        # and iceberg agents the detector needs to find anything.
        self.simulator = (
            BookSimulator(
                book_instruments_like(instruments, seed=3),
                START,
                seed=3,
                session_seconds=book_seconds,
                demo_at=60,
            )
            if book_seconds
            else MarketSimulator(instruments, START, seed=3)
        )
        self.token = GOOD_TOKEN
        self.attempts = 0
        self.freeze = False
        self.reject_with_text = False
        self.refuse_until = 0.0
        self.connections = 0
        self.refusals = 0
        self.subscriptions: list[tuple[str, object]] = []
        self.subscribed: list[set[int]] = []  # per connection ever opened, what it streams
        self._tick_clock = -1
        self._tick_cache = None
        self._clients: dict = {}  # open connections, oldest first
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def root(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        async with serve(
            self._handler, "127.0.0.1", self.port, process_request=self._check, ping_interval=None
        ):
            self._stopped = asyncio.get_running_loop().create_future()
            self._ready.set()
            await self._stopped

    def _check(self, _connection, request):
        self.attempts += 1
        if time.monotonic() < self.refuse_until:
            return Response(503, "Service Unavailable", Headers(), b"down")
        query = parse_qs(urlparse(request.path).query)
        if query.get("access_token", [""])[0] != self.token and not self.reject_with_text:
            return Response(403, "Forbidden", Headers(), b"invalid token")
        return None

    async def _handler(self, websocket) -> None:
        self.connections += 1
        if self.reject_with_text:
            await websocket.send(json.dumps({"type": "error", "data": "Invalid access_token"}))
            await websocket.close()
            return
        self._clients[websocket] = None
        subscribed: set[int] = set()
        full: set[int] = set()
        self.subscribed.append(subscribed)
        try:
            sender = asyncio.ensure_future(self._stream(websocket, subscribed, full))
            async for message in websocket:
                request = json.loads(message)
                self.subscriptions.append((request["a"], request["v"]))
                if request["a"] == "subscribe":
                    room = self.max_tokens - len(subscribed)
                    new = [t for t in request["v"] if t not in subscribed]
                    subscribed.update(new[: max(room, 0)])
                    if len(new) > room:
                        self.refusals += 1
                        await websocket.send(
                            json.dumps(
                                {
                                    "type": "error",
                                    "data": f"Maximum {self.max_tokens} instruments a connection",
                                }
                            )
                        )
                elif request["a"] == "mode" and request["v"][0] == "full":
                    full.update(request["v"][1])
        except websockets.ConnectionClosed:
            pass
        finally:
            sender.cancel()
            self._clients.pop(websocket, None)

    def _ticks_now(self):
        """The market of this interval: stepped once, whoever asks."""
        clock = int(time.monotonic() / self.interval)
        if clock != self._tick_clock:
            self._tick_clock, self._tick_cache = clock, self.simulator.step()
        return self._tick_cache

    async def _stream(self, websocket, subscribed: set[int], full: set[int]) -> None:
        while True:
            await asyncio.sleep(self.interval)
            streamed = subscribed & full
            if self.freeze or not streamed:
                continue
            ticks = self._ticks_now()
            mine = ticks[np.isin(ticks["instrument_token"], np.fromiter(streamed, np.int64))]
            await websocket.send(encode_kite_frame(mine))

    def drop(self, which: int | None = None) -> None:
        """Cut every open connection abruptly (no close frame), or only the ``which``-th."""

        def cut():
            clients = list(self._clients)
            for client in clients if which is None else clients[which : which + 1]:
                client.transport.abort()

        self._loop.call_soon_threadsafe(cut)

    def outage(self, seconds: float) -> None:
        self.refuse_until = time.monotonic() + seconds
        self.drop()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stopped.set_result, None)
        self._thread.join(10)


class FakeKiteApi:
    """Kite's REST API: session token, instruments CSV, quotes; faults by status code.

    The NSE dump lists ``instruments`` as equities; each exchange's dump the rows of
    ``options`` and ``futures`` (shaped like Kite's) on it."""

    def __init__(
        self,
        instruments: list[SimulatedInstrument],
        options: list[dict] = (),
        futures: list[dict] = (),
    ):
        self.instruments = instruments
        self.options = list(options)
        self.futures = list(futures)
        self.fail_with: int | None = None  # answer every request with this status
        self.errors_served: dict[int, int] = {}  # status -> how many fault answers went out
        self.requests: list[str] = []
        self.posted: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status, kind, message):
                self._reply(status, {"status": "error", "error_type": kind, "message": message})

            def do_POST(self):
                fake.requests.append(self.path)
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.posted.append(form)
                if form.get("request_token") != "good-request-token":
                    return self._error(403, "TokenException", "Token is invalid or has expired.")
                self._reply(
                    200,
                    {
                        "status": "success",
                        "data": {
                            "access_token": GOOD_TOKEN,
                            "user_id": "AB1234",
                            "login_time": "2025-11-13 09:00:00",
                        },
                    },
                )

            def do_GET(self):
                fake.requests.append(self.path)
                if fake.fail_with:
                    fake.errors_served[fake.fail_with] = (
                        fake.errors_served.get(fake.fail_with, 0) + 1
                    )
                if fake.fail_with == 429:
                    return self._error(429, "NetworkException", "Too many requests")
                if fake.fail_with:
                    return self._error(fake.fail_with, "GeneralException", "Server error")
                if self.headers.get("Authorization") != f"token key:{GOOD_TOKEN}":
                    return self._error(403, "TokenException", "Incorrect api_key or token.")
                url = urlparse(self.path)
                if url.path.startswith("/instruments/"):
                    exchange = url.path.rsplit("/", 1)[1]
                    rows = fake._equities() + fake.options + fake.futures
                    mine = [row for row in rows if row["exchange"] == exchange]
                    return self._reply(200, fake._csv(mine), "text/csv")
                if url.path == "/quote":
                    names = parse_qs(url.query).get("i", [])
                    oi = {o["tradingsymbol"]: o.get("oi", 0) for o in fake.options}
                    data = {
                        n: {"instrument_token": 1, "oi": oi.get(n.split(":")[1], 0), "volume": 10}
                        for n in names
                    }
                    return self._reply(200, {"status": "success", "data": data})
                self._error(404, "GeneralException", "Route not found")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _equities(self) -> list[dict]:
        return [
            {
                "instrument_token": i.instrument_token,
                "exchange_token": 1,
                "tradingsymbol": i.symbol,
                "name": i.symbol,
                "last_price": i.price,
                "expiry": "",
                "strike": 0,
                "tick_size": 0.1 if i.price >= 3000 else 0.05,  # per instrument, as on NSE
                "lot_size": 1,
                "instrument_type": "EQ",
                "segment": "NSE",
                "exchange": "NSE",
            }
            for i in self.instruments
        ]

    @staticmethod
    def _csv(rows: list[dict]) -> bytes:
        columns = [
            "instrument_token",
            "exchange_token",
            "tradingsymbol",
            "name",
            "last_price",
            "expiry",
            "strike",
            "tick_size",
            "lot_size",
            "instrument_type",
            "segment",
            "exchange",
        ]
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode()

    def close(self) -> None:
        self.server.shutdown()
