#!/usr/bin/env bash
# The peer column of BENCHMARKS.md: Request Tracker 5 (Debian's request-tracker5 on
# SQLite, served by rt-server under Starman with 4 prefork workers, a PSGI server its
# docs name for running it) loaded with the same number of tickets as a
# Fixpoint dataset, then the create, get and search scenarios run by fixpoint-bench
# against both, one after the other, with the same concurrency and duration.
#
#   bench/peer-rt.sh [tickets]      (default 10000; run as root: it installs packages)
#
# Needs the release build: cargo build --release -p fixpoint -p fixpoint-bench
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS="${1:-10000}"
PORT="${RT_PORT:-8091}"
export FIXPOINT_BENCH_RT_PASSWORD="${FIXPOINT_BENCH_RT_PASSWORD:-fixpoint-bench}"
BENCH="${CARGO_TARGET_DIR:-target}/release/fixpoint-bench"
[ -x "$BENCH" ] || { echo "build first: cargo build --release -p fixpoint -p fixpoint-bench" >&2; exit 1; }

if ! dpkg -s request-tracker5 rt5-db-sqlite starman >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends request-tracker5 rt5-db-sqlite starman
fi
# Served at the root of its own port; errors only in its log.
cat > /etc/request-tracker5/RT_SiteConfig.d/90-fixpoint-bench.pm <<CONFIG
Set(\$WebPath, '');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $PORT);
Set(\$WebBaseURL, 'http://127.0.0.1:$PORT');
Set(\$WebURL, 'http://127.0.0.1:$PORT/');
Set(\$LogToSTDERR, 'error');
Set(\$LogToSyslog, 'error');
1;
CONFIG
perl -I/usr/share/request-tracker5/lib -e '
    use RT; RT::LoadConfig(); RT::Init();
    my $root = RT::User->new(RT->SystemUser); $root->Load("root");
    my ($ok, $message) = $root->SetPassword($ENV{FIXPOINT_BENCH_RT_PASSWORD});
    die "root password: $message\n" unless $ok;'
perl bench/rt-load.pl "$TICKETS"

/usr/share/request-tracker5/libexec/rt-server --server Starman --workers 4 --disable-keepalive --port "$PORT" \
    > "${TMPDIR:-/tmp}/rt-server.log" 2>&1 &
RT_PID=$!
trap 'kill $RT_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    curl -fs -o /dev/null -u "root:$FIXPOINT_BENCH_RT_PASSWORD" "http://127.0.0.1:$PORT/REST/2.0/queues/all" && break
    sleep 1
done

# Each Starman worker loads RT on its first requests (seconds): warm them all first.
WARMING=()
for _ in $(seq 1 32); do
    curl -fs -o /dev/null -u "root:$FIXPOINT_BENCH_RT_PASSWORD" "http://127.0.0.1:$PORT/REST/2.0/ticket/1" &
    WARMING+=($!)
done
wait "${WARMING[@]}"

echo "== Fixpoint, $TICKETS tickets (SQLite)"
"$BENCH" suite --tickets "$TICKETS" --scenarios ceiling,get,search,create "${@:2}"
echo "== Request Tracker, $TICKETS tickets (SQLite)"
"$BENCH" peer --rt "http://127.0.0.1:$PORT" "${@:2}"
