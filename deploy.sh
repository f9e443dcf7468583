#!/usr/bin/env bash
# Deploy with Docker Compose: check .env, build, start, and wait until /health says healthy.
#   ./deploy.sh              the app on SQLite (in the orderflow-data volume)
#   ./deploy.sh --postgres   the app and a PostgreSQL service (DATABASE_URL must point at it)
set -euo pipefail
cd "$(dirname "$0")"

fail() { echo "deploy: $*" >&2; exit 1; }
value() { grep -E "^$1=" .env | tail -n 1 | cut -d= -f2- | sed -e "s/^[\"']//" -e "s/[\"']$//"; }

profile=()
case "${1:-}" in
    "") ;;
    --postgres) profile=(--profile postgres) ;;
    *) fail "unknown option $1 (use --postgres or nothing)" ;;
esac

[ -f .env ] || fail ".env is missing: cp .env.example .env, then fill it in"

# Names only: the values may be secrets.
placeholders="$(grep -Ei '^[A-Z0-9_]+=["'"'"']?(change-?me|replace-?me|your[-_a-z ]*|<[^>]*>|x{3,}|todo|placeholder)["'"'"']?[[:space:]]*$' .env | cut -d= -f1 || true)"
[ -z "$placeholders" ] || fail ".env still has placeholder values for: $(echo $placeholders)"

if [ "$(value DATA_SOURCE)" = "kite" ]; then
    [ -n "$(value KITE_API_KEY)" ] || fail "DATA_SOURCE=kite needs KITE_API_KEY in .env"
    [ -n "$(value KITE_API_SECRET)" ] || fail "DATA_SOURCE=kite needs KITE_API_SECRET in .env"
    # The container listens on every interface: without a password anyone who reaches it
    # could use the Kite login panel.
    [ -n "$(value APP_PASSWORD_HASH)" ] || fail "DATA_SOURCE=kite needs APP_PASSWORD_HASH in .env (python auth.py makes one): the dashboard is reachable from the network"
fi
if [ ${#profile[@]} -gt 0 ]; then
    [ -n "$(value POSTGRES_PASSWORD)" ] || fail "--postgres needs POSTGRES_PASSWORD in .env"
    case "$(value DATABASE_URL)" in
        *@postgres:*) ;;
        *) fail "--postgres needs DATABASE_URL=postgresql+psycopg://orderflow:<password>@postgres:5432/orderflow" ;;
    esac
fi

command -v docker >/dev/null 2>&1 || fail "docker is not installed"
docker compose "${profile[@]}" build
docker compose "${profile[@]}" up -d

container="$(docker compose ps -q app)"
[ -n "$container" ] || fail "the app container did not start: docker compose logs app"
for _ in $(seq 1 "${DEPLOY_WAIT_TRIES:-60}"); do
    status="$(docker inspect --format '{{.State.Health.Status}}' "$container")"
    case "$status" in
        healthy)
            port="$(value APP_PORT || true)"
            echo "deploy: healthy on http://localhost:${port:-8501}"
            exit 0 ;;
        unhealthy) docker compose logs --tail 50 app >&2; fail "the app is unhealthy" ;;
    esac
    sleep "${DEPLOY_WAIT_SECONDS:-3}"
done
docker compose logs --tail 50 app >&2
fail "the app did not become healthy in time"
