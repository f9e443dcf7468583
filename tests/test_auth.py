"""Password hashes and the throttled gate."""

from __future__ import annotations

import pytest

from auth import FREE_ATTEMPTS, PasswordGate, hash_password, parse_hash, verify_password


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_hash_round_trip_and_a_fresh_salt_each_time():
    first, second = hash_password("pw", iterations=1_000), hash_password("pw", iterations=1_000)
    assert first != second
    assert verify_password("pw", first) and verify_password("pw", second)
    assert not verify_password("pW", first)


@pytest.mark.parametrize(
    "bad",
    ["", "plain", "md5$1$00$00", "pbkdf2_sha256$x$00$" + "00" * 32, "pbkdf2_sha256$10$zz$00"],
)
def test_malformed_hashes_are_refused_with_the_format_named(bad):
    with pytest.raises(ValueError, match="APP_PASSWORD_HASH"):
        parse_hash(bad)


def test_the_config_refuses_a_malformed_hash(monkeypatch):
    from config import ConfigError, load_settings

    monkeypatch.setenv("APP_PASSWORD_HASH", "letmein")
    with pytest.raises(ConfigError, match=r"python auth\.py") as error:
        load_settings()
    assert "letmein" not in str(error.value)


def test_the_config_refuses_a_malformed_database_url_without_echoing_it(monkeypatch):
    from config import ConfigError, load_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://trader:pw-77@db:notaport/x")
    with pytest.raises(ConfigError, match="DATABASE_URL is not a SQLAlchemy URL") as error:
        load_settings()
    assert "pw-77" not in str(error.value)


def test_lockouts_double_after_the_free_attempts_and_success_resets():
    clock = Clock()
    gate = PasswordGate(hash_password("right", iterations=1_000), clock=clock)
    for _ in range(FREE_ATTEMPTS):
        assert not gate.attempt("wrong").throttled
    assert not gate.attempt("wrong").accepted  # the 4th failure locks for 2 s
    refused = gate.attempt("right")
    assert refused.throttled and not refused.accepted and refused.wait_seconds == 2.0
    clock.now += 2.0
    gate.attempt("wrong")  # 5th failure: 4 s
    clock.now += 3.9
    assert gate.attempt("right").throttled
    clock.now += 0.1
    assert gate.attempt("right").accepted
    assert gate.failures == 0
    assert not gate.attempt("wrong").throttled


def test_parallel_attempts_cannot_race_past_the_lockout(monkeypatch):
    import threading

    import auth

    hashed = hash_password("right", iterations=1_000)
    gate = PasswordGate(hashed)
    hashes = []
    slow = threading.Event()

    def counting_verify(password, encoded):
        hashes.append(password)
        slow.wait(0.2)  # every hash takes a while, as the real 600,000 iterations do
        return auth.hmac.compare_digest(password, "right")

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    barrier = threading.Barrier(20)
    answers = []

    def guess() -> None:
        barrier.wait()
        answers.append(gate.attempt("wrong"))

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # The free attempts and the one that sets the first lock are hashed; the rest wait.
    assert len(hashes) == FREE_ATTEMPTS + 1
    assert sum(answer.throttled for answer in answers) == 20 - (FREE_ATTEMPTS + 1)
    assert not any(answer.accepted for answer in answers)
