#!/usr/bin/env bash
# Fan-out with history on and off, alternating, one fresh runtime (standalone, embedded PostgreSQL) per run.
#   bench/history/fanout-ab.sh [rounds=2] [subscribers=1000] [rate=50]
# "on" stores every fan-out message (REALTIME_HISTORY_TOPICS=fanout-*); "off" stores nothing. Writes the bench's CSVs
# and each run's history metrics under bench/results/history/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}; SUBS=${2:-1000}; RATE=${3:-50}
S=bench-secret-0123456789-abcdefghijklmnop
JAR=${REALTIME_JAR:-realtime-runtime/target/realtime-runtime.jar}
OUT=bench/results/history
B="java -jar bench/target/realtime-bench.jar"
ulimit -n 20000
for round in $(seq 1 "$ROUNDS"); do
  for mode in off on; do
    topics=""; [ "$mode" = on ] && topics="fanout-*"
    REALTIME_JWT_SECRET=$S REALTIME_MAX_CONCURRENT_USERS=100000 REALTIME_MAX_EVENTS_PER_SECOND=1000000 \
    REALTIME_MAX_JOINS_PER_SECOND=100000 REALTIME_JOIN_ERROR_DELAY_MS=0 REALTIME_EMBEDDED_DB_PORT=0 \
    REALTIME_HISTORY_TOPICS="$topics" java -Xmx1g -jar "$JAR" > "$OUT/runtime-$mode-$round.log" 2>&1 &
    RT=$!
    for _ in $(seq 1 120); do curl -sf localhost:4000/readyz >/dev/null && break; sleep 0.5; done
    $B fanout --secret $S --pid $RT --subscribers "$SUBS" --rate "$RATE" --duration 20 --warmup 3 --out "$OUT" \
      | tee "$OUT/fanout-$mode-$round.txt"
    curl -s localhost:4000/metrics | grep '^realtime_history' > "$OUT/metrics-$mode-$round.txt" || true
    kill $RT; wait $RT || true
  done
done
