"""Frame sources for tests that need a running source but no ticks."""

from __future__ import annotations

from feeds.sources import FrameSource


class IdleSource(FrameSource):
    """A live source that connects to one instrument and streams nothing until stopped."""

    name = "idle"
    live = True

    def resolve(self) -> None:
        self.instruments = {1: "RELIANCE"}

    def _run(self, deliver) -> None:
        self.state = "connected"
        self._stop.wait()
