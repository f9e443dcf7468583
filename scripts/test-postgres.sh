#!/usr/bin/env bash
# `test-postgres.sh [start]`: start (once) a throw-away PostgreSQL server on 127.0.0.1 for the
# test suite and print its SQLAlchemy URL. `test-postgres.sh stop`: stop it again, only if it
# was this script that started it (a server that was already running is left alone).
# Debian's postgresql package provides the binaries (make test installs it). The server
# lives in /tmp/orderflow-test-pg and trusts local connections: tests only.
set -euo pipefail
ACTION="${1:-start}"
PORT="${TEST_PG_PORT:-54329}"
DIR="${TEST_PG_DIR:-/tmp/orderflow-test-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

# initdb refuses to run as root: run the server as the postgres user then.
if [ "$(id -u)" -eq 0 ]; then AS=(runuser -u postgres --); else AS=(); fi

MARK="$DIR/.started-by-test-postgres"
if [ "$ACTION" = "stop" ]; then
    if [ -f "$MARK" ]; then
        "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" -w -t 60 -m fast stop >/dev/null
        rm -f "$MARK"
    fi
    exit 0
fi

if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    if [ ! -f "$DIR/PG_VERSION" ]; then
        mkdir -p "$DIR"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
        "${AS[@]}" "$BIN/initdb" -D "$DIR" -U postgres -A trust --no-sync >/dev/null
    fi
    "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    touch "$MARK"
fi
"$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'orderflow_test'" | grep -q 1 ||
    "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres orderflow_test
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/orderflow_test"
