"""Alerts where the trader is: Telegram, a webhook and e-mail, never in the market's way.

Rules:

* what is sent: each new signal (type, symbol, confidence, entry / target / stop, the factor
  points, SIMULATED or live) at or above ``ALERT_MIN_CONFIDENCE`` and, when ``ALERT_SYMBOLS``
  is set, only for those symbols; its outcome when decided; feed trouble (login required,
  disconnected for more than a minute, the database unavailable) and its recovery. Signals
  replayed by a warm-up are history and are not sent;
* channels are configured in the environment: Telegram (``TELEGRAM_BOT_TOKEN``,
  ``TELEGRAM_CHAT_ID``, ``TELEGRAM_API_ROOT``), a webhook (``ALERT_WEBHOOK_URL``, JSON POST,
  with ``ALERT_WEBHOOK_SECRET`` an ``X-Signature: sha256=<HMAC of the body>`` header), e-mail
  (``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``, ``ALERT_EMAIL_TO``; STARTTLS
  whenever the server offers it, and required unless the server is this machine);
* delivery never blocks the market thread: :meth:`Alerts.submit` puts the message on a
  bounded queue (a full queue drops it and counts the drop) and one sender thread delivers;
  each channel has a minimum interval between messages (Telegram allows about one a second
  a chat), retries with jittered back-off and a circuit breaker; sends, failures and drops
  are counted for ``/health``. The secrets are registered with the log redaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage

from feeds.breaker import CircuitBreaker, retry
from logs import redact, register_secret

log = logging.getLogger("alerts")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Alert:
    """One message: a short title, its text, the structured fields, and what it is about."""

    kind: str  # signal / outcome / feed / test
    title: str
    text: str
    fields: dict = field(default_factory=dict)
    symbol: str = ""
    confidence: float | None = None


class Channel:
    """Where alerts go; ``deliver`` raises on failure."""

    name = "channel"
    min_interval = 0.2  # seconds between two messages

    def deliver(self, alert: Alert) -> None:
        raise NotImplementedError


def _post(url: str, body: bytes, headers: dict, timeout: float) -> None:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status >= 300:
            raise OSError(f"HTTP {response.status}")


class TelegramChannel(Channel):
    name = "telegram"
    min_interval = 1.0  # Telegram: about one message a second to a chat

    def __init__(self, token: str, chat_id: str, root: str, timeout: float = 10) -> None:
        self.token, self.chat_id, self.root, self.timeout = token, chat_id, root, timeout

    def deliver(self, alert: Alert) -> None:
        body = json.dumps({"chat_id": self.chat_id, "text": f"{alert.title}\n{alert.text}"})
        url = f"{self.root.rstrip('/')}/bot{self.token}/sendMessage"
        _post(url, body.encode(), {"Content-Type": "application/json"}, self.timeout)


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, url: str, secret: str = "", timeout: float = 10) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def deliver(self, alert: Alert) -> None:
        body = json.dumps(
            {"kind": alert.kind, "title": alert.title, "text": alert.text, **alert.fields},
            default=str,
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Signature"] = f"sha256={digest}"
        _post(self.url, body, headers, self.timeout)


class EmailChannel(Channel):
    name = "email"

    def __init__(
        self, host: str, port: int, user: str, password: str, to: str, timeout: float = 10
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.to, self.timeout = to, timeout

    def deliver(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = alert.title
        message["From"] = self.user or f"orderflow@{self.host}"
        message["To"] = self.to
        message.set_content(alert.text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            server.ehlo()
            if server.has_extn("starttls"):
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            elif self.host not in LOOPBACK:
                raise OSError(f"{self.host} does not offer STARTTLS: not sending in the clear")
            if self.user:
                server.login(self.user, self.password)
            server.send_message(message)


def channels_of(settings) -> list[Channel]:
    """The channels ``settings`` configure (their secrets registered for redaction)."""
    found: list[Channel] = []
    telegram = settings.telegram_bot_token.get_secret_value()
    if telegram and settings.telegram_chat_id:
        register_secret(telegram)
        found.append(
            TelegramChannel(telegram, settings.telegram_chat_id, settings.telegram_api_root)
        )
    if settings.alert_webhook_url:
        secret = settings.alert_webhook_secret.get_secret_value()
        register_secret(secret)
        found.append(WebhookChannel(settings.alert_webhook_url, secret))
    if settings.smtp_host and settings.alert_email_to:
        password = settings.smtp_password.get_secret_value()
        register_secret(password)
        found.append(
            EmailChannel(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_user,
                password,
                settings.alert_email_to,
            )
        )
    return found


def signal_alert(signal, simulated: bool) -> Alert:
    label = "SIMULATED " if simulated else ""
    points = ", ".join(
        f"{name} {value}"
        for name, value in signal.factors.items()
        if name in ("base", "pcr", "imbalance", "institutional", "volume_surge")
    )
    text = (
        f"{label}{signal.signal_type} {signal.symbol} at {signal.timestamp:%H:%M:%S} IST, "
        f"confidence {signal.confidence:.1f}/10. Entry {signal.entry:g}, target "
        f"{signal.target:g}, stop {signal.stop_loss:g}"
        + (f", {signal.quantity:,} shares" if signal.quantity else "")
        + f". Points: {points}."
    )
    fields = {**signal.as_json(), "simulated": simulated}
    title = f"{label}{signal.signal_type} {signal.symbol} {signal.confidence:.1f}/10"
    return Alert("signal", title, text, fields, signal.symbol, signal.confidence)


def outcome_alert(signal, outcome, simulated: bool) -> Alert:
    label = "SIMULATED " if simulated else ""
    text = (
        f"{label}{signal.signal_type} {signal.symbol}: {outcome.outcome} at "
        f"{outcome.exit_price:g}, {outcome.r_multiple:+.2f} R ({outcome.net_r:+.2f} R net of "
        f"costs) after {outcome.minutes_to_outcome:.0f} min."
    )
    fields = {
        **signal.as_json(),
        "outcome": outcome.outcome,
        "exit_price": outcome.exit_price,
        "r_multiple": outcome.r_multiple,
        "net_r": outcome.net_r,
        "simulated": simulated,
    }
    title = f"{label}{signal.symbol} {outcome.outcome} {outcome.net_r:+.2f} R net"
    return Alert("outcome", title, text, fields, signal.symbol, signal.confidence)


@dataclass
class ChannelStats:
    sent: int = 0
    failed: int = 0
    last_error: str = ""


class Alerts:
    """The queue, the sender thread and the channels (see the module docstring)."""

    def __init__(
        self,
        channels: list[Channel],
        min_confidence: float = 7.0,
        symbols: tuple[str, ...] = (),
        queue_size: int = 1_000,
        retries: int = 3,
    ) -> None:
        self.channels = channels
        self.min_confidence = min_confidence
        self.symbols = set(symbols)
        self.retries = retries
        self.dropped = 0
        self.stats = {channel.name: ChannelStats() for channel in channels}
        self.breakers = {
            channel.name: CircuitBreaker(f"alerts:{channel.name}", 3, 60) for channel in channels
        }
        self._queue: queue.Queue[Alert | None] = queue.Queue(queue_size)
        self._last_sent = {channel.name: 0.0 for channel in channels}
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.channels)

    def wanted(self, alert: Alert) -> bool:
        """Signals and outcomes pass the confidence and symbol filters; the rest always."""
        if alert.kind not in ("signal", "outcome"):
            return True
        if self.symbols and alert.symbol not in self.symbols:
            return False
        return alert.confidence is None or alert.confidence >= self.min_confidence

    def submit(self, alert: Alert) -> bool:
        """Queue ``alert`` for delivery without waiting; False when filtered or dropped."""
        if not self.channels or not self.wanted(alert):
            return False
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.dropped += 1
            return False
        self._start()
        return True

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._send_loop, name="alerts", daemon=True)
            self._thread.start()

    def _send_loop(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            for channel in self.channels:
                self._deliver(channel, alert)

    def _deliver(self, channel: Channel, alert: Alert) -> bool:
        wait = channel.min_interval - (time.monotonic() - self._last_sent[channel.name])
        if wait > 0:
            time.sleep(wait)
        stats, breaker = self.stats[channel.name], self.breakers[channel.name]
        try:
            retry(lambda: breaker.call(channel.deliver, alert), attempts=self.retries, base=0.5)
        except Exception as error:  # counted and logged; the next alert is tried anyway
            stats.failed += 1
            stats.last_error = redact(f"{type(error).__name__}: {error}")
            log.warning("alert to %s failed: %s", channel.name, stats.last_error)
            return False
        finally:
            self._last_sent[channel.name] = time.monotonic()
        stats.sent += 1
        return True

    def send_test(self) -> dict[str, str]:
        """Send a test message on every channel now (the sidebar's button): result a channel."""
        alert = Alert("test", "Order-flow dashboard: test alert", "Alerts reach you here.")
        return {
            channel.name: "sent"
            if self._deliver(channel, alert)
            else self.stats[channel.name].last_error
            for channel in self.channels
        }

    def status(self) -> dict:
        return {
            "channels": [channel.name for channel in self.channels],
            "queued": self._queue.qsize(),
            "dropped": self.dropped,
            **{
                name: {"sent": s.sent, "failed": s.failed, "last_error": s.last_error}
                for name, s in self.stats.items()
            },
        }

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout``), then stop the sender."""
        if self._thread is not None and self._thread.is_alive():
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                return
            self._thread.join(timeout)


TROUBLE_SECONDS = 60  # disconnected this long before it is worth a message


def feed_troubles(status: dict, database: dict, down_since: float | None, now: float) -> set[str]:
    """The troubles in a service's ``status`` and ``database`` report worth an alert now;
    ``down_since`` is when the feed stopped being connected (None while it is)."""
    troubles = set()
    if status.get("login_required"):
        troubles.add("Kite login required")
    elif down_since is not None and now - down_since > TROUBLE_SECONDS:
        troubles.add(f"feed disconnected ({status.get('detail') or status.get('state')})")
    if database.get("error"):
        troubles.add("database unavailable")
    return troubles


def watch_feed(service, alerts: Alerts, stop: threading.Event, every: float = 5.0) -> None:
    """Alert on each trouble of ``service`` when it starts and when it ends (a thread)."""
    current: set[str] = set()
    down_since: float | None = None
    while not stop.wait(every):
        status = service.status()
        now = time.monotonic()
        troubled_state = status["state"] in ("reconnecting", "error", "login_required")
        down_since = (down_since or now) if troubled_state else None
        found = feed_troubles(status, service.database_status(), down_since, now)
        for trouble in sorted(found - current):
            alerts.submit(
                Alert("feed", f"Trouble: {trouble}", f"The dashboard reports: {trouble}.")
            )
        for trouble in sorted(current - found):
            alerts.submit(
                Alert("feed", f"Recovered: {trouble}", f"Back to normal: {trouble} is over.")
            )
        current = found
