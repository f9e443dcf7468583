"""The optional password gate: PBKDF2 password hashes and throttled attempts.

``APP_PASSWORD_HASH`` holds ``pbkdf2_sha256$<iterations>$<salt hex>$<digest hex>``. Make one
with::

    python auth.py            # prompts twice, prints the line to put in .env

Wrong attempts are throttled for the whole process (a reload does not reset them): after
``FREE_ATTEMPTS`` failures each further one locks the gate for twice as long as the last,
up to ``MAX_LOCKOUT_SECONDS``. A success resets the count.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000
FREE_ATTEMPTS = 3
MAX_LOCKOUT_SECONDS = 300.0


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """The ``APP_PASSWORD_HASH`` line for ``password``."""
    if not password:
        raise ValueError("the password must not be empty")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def parse_hash(encoded: str) -> tuple[int, bytes, bytes]:
    """Iterations, salt and digest of an ``APP_PASSWORD_HASH``; ValueError saying what is off."""
    parts = encoded.strip().split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        raise ValueError(
            f"APP_PASSWORD_HASH must look like {SCHEME}$<iterations>$<salt hex>$<digest hex>;"
            " make one with: python auth.py"
        )
    try:
        iterations, salt, digest = int(parts[1]), bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
    except ValueError:
        raise ValueError(
            "APP_PASSWORD_HASH has a non-numeric iteration count or non-hex salt/digest"
        ) from None
    if iterations < 1 or not salt or len(digest) != 32:
        raise ValueError("APP_PASSWORD_HASH needs iterations >= 1, a salt and a 32-byte digest")
    return iterations, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches the hash (constant-time comparison)."""
    iterations, salt, digest = parse_hash(encoded)
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return hmac.compare_digest(candidate, digest)


@dataclass(frozen=True)
class Attempt:
    """The answer to one password attempt."""

    accepted: bool
    wait_seconds: float = 0.0  # > 0: refused without checking, try again after this

    @property
    def throttled(self) -> bool:
        return self.wait_seconds > 0


class PasswordGate:
    """Checks passwords against one hash and throttles wrong attempts (thread-safe)."""

    def __init__(self, encoded_hash: str, clock=time.monotonic) -> None:
        parse_hash(encoded_hash)
        self._hash = encoded_hash
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self._locked_until = 0.0

    def attempt(self, password: str) -> Attempt:
        """Check ``password``. The attempt is counted as a failure, and the lockout that
        follows it set, before the (slow) hash runs, so attempts made in parallel cannot
        slip past the throttle: each sees the lock its predecessors reserved."""
        with self._lock:
            now = self._clock()
            if now < self._locked_until:
                return Attempt(False, max(round(self._locked_until - now, 1), 0.1))
            self.failures += 1
            if self.failures > FREE_ATTEMPTS:
                lockout = min(2.0 ** (self.failures - FREE_ATTEMPTS), MAX_LOCKOUT_SECONDS)
                self._locked_until = now + lockout
        accepted = verify_password(password, self._hash)
        if accepted:
            with self._lock:
                self.failures, self._locked_until = 0, 0.0
            return Attempt(True)
        return Attempt(False)


if __name__ == "__main__":  # pragma: no cover - interactive helper
    import getpass

    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("The two passwords differ.")
    print(f"APP_PASSWORD_HASH='{hash_password(first)}'")
