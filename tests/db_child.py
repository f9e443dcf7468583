"""A process that writes signals until killed, printing each id once its commit returned.

Run by the durability test: ``python -m tests.db_child sqlite:///path``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from database import SignalStore, SignalWriter, new_signal_id
from tests.db_rows import signal_dict


class ReportingStore(SignalStore):
    def write_batch(self, signals, outcomes, trades=(), icebergs=()):
        super().write_batch(signals, outcomes, trades, icebergs)
        sys.stdout.write("".join(f"{row['id']}\n" for row in signals))
        sys.stdout.flush()


def main(url: str) -> None:
    store = ReportingStore(url)
    store.migrate()
    writer = SignalWriter(store, batch_size=50, max_wait=0.01)
    start = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    n = 0
    while True:  # until SIGKILL
        n += 1
        writer.submit_signal(signal_dict(new_signal_id(), start + timedelta(seconds=n)))
        if n % 50 == 0:
            writer.flush(5)


if __name__ == "__main__":
    main(sys.argv[1])
