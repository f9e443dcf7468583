"""Record raw Kite frames with their arrival times, and read them back.

File format (big-endian), built to survive a crash: a header ``KFRAMES1``, an optional
``b"META"`` chunk of JSON (the instruments' symbols), then independent chunks. Each chunk is
a tag (``b"CHNK"``), the compressed length (u32), the CRC-32 of the compressed bytes (u32)
and a zlib stream of records ``arrival (f64, epoch seconds) | length (u32) | frame``. A chunk
is written in one call and flushed, so a crash loses at most the chunk being written; a
reader stops cleanly at a truncated or corrupt chunk and says so.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"KFRAMES1"
CHUNK = struct.Struct(">4sII")
RECORD = struct.Struct(">dI")


class RecordingError(ValueError):
    """A file that is not a frame recording, or is damaged beyond its last good chunk."""


class FrameRecorder:
    """Append frames to a recording, one compressed chunk every ``chunk_frames`` frames or
    ``chunk_seconds`` seconds, whichever comes first."""

    def __init__(
        self,
        path: str | Path,
        metadata: dict | None = None,
        chunk_frames: int = 600,
        chunk_seconds: float = 5.0,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.chunk_frames = chunk_frames
        self.chunk_seconds = chunk_seconds
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open for the recording's life
        if new:
            self._file.write(MAGIC)
            if metadata is not None:
                blob = json.dumps(metadata).encode()
                self._file.write(CHUNK.pack(b"META", len(blob), zlib.crc32(blob)) + blob)
            self._file.flush()
        self._pending: list[bytes] = []
        self._pending_since = time.monotonic()
        self.frames_written = 0

    def write(self, frame: bytes, arrival: float | None = None) -> None:
        """Add one frame received at ``arrival`` (epoch seconds, now if omitted)."""
        stamp = time.time() if arrival is None else arrival
        self._pending.append(RECORD.pack(stamp, len(frame)) + frame)
        if (
            len(self._pending) >= self.chunk_frames
            or time.monotonic() - self._pending_since >= self.chunk_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write what is pending as one chunk."""
        if not self._pending:
            return
        compressed = zlib.compress(b"".join(self._pending), 6)
        self._file.write(CHUNK.pack(b"CHNK", len(compressed), zlib.crc32(compressed)) + compressed)
        self._file.flush()
        self.frames_written += len(self._pending)
        self._pending = []
        self._pending_since = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._file.close()

    def __enter__(self) -> FrameRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class ReadReport:
    """What reading a recording found: frames read and why it stopped early, if it did."""

    frames: int = 0
    chunks: int = 0
    damaged: str = ""


def read_frames(
    path: str | Path, report: ReadReport | None = None
) -> Iterator[tuple[float, bytes]]:
    """Yield ``(arrival, frame)`` from a recording in order.

    A truncated or corrupt chunk ends the iteration (its frames are lost, the earlier ones
    are not); ``report.damaged`` then says where. A file that is not a recording raises
    :class:`RecordingError`.
    """
    report = report if report is not None else ReadReport()
    with open(path, "rb") as file:
        if file.read(len(MAGIC)) != MAGIC:
            raise RecordingError(f"{path} is not a frame recording (bad header)")
        while True:
            offset = file.tell()
            header = file.read(CHUNK.size)
            if not header:
                return
            if len(header) < CHUNK.size:
                report.damaged = f"truncated chunk header at byte {offset}"
                return
            tag, length, checksum = CHUNK.unpack(header)
            body = file.read(length)
            if tag not in (b"CHNK", b"META") or len(body) < length or zlib.crc32(body) != checksum:
                report.damaged = f"damaged or truncated chunk at byte {offset}"
                return
            if tag == b"META":
                continue
            data = zlib.decompress(body)
            position = 0
            while position < len(data):
                arrival, size = RECORD.unpack_from(data, position)
                position += RECORD.size
                yield arrival, data[position : position + size]
                position += size
                report.frames += 1
            report.chunks += 1


def read_metadata(path: str | Path) -> dict:
    """The recording's metadata (``{}`` if it has none)."""
    with open(path, "rb") as file:
        if file.read(len(MAGIC)) != MAGIC:
            raise RecordingError(f"{path} is not a frame recording (bad header)")
        header = file.read(CHUNK.size)
        if len(header) < CHUNK.size:
            return {}
        tag, length, checksum = CHUNK.unpack(header)
        if tag != b"META":
            return {}
        body = file.read(length)
        if len(body) < length or zlib.crc32(body) != checksum:
            raise RecordingError(f"{path} has a damaged metadata chunk")
        return json.loads(body)
