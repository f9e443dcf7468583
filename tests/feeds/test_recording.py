"""Recordings keep every frame with its arrival time and survive a crash mid-chunk."""

from __future__ import annotations

import pytest

from feeds.recording import FrameRecorder, ReadReport, RecordingError, read_frames


def test_frames_come_back_in_order_with_their_arrival_times(tmp_path):
    path = tmp_path / "session.kfr"
    frames = [bytes([i % 256]) * (i + 1) for i in range(1_000)]
    with FrameRecorder(path, chunk_frames=64) as recorder:
        for index, frame in enumerate(frames):
            recorder.write(frame, arrival=1_700_000_000 + index / 10)
    got = list(read_frames(path))
    assert [frame for _, frame in got] == frames
    assert got[10][0] == pytest.approx(1_700_000_001.0)


def test_a_crash_mid_chunk_loses_at_most_that_chunk(tmp_path):
    path = tmp_path / "session.kfr"
    with FrameRecorder(path, chunk_frames=100) as recorder:
        for index in range(1_000):
            recorder.write(b"frame-%04d" % index, arrival=float(index))
    data = path.read_bytes()
    path.write_bytes(data[:-50])  # the last chunk is cut short, as by a kill during write
    report = ReadReport()
    got = list(read_frames(path, report))
    assert len(got) == 900
    assert got[-1][1] == b"frame-0899"
    assert "truncated chunk" in report.damaged


def test_appending_to_an_existing_recording_keeps_both_parts(tmp_path):
    path = tmp_path / "session.kfr"
    with FrameRecorder(path) as recorder:
        recorder.write(b"first", 1.0)
    with FrameRecorder(path) as recorder:
        recorder.write(b"second", 2.0)
    assert [frame for _, frame in read_frames(path)] == [b"first", b"second"]


def test_a_file_that_is_not_a_recording_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(RecordingError, match="not a frame recording"):
        list(read_frames(path))
