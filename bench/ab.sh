#!/usr/bin/env bash
# Compares two `fixpoint` binaries on the same dataset: each serves a fresh copy of it
# in turn, driven by `fixpoint-bench run` (build fixpoint-bench first).
#
#   bench/ab.sh OLD_BINARY OLD_DATASET NEW_BINARY NEW_DATASET [SCENARIOS] [ROUNDS]
#
# A dataset is a SQLite file from `fixpoint-bench suite` (target/bench-data/tickets-N.db).
# An older binary needs a copy whose store migrations it knows: delete the newer rows
# of `_sqlx_migrations` in its copy (the newer tables do not disturb it).
set -euo pipefail
OLD_BIN=$1 OLD_DB=$2 NEW_BIN=$3 NEW_DB=$4
SCENARIOS=${5:-ceiling,create,add_note,update_status}
ROUNDS=${6:-2}
BENCH="$(dirname "$0")/../target/release/fixpoint-bench"

one() {
    local bin=$1 src=$2 dir port key server
    dir=$(mktemp -d)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cp "$src" "$dir/db.db"
    key=$("$bin" --database-url "sqlite://$dir/db.db" apikey create --name ab --role admin | grep -o 'fpk_[0-9a-f]*')
    FIXPOINT_DATABASE_URL="sqlite://$dir/db.db" FIXPOINT_LISTEN="127.0.0.1:$port" "$bin" serve > "$dir/log" 2>&1 &
    server=$!
    for _ in $(seq 1 50); do grep -q 'is serving' "$dir/log" && break; sleep 0.1; done
    "$BENCH" run --server "http://127.0.0.1:$port" --key "$key" --scenarios "$SCENARIOS" --seconds 8
    kill "$server"; wait "$server" 2>/dev/null || true
    rm -rf "$dir"
}

for round in $(seq 1 "$ROUNDS"); do
    echo "== old, round $round"; one "$OLD_BIN" "$OLD_DB"
    echo "== new, round $round"; one "$NEW_BIN" "$NEW_DB"
done
