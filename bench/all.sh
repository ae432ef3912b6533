#!/usr/bin/env bash
# Every figure in BENCHMARKS.md in one go (about an hour on the 2-core machine): the
# load suite at 10k, 100k and 1M tickets on SQLite and at 1M on PostgreSQL (16 clients;
# 4 for the latency a technician sees; 64 for creates at saturation), the peer
# (Request Tracker, installed if missing: run as root), and the SLA and deadline
# benchmarks. Results as tables on the terminal and JSON under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
POSTGRES="${FIXPOINT_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo build --release -p fixpoint -p fixpoint-bench
BENCH="${CARGO_TARGET_DIR:-target}/release/fixpoint-bench"
"$BENCH" suite --tickets 10000,100000,1000000 --json target/bench-sqlite.json
"$BENCH" suite --tickets 1000000 --concurrency 4 --scenarios ceiling,get,list_queue,list_queue_uncounted,search,create --json target/bench-sqlite-4.json
"$BENCH" suite --tickets 1000000 --concurrency 64 --scenarios ceiling,create,create --json target/bench-sqlite-64.json
"$BENCH" suite --tickets 1000000 --postgres "$POSTGRES" --json target/bench-postgres.json
"$BENCH" suite --tickets 1000000 --concurrency 4 --scenarios ceiling,get,list_queue,list_queue_uncounted,search,create --postgres "$POSTGRES" --json target/bench-postgres-4.json
"$BENCH" suite --tickets 1000000 --concurrency 64 --scenarios ceiling,create,create --postgres "$POSTGRES" --json target/bench-postgres-64.json
bench/peer-rt.sh 10000
cargo bench -p fixpoint-server --bench sla
FIXPOINT_BENCH_POSTGRES_URL="$POSTGRES" cargo bench -p fixpoint-server --bench sla
cargo bench -p fixpoint-core --bench deadline
