#!/usr/bin/env bash
# Start hs1..hs3 of DIR (made by setup.sh) in the background and wait until
# each answers /_matrix/client/versions (at most ${SYNAPSE_START_TIMEOUT:-120} s).
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR="$(cd "$1" && pwd)"
[ -f "$DIR/servers.json" ] || { echo "$DIR/servers.json missing: run setup.sh $DIR first" >&2; exit 1; }
VENV="$(cat "$DIR/venv")"
PY="$VENV/bin/python"
TIMEOUT="${SYNAPSE_START_TIMEOUT:-120}"

for i in 1 2 3; do
    hd="$DIR/hs$i"
    pf="$hd/homeserver.pid"
    if [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null; then
        echo "hs$i already running (pid $(cat "$pf"))"
        continue
    fi
    rm -f "$pf"
    # --daemonize: Synapse forks, detaches and writes pid_file itself.
    # Its stdout/stderr before logging is set up goes to start.log.
    (cd "$hd" && "$PY" -m synapse.app.homeserver -c "$hd/homeserver.yaml" --daemonize \
        >>"$hd/start.log" 2>&1 < /dev/null) || {
        echo "hs$i failed to start; see $hd/start.log and $hd/homeserver.log" >&2
        tail -n 20 "$hd/start.log" >&2 || true
        exit 1
    }
done

deadline=$(( $(date +%s) + TIMEOUT ))
for i in 1 2 3; do
    url="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["servers"][int(sys.argv[2])]["client_url"])' "$DIR/servers.json" $((i-1)))"
    until curl -fsS --max-time 2 "$url/_matrix/client/versions" >/dev/null 2>&1; do
        pf="$DIR/hs$i/homeserver.pid"
        if [ -f "$pf" ] && ! kill -0 "$(cat "$pf")" 2>/dev/null; then
            echo "hs$i died during startup; see $DIR/hs$i/homeserver.log" >&2
            tail -n 20 "$DIR/hs$i/homeserver.log" >&2 || true
            exit 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "hs$i did not answer $url within ${TIMEOUT}s" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "hs$i up: $url (pid $(cat "$DIR/hs$i/homeserver.pid"))"
done
