"""python -m backtest SESSION... [--set NAME=VALUE[,VALUE...] ...]: see :mod:`backtest`.

A SESSION is a frame recording (DATA_DIR/recordings/*.kfr, written with RECORD_FRAMES=true)
or sim:SEED, an hour of the event-driven book simulator. Giving one NAME several values
(comma-separated, or --set repeated) makes a grid of every combination; each row printed is
one setting, its signals and its outcomes net of costs.
"""

from __future__ import annotations

import argparse
import sys

from backtest import BacktestError, parse_grid, run_grid, session_of, table


def main(argv: list[str] | None = None) -> int:
    from config import get_settings

    parser = argparse.ArgumentParser(prog="python -m backtest", description=__doc__.splitlines()[0])
    parser.add_argument("sessions", nargs="+", metavar="SESSION")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE[,VALUE]")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    parser.add_argument("--instruments", type=int, default=12, help="per simulator session")
    parser.add_argument("--minutes", type=int, default=60, help="per simulator session")
    arguments = parser.parse_args(argv)
    settings = get_settings()
    try:
        sessions = [
            session_of(text, arguments.instruments, arguments.minutes)
            for text in arguments.sessions
        ]
        grid = parse_grid(arguments.set, settings)
    except BacktestError as error:
        parser.error(str(error))

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} settings", end="", file=sys.stderr, flush=True)

    rows = run_grid(settings, grid, sessions, arguments.workers, progress)
    print(file=sys.stderr)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
