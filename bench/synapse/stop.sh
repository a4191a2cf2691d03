#!/usr/bin/env bash
# Stop hs1..hs3 of DIR: SIGTERM by pid file, wait up to 20 s, then SIGKILL.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR="$(cd "$1" && pwd)" || exit 1
pids=()
for i in 1 2 3; do
    pf="$DIR/hs$i/homeserver.pid"
    [ -f "$pf" ] || continue
    pid="$(cat "$pf")"
    # Only signal the process if it really is this server's Synapse.
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$DIR/hs$i/homeserver.yaml"; then
        kill -TERM "$pid" && pids+=("$pid") && echo "stopping hs$i (pid $pid)"
    else
        rm -f "$pf"
    fi
done
for _ in $(seq 1 40); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.5
done
for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
        echo "pid $pid still alive after 20 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
done
for i in 1 2 3; do rm -f "$DIR/hs$i/homeserver.pid"; done
echo "stopped"
