#!/usr/bin/env bash
# Set up three federating Synapse homeservers (hs1, hs2, hs3) on loopback in DIR.
#
#   bash bench/synapse/setup.sh DIR
#
# Idempotent: the venv is (re)installed only when requirements.txt changed;
# configs are rewritten every time; signing keys, TLS certificate, secrets
# and databases are kept.
#
# Environment:
#   SYNAPSE_VENV       venv path (default $HOME/.cache/mimi-bench/synapse-venv)
#   SYNAPSE_DB         sqlite (default) | postgres (127.0.0.1:5432, trust auth,
#                      user postgres; databases <prefix>hs1..3 are created
#                      fresh the first time this DIR is set up for postgres)
#   SYNAPSE_RESET=1    wipe the databases (sqlite files / drop+create postgres
#                      databases) and media of DIR, keeping keys and config
#   SYNAPSE_BASE_PORT  default 18480: federation TLS ports BASE+1..3,
#                      client HTTP ports BASE+11..13
#   SYNAPSE_PG_PREFIX  default mimibench_synapse_
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
VENV="${SYNAPSE_VENV:-$HOME/.cache/mimi-bench/synapse-venv}"
DB="${SYNAPSE_DB:-sqlite}"
PG_PREFIX="${SYNAPSE_PG_PREFIX:-mimibench_synapse_}"
PG_HOST="${SYNAPSE_PG_HOST:-127.0.0.1}"
PG_PORT="${SYNAPSE_PG_PORT:-5432}"
PG_USER="${SYNAPSE_PG_USER:-postgres}"
export SYNAPSE_DB="$DB" SYNAPSE_PG_PREFIX="$PG_PREFIX" SYNAPSE_PG_HOST="$PG_HOST" \
    SYNAPSE_PG_PORT="$PG_PORT" SYNAPSE_PG_USER="$PG_USER"

case "$DB" in
    sqlite|postgres) ;;
    *) echo "SYNAPSE_DB must be sqlite or postgres" >&2; exit 2 ;;
esac

# Refuse to touch databases under running servers.
for i in 1 2 3; do
    pf="$DIR/hs$i/homeserver.pid"
    if [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null; then
        echo "hs$i is running (pid $(cat "$pf")); run stop.sh $DIR first" >&2
        exit 1
    fi
done

# --- venv -----------------------------------------------------------------
REQ="$HERE/requirements.txt"
REQ_SUM="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating venv $VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
fi
if [ "$(cat "$VENV/.mimi-bench-req" 2>/dev/null || true)" != "$REQ_SUM" ]; then
    echo "installing $(grep -v '^#' "$REQ" | tr '\n' ' ') into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$REQ"
    echo "$REQ_SUM" > "$VENV/.mimi-bench-req"
fi
echo "synapse $("$VENV/bin/python" -c 'import synapse; print(synapse.__version__)') in $VENV"

# --- databases ------------------------------------------------------------
if [ "${SYNAPSE_RESET:-0}" = 1 ]; then
    echo "SYNAPSE_RESET=1: wiping databases and media in $DIR"
    for i in 1 2 3; do
        rm -rf "$DIR/hs$i/homeserver.db" "$DIR/hs$i/homeserver.db-"* "$DIR/hs$i/media_store" \
            "$DIR/hs$i/.pg_created"
    done
fi
if [ "$DB" = postgres ]; then
    export PGOPTIONS="-c client_min_messages=warning"
    PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres)
    "${PSQL[@]}" -c 'select 1' >/dev/null || {
        echo "cannot reach PostgreSQL at $PG_HOST:$PG_PORT as $PG_USER (trust auth expected)" >&2
        exit 1
    }
    for i in 1 2 3; do
        dbname="${PG_PREFIX}hs$i"
        exists="$("${PSQL[@]}" -tA -c "SELECT 1 FROM pg_database WHERE datname = '$dbname'")"
        if [ ! -f "$DIR/hs$i/.pg_created" ] || [ "$exists" != 1 ]; then
            echo "creating fresh PostgreSQL database $dbname"
            "${PSQL[@]}" -c "DROP DATABASE IF EXISTS \"$dbname\" WITH (FORCE)"
            "${PSQL[@]}" -c "CREATE DATABASE \"$dbname\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            mkdir -p "$DIR/hs$i"
            echo "$dbname" > "$DIR/hs$i/.pg_created"
        fi
    done
fi

# --- configs, keys --------------------------------------------------------
"$VENV/bin/python" "$HERE/gen_config.py" "$DIR"
for i in 1 2 3; do
    if [ ! -f "$DIR/hs$i/signing.key" ]; then
        "$VENV/bin/python" -m synapse.app.homeserver -c "$DIR/hs$i/homeserver.yaml" --generate-keys
    fi
done
echo "$VENV" > "$DIR/venv"
echo "setup done: $DIR ($DB)"
