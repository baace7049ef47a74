#!/usr/bin/env bash
# scripts/cluster end to end: it starts every process of the local cluster,
# writes cluster.env and the Prometheus roles file listing each of them,
# and SIGTERM (handled as Ctrl-C is) stops every process it started.
#
#   cluster_script_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SOURCE_DIR=$1
BUILD_DIR=$2
DATA=$(mktemp -d -p "${TMPDIR:-/tmp}" cluster-script-XXXXXX)
# PostgreSQL runs as user postgres when the test runs as root.
chmod 755 "$DATA"
LOG=$DATA/cluster.out
SCRIPT_PID=""

fail() { echo "FAIL: $*" >&2; tail -n 30 "$LOG" >&2 || true; exit 1; }
cleanup() {
  if [ -n "$SCRIPT_PID" ] && kill -0 "$SCRIPT_PID" 2>/dev/null; then
    kill -TERM "$SCRIPT_PID" 2>/dev/null || true
    wait "$SCRIPT_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

setsid "$SOURCE_DIR/scripts/cluster" --build-dir "$BUILD_DIR" --data "$DATA" \
  --ws-ports 0,0 --kafka-brokers 1 >"$LOG" 2>&1 </dev/null &
SCRIPT_PID=$!

# The script writes cluster.env once every process is ready, or exits.
deadline=$((SECONDS + 240))
until grep -q '^FLARE_CLUSTER_PIDS=' "$DATA/cluster.env" 2>/dev/null; do
  kill -0 "$SCRIPT_PID" 2>/dev/null || fail "scripts/cluster exited before the cluster was up"
  [ "$SECONDS" -lt "$deadline" ] || fail "no cluster.env after 240 s"
  sleep 0.2
done
# shellcheck disable=SC1091
. "$DATA/cluster.env"
read -r -a pids <<<"$FLARE_CLUSTER_PIDS"
# signaling, reader, orchestrator, two writers, two gateways, push-worker, push-proxy
[ ${#pids[@]} -eq 9 ] || fail "expected 9 flare processes, cluster.env lists ${#pids[@]}"
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || fail "process $pid is not running"; done
targets=$(grep -c '^- targets:' "$DATA/prometheus/roles/cluster.yml")
[ "$targets" -eq 9 ] || fail "the Prometheus roles file lists $targets targets, not 9"
grep -q 'role: push-worker' "$DATA/prometheus/roles/cluster.yml" || fail "no push-worker target"
IFS=, read -r -a gateways <<<"$FLARE_CLUSTER_GATEWAYS"
[ ${#gateways[@]} -eq 2 ] || fail "expected 2 gateways, got '$FLARE_CLUSTER_GATEWAYS'"
for health in ${FLARE_CLUSTER_HTTP//,/ }; do
  url=${health#*=}/readyz
  curl -fsS -o /dev/null "$url" || fail "${health%%=*} is not ready at $url"
done

# Gateways find the push-server role (in both writer processes) to report
# logins and unacknowledged pushes to.
push_servers=$(tr ';' '\n' <<<"$FLARE_CLUSTER_SERVICES" | sed -n 's/^push-server=//p')
[ "$(tr ',' '\n' <<<"$push_servers" | grep -c .)" -eq 2 ] ||
  fail "discovery lists push-server as '$push_servers', not the two writers"
# Messages cross from one gateway to the other and are all acked and delivered.
ports=${FLARE_CLUSTER_GATEWAYS//127.0.0.1:/}  # flare-bench: host:p1,p2
bench_out=$("$BUILD_DIR/flare-bench" --scenario direct --server "127.0.0.1:$ports" \
  --secret "$(cat "$FLARE_CLUSTER_JWT_SECRET_FILE")" --clients 4 --rate 40 --duration 2 2>&1) ||
  fail "flare-bench through the gateways failed: $bench_out"
grep -qE '^errors/lost/dup +0 / 0 / 0$' <<<"$bench_out" || fail "messages went missing: $bench_out"
grep -qE '^acked +[1-9]' <<<"$bench_out" || fail "no message was acked: $bench_out"
if grep -h 'no push-server in discovery' "$DATA"/logs/gateway-*.log; then
  fail "a gateway found no push-server"
fi
[ -f "$DATA/postgres/data/postmaster.pid" ] || fail "no PostgreSQL runs on $DATA"
[ "$(redis-cli -u "$FLARE_CLUSTER_REDIS_URL" ping)" = PONG ] || fail "no Redis answers"
# SIGTERM takes the same path as Ctrl-C (a background job of a script
# ignores SIGINT, so the test cannot send that one).
kill -TERM "$SCRIPT_PID"
wait "$SCRIPT_PID" || true
SCRIPT_PID=""
for pid in "${pids[@]}"; do
  if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]; then
    fail "process $pid still runs after the interrupt"
  fi
done
grep -q '^cluster: stopped' "$LOG" || fail "the script did not report that it stopped"
[ ! -f "$DATA/postgres/data/postmaster.pid" ] || fail "PostgreSQL still runs"
if redis-cli -u "$FLARE_CLUSTER_REDIS_URL" ping >/dev/null 2>&1; then fail "Redis still runs"; fi
echo "cluster script: 9 processes started, ready and stopped"
