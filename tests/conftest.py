"""Shared fixtures: settings that ignore the developer's own `.env`."""

from __future__ import annotations

import pytest

from config import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)
