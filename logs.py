"""Logging: one line per event (IST time, level, component, message) to the console and a
rotating file under ``DATA_DIR/logs``, with every secret redacted.

Redaction happens in the formatter, on the final line (message, arguments and traceback
alike), so no handler can write a secret whatever logged it: our code, kiteconnect's DEBUG
request dumps, urllib3 or Streamlit. It removes

* the values registered with :func:`register_secret`: the API secret, the access token and
  the app password hash from the settings, and each request/access token the moment the
  login flow sees it;
* anything that looks like one: ``request_token=...``, ``access_token...``, ``api_secret``,
  ``checksum`` and ``password`` values, and ``Authorization: token key:...`` headers.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import re
import threading
import time
from pathlib import Path

from sqlalchemy.engine import make_url

REDACTED = "[REDACTED]"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
IST_SECONDS = 5 * 3600 + 30 * 60

_PATTERNS = [
    # key=value / "key": "value" / key: value for the names of secret things
    re.compile(
        r"(?i)((?:request_token|access_token|api_secret|refresh_token|checksum|password|"
        r"enctoken|app_password_hash)['\"]?\s*[=:]\s*['\"]?)([^'\"&\s,}]+)"
    ),
    # Kite's header: "Authorization: token api_key:access_token"
    re.compile(r"(?i)(token\s+[A-Za-z0-9_-]+:)([A-Za-z0-9_-]+)"),
    # a password in a database URL: scheme://user:password@host
    re.compile(r"([a-z0-9+]+://[^:/@\s]+:)([^@\s]+)(@)"),
]

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact ``value`` from every log line from now on (values under 4 characters are not
    registered: they would redact ordinary words)."""
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with registered secrets and secret-looking values replaced."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(
            lambda match: (
                match.group(1) + REDACTED + (match.group(3) if match.lastindex == 3 else "")
            ),
            text,
        )
    return text


class RedactingFormatter(logging.Formatter):
    """The standard line, in IST, with :func:`redact` applied to the whole of it."""

    converter = staticmethod(lambda seconds: time.gmtime(seconds + IST_SECONDS))

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S IST")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_configured: list[logging.Handler] = []


def configure_logging(settings) -> Path:
    """Install the console and rotating-file handlers once; return the log file's path.

    Registers the settings' secrets for redaction. Safe to call again (it replaces its own
    handlers, e.g. after a change of ``LOG_LEVEL``).
    """
    register_secret(settings.kite_api_secret.get_secret_value())
    register_secret(settings.kite_access_token.get_secret_value())
    register_secret(settings.app_password_hash.get_secret_value())
    register_secret(settings.api_token.get_secret_value())
    # An empty or malformed URL has no password to hide (the settings refuse malformed ones).
    with contextlib.suppress(Exception):
        register_secret(make_url(settings.database_url.get_secret_value()).password)
    folder = Path(settings.data_dir) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "orderflow.log"
    root = logging.getLogger()
    for handler in _configured:
        root.removeHandler(handler)
        handler.close()
    formatter = RedactingFormatter()
    console = logging.StreamHandler()
    file = logging.handlers.RotatingFileHandler(
        path, maxBytes=10 * 2**20, backupCount=5, encoding="utf-8"
    )
    for handler in (console, file):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    _configured[:] = [console, file]
    root.setLevel(settings.log_level)
    # Third-party chatter stays at INFO unless DEBUG is asked for.
    for noisy in ("urllib3", "websockets", "twisted", "watchdog", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(
            logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING
        )
    return path
