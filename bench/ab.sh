#!/usr/bin/env bash
# Compares two `fixpoint` binaries on the same dataset: each serves a fresh copy of it
# in turn, driven by `fixpoint-bench run` (build fixpoint-bench first).
#
#   bench/ab.sh OLD_BINARY OLD_DATASET NEW_BINARY NEW_DATASET [SCENARIOS] [ROUNDS]
#
# A dataset is a SQLite file from `fixpoint-bench suite` (target/bench-data/tickets-N.db),
# or the URL of a PostgreSQL dataset it built (postgres://postgres@127.0.0.1:5432/
# fixpoint_bench_N): each run then serves a database made from it as a template, and
# drops it after. CONCURRENCY (16) and RUN_SECONDS (8 a scenario) set the load. After
# each run (all its scenarios) the script prints the CPU the server and (when local)
# PostgreSQL's processes used, and how much of the machine stayed idle: whether a
# scenario is bound by the CPU or by a serial step shows there.
#
# An older binary needs a copy whose store migrations it knows: delete the newer rows
# of `_sqlx_migrations` in its copy (the newer tables do not disturb it).
set -euo pipefail
OLD_BIN=$1 OLD_DB=$2 NEW_BIN=$3 NEW_DB=$4
SCENARIOS=${5:-ceiling,create,add_note,update_status}
ROUNDS=${6:-2}
CONCURRENCY=${CONCURRENCY:-16}
RUN_SECONDS=${RUN_SECONDS:-8}
BENCH="$(dirname "$0")/../target/release/fixpoint-bench"

# Clock ticks of CPU: the server's, all local postgres processes', the machine's, idle.
ticks() {
    local server=$1 postgres=0 pid
    for pid in $(pgrep -x postgres || true); do
        postgres=$((postgres + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$(awk '{print $14 + $15}' "/proc/$server/stat") $postgres" \
        "$(awk '/^cpu /{print $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)" \
        "$(awk '/^cpu /{print $5 + $6}' /proc/stat)"
}

one() {
    local bin=$1 src=$2 dir port key server url copy=
    dir=$(mktemp -d)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    case "$src" in
        postgres://*)
            copy="fixpoint_ab_$$_$RANDOM"
            psql -q "${src%/*}/postgres" -c "CREATE DATABASE $copy TEMPLATE ${src##*/}"
            url="${src%/*}/$copy"
            ;;
        *)
            cp "$src" "$dir/db.db"
            url="sqlite://$dir/db.db"
            ;;
    esac
    key=$("$bin" --database-url "$url" apikey create --name ab --role admin | grep -o 'fpk_[0-9a-f]*')
    FIXPOINT_DATABASE_URL="$url" FIXPOINT_LISTEN="127.0.0.1:$port" "$bin" serve > "$dir/log" 2>&1 &
    server=$!
    for _ in $(seq 1 50); do grep -q 'is serving' "$dir/log" && break; sleep 0.1; done
    read -r server0 postgres0 all0 idle0 < <(ticks "$server")
    "$BENCH" run --server "http://127.0.0.1:$port" --key "$key" --scenarios "$SCENARIOS" \
        --seconds "$RUN_SECONDS" --concurrency "$CONCURRENCY"
    read -r server1 postgres1 all1 idle1 < <(ticks "$server")
    local hz
    hz=$(getconf CLK_TCK)
    echo "cpu: server $(((server1 - server0) * 1000 / hz)) ms, postgres $(((postgres1 - postgres0) * 1000 / hz)) ms," \
        "machine idle $(((idle1 - idle0) * 100 / (all1 - all0)))%"
    kill "$server"; wait "$server" 2>/dev/null || true
    if [ -n "$copy" ]; then
        psql -q "${src%/*}/postgres" -c "DROP DATABASE $copy WITH (FORCE)"
    fi
    rm -rf "$dir"
}

for round in $(seq 1 "$ROUNDS"); do
    echo "== old, round $round"; one "$OLD_BIN" "$OLD_DB"
    echo "== new, round $round"; one "$NEW_BIN" "$NEW_DB"
done
