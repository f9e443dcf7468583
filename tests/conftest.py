"""Shared fixtures: settings that ignore the developer's own `.env`.

hypothesis is imported here, before any test starts a thread: pytest's plugin imports it
lazily at the end of the session, and CPython 3.11 can fail compiling a module while the
Twisted reactor thread of the Kite tests runs ("AST constructor recursion depth mismatch").
"""

from __future__ import annotations

import hypothesis  # noqa: F401 - imported before test threads start (see below)
import pytest

from config import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)
