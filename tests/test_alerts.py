"""Alerts: a fake Telegram Bot API, a webhook receiver that checks the signature and a local
SMTP server, all on 127.0.0.1; a failing or hanging receiver never stalls the ticks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

import alerts
from config import Settings
from engine.sessions import IST
from engine.signals import Signal, SignalType
from tests.server import free_port
from tests.waiting import wait_for

SECRET = "webhook-shared-secret-9c1"
BOT_TOKEN = "123456:telegram-bot-token-x7"


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST (path, headers, JSON body)."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.posts: list[tuple[str, dict, bytes]] = []
        self.status, self.delay = status, delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(receiver.delay)
                receiver.posts.append((self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def servers():
    telegram, webhook, mailbox = Receiver(), Receiver(), Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    yield telegram, webhook, mailbox, smtp
    telegram.close()
    webhook.close()
    smtp.stop()


def settings_for(servers, **overrides) -> Settings:
    telegram, webhook, _, smtp = servers
    values = dict(
        telegram_bot_token=BOT_TOKEN,
        telegram_chat_id="42",
        telegram_api_root=telegram.url,
        alert_webhook_url=f"{webhook.url}/hook",
        alert_webhook_secret=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        alert_email_to="trader@example.com",
    )
    return Settings(_env_file=None, **{**values, **overrides})


def a_signal(symbol: str = "RELIANCE", confidence: float = 8.7) -> Signal:
    return Signal(
        symbol=symbol,
        instrument_token=738561,
        signal_type=SignalType.ACCUMULATION,
        confidence=confidence,
        rank_points=11.0,
        entry=1419.4,
        target=1425.0,
        stop_loss=1416.6,
        institutional_ratio=4.2,
        order_imbalance=-0.4,
        volume_surge=2.5,
        pcr=float("nan"),
        pcr_bias="UNKNOWN",
        factors={"base": 3, "pcr": 1, "imbalance": 3, "institutional": 3, "volume_surge": 2},
        timestamp=datetime(2026, 11, 24, 10, 5, tzinfo=IST),
        quantity=350,
    )


def test_a_signal_reaches_telegram_the_webhook_and_e_mail_signed_and_labelled(servers):
    telegram, webhook, mailbox, _ = servers
    sender = alerts.Alerts(alerts.channels_of(settings_for(servers)))
    assert sender.submit(alerts.signal_alert(a_signal(), simulated=True))
    assert wait_for(lambda: telegram.posts and webhook.posts and mailbox.messages, 20)
    path, _, body = telegram.posts[0]
    assert path == f"/bot{BOT_TOKEN}/sendMessage"
    message = json.loads(body)
    assert message["chat_id"] == "42"
    for part in ("SIMULATED", "ACCUMULATION", "RELIANCE", "8.7/10", "1419.4", "1425", "1416.6"):
        assert part in message["text"]
    _, headers, body = webhook.posts[0]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["simulated"] is True and payload["factors"]["institutional"] == 3
    assert payload["quantity"] == 350
    mail = mailbox.messages[0]
    assert mail.rcpt_tos == ["trader@example.com"]
    assert b"SIMULATED ACCUMULATION RELIANCE" in mail.content
    assert sender.status()["telegram"]["sent"] == 1


def test_filters_and_the_telegram_rate_limit(servers):
    telegram, _, _, _ = servers
    settings = settings_for(
        servers, alert_webhook_url="", smtp_host="", alert_symbols="RELIANCE,TCS"
    )
    sender = alerts.Alerts(alerts.channels_of(settings), 7.0, ("RELIANCE", "TCS"))
    assert not sender.submit(alerts.signal_alert(a_signal(confidence=6.0), False))
    assert not sender.submit(alerts.signal_alert(a_signal(symbol="INFY"), False))
    assert sender.submit(alerts.signal_alert(a_signal(), False))
    assert sender.submit(alerts.signal_alert(a_signal(symbol="TCS"), False))
    assert wait_for(lambda: len(telegram.posts) == 2, 20)
    assert "SIMULATED" not in json.loads(telegram.posts[0][2])["text"]
    sent = sender.stats["telegram"]
    # The receiver can see the second post before the sender thread has counted it.
    assert wait_for(lambda: sent.sent == 2, 10) and sent.failed == 0


def test_telegram_messages_are_at_least_a_second_apart(servers):
    telegram, _, _, _ = servers
    stamps: list[float] = []
    channel = alerts.TelegramChannel(BOT_TOKEN, "42", telegram.url)
    real = channel.deliver

    def timed(alert):
        stamps.append(time.monotonic())
        real(alert)

    channel.deliver = timed
    sender = alerts.Alerts([channel], min_confidence=0)
    for _ in range(3):
        sender.submit(alerts.signal_alert(a_signal(), False))
    assert wait_for(lambda: len(stamps) == 3, 20)
    assert min(b - a for a, b in itertools.pairwise(stamps)) >= 0.99


def test_a_failing_receiver_is_counted_and_opens_its_breaker_without_raising(servers):
    failing = Receiver(status=500)
    try:
        sender = alerts.Alerts([alerts.WebhookChannel(f"{failing.url}/hook")], min_confidence=0)
        for _ in range(3):
            sender.submit(alerts.signal_alert(a_signal(), False))
        assert wait_for(lambda: sender.stats["webhook"].failed == 3, 30)
        assert sender.breakers["webhook"].state == "open"
        assert len(failing.posts) == 3  # the retries of the first; the open circuit sent none
        assert "HTTP Error 500" in sender.status()["webhook"]["last_error"]
    finally:
        failing.close()


def test_a_hanging_receiver_never_stalls_the_ticks(tmp_path):
    from feeds.service import MarketService

    hanging = Receiver(delay=30)
    try:
        settings = Settings(
            _env_file=None,
            data_dir=str(tmp_path),
            simulator_speed=50,
            simulator_warmup_seconds=0,
            min_confidence=1,
            alert_min_confidence=0,
            alert_webhook_url=f"{hanging.url}/hook",
        )
        service = MarketService(settings)
        service.start()
        try:
            assert wait_for(lambda: service.signals_total >= 2, 90)
            before = service.ticks_total
            assert wait_for(lambda: service.ticks_total > before + 500, 30)  # still streaming
            assert service.alerts.stats["webhook"].sent == 0  # the first is still hanging
        finally:
            service.stop()
    finally:
        hanging.server.shutdown()


def test_a_full_queue_drops_and_counts_without_waiting():
    released = threading.Event()

    class Stuck(alerts.Channel):
        name = "stuck"

        def deliver(self, alert):
            released.wait(10)

    sender = alerts.Alerts([Stuck()], min_confidence=0, queue_size=2)
    started = time.monotonic()
    accepted = [sender.submit(alerts.signal_alert(a_signal(), False)) for _ in range(6)]
    assert time.monotonic() - started < 1.0  # never waits for the receiver
    assert wait_for(lambda: sender.dropped >= 3, 5)
    assert accepted.count(True) + sender.dropped == 6
    released.set()
    assert wait_for(lambda: sender.stats["stuck"].sent == accepted.count(True), 10)


def test_feed_trouble_and_recovery_are_each_announced_once():
    class Service:
        def __init__(self) -> None:
            self.state = {"state": "connected", "login_required": False, "detail": ""}
            self.database: dict = {}

        def status(self):
            return dict(self.state)

        def database_status(self):
            return dict(self.database)

    service, sent = Service(), []

    class Recorder(alerts.Alerts):
        def submit(self, alert):
            sent.append(alert.title)
            return True

    stop = threading.Event()
    watcher = threading.Thread(
        target=alerts.watch_feed, args=(service, Recorder([]), stop, 0.05), daemon=True
    )
    original = alerts.TROUBLE_SECONDS
    alerts.TROUBLE_SECONDS = 0.2
    try:
        watcher.start()
        service.state = {"state": "reconnecting", "login_required": False, "detail": "lost"}
        assert wait_for(lambda: sent == ["Trouble: feed disconnected (lost)"], 5)
        service.database = {"error": "database unavailable: OperationalError"}
        assert wait_for(lambda: "Trouble: database unavailable" in sent, 5)
        service.state = {"state": "connected", "login_required": False, "detail": ""}
        service.database = {}
        assert wait_for(lambda: len(sent) == 4, 5)
        assert set(sent[2:]) == {
            "Recovered: feed disconnected (lost)",
            "Recovered: database unavailable",
        }
    finally:
        stop.set()
        alerts.TROUBLE_SECONDS = original


def test_alert_secrets_never_reach_the_log(servers, caplog):
    alerts.channels_of(settings_for(servers, smtp_password="smtp-password-31"))
    log = logging.getLogger("feeds")
    with caplog.at_level(logging.INFO):
        log.info("token %s secret %s password %s", BOT_TOKEN, SECRET, "smtp-password-31")
    from logs import redact

    line = redact(caplog.records[-1].getMessage())
    assert BOT_TOKEN not in line and SECRET not in line and "smtp-password-31" not in line
