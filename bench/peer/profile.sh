#!/usr/bin/env bash
# Where the runtime's time goes in one fan-out below saturation (issue 15, part 2): the runtime pinned to CPU 0 with
# async-profiler (CPU samples: a flame graph, then the frames that use the most CPU themselves) and a GC log, then
# the same load counting its system calls with `perf stat` (syscall tracepoints, 10 s of the steady window), then
# nchan counted the same way. The load generator runs pinned to CPU 1.
#
#   bench/peer/profile.sh [SUBSCRIBERS=1000] [RATE=170] [SECONDS=20]
#
# Needs the built jars (./mvnw -B -q package -DskipTests), nginx-light and libnginx-mod-nchan, perf, and
# async-profiler from Maven Central (fetched into ~/.m2 on first use). Writes bench/results/peer/profile-* (or into
# $PROFILE_OUT).
set -euo pipefail
cd "$(dirname "$0")/../.."
subs=${1:-1000}
rate=${2:-170}
secs=${3:-20}
out=$(realpath -m "${PROFILE_OUT:-bench/results/peer}")
mkdir -p "$out"
ap_version=4.2
ap_jar=~/.m2/repository/tools/profiler/async-profiler/$ap_version/async-profiler-$ap_version.jar
[ -f "$ap_jar" ] || ./mvnw -q dependency:get -Dartifact=tools.profiler:async-profiler:$ap_version >/dev/null
ap_dir=$(mktemp -d)
unzip -q -o "$ap_jar" 'linux-x64/*' -d "$ap_dir"
lib=$ap_dir/linux-x64/libasyncProfiler.so
secret=peer-benchmark-secret-0123456789abcdef
bench() { taskset -c 1 java -jar bench/target/realtime-bench.jar "$@"; }

log=$(mktemp)
runtime() { # $1: extra JVM options
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # shellcheck disable=SC2086
  REALTIME_PORT=$port REALTIME_HOST=127.0.0.1 REALTIME_DB_URL=none REALTIME_JWT_SECRET=$secret \
    REALTIME_MAX_CONCURRENT_USERS=19000 REALTIME_MAX_EVENTS_PER_SECOND=10000000 REALTIME_MAX_JOINS_PER_SECOND=100000 \
    taskset -c 0 java -Xms1g -Xmx1g -XX:+UseG1GC -XX:+AlwaysPreTouch $1 -jar realtime-runtime/target/realtime-runtime.jar \
    > "$log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "the runtime did not start: $(tail -5 "$log")" >&2; exit 1; }
    sleep 0.2
  done
}
# system calls of process $1 during 10 s of the steady window, per delivery at $2 deliveries/s
SYSCALLS=writev,sendto,write,sendmsg,epoll_wait,epoll_pwait,epoll_pwait2,futex,io_uring_enter
count_syscalls() {
  sleep 8
  perf stat -x, -e "$(echo $SYSCALLS | sed 's/\([a-z_0-9]*\)/syscalls:sys_enter_\1/g')" -p "$1" -- sleep 10 2>&1 \
    | awk -F, -v d="$2" '$1 ~ /^[0-9]+$/ {sub("syscalls:sys_enter_", "", $3); printf "  %-14s %10d  %.3f per delivery\n", $3, $1, $1 / (10 * d)}'
}
load() { # $1: target, $2: url, $3: pid
  bench fanout --target "$1" --url "$2" --secret $secret --pid "$3" --subscribers "$subs" --rate "$rate" \
    --duration "$secs" --warmup 5 --via rest --rest-connections 32 --out "$(mktemp -d)" \
    | grep -E '^\| (deliveries_per_s_steady|latency_p50_ms|latency_p99_ms|runtime_cpu_pct|server_cpu_us_per_delivery) '
}

echo "== runtime, async-profiler (cpu) and GC log"
runtime "-agentpath:$lib=start,event=cpu,interval=1ms,file=$out/profile-runtime-cpu.html -Xlog:gc:file=$out/profile-runtime-gc.log::filecount=0"
load runtime "ws://127.0.0.1:$port/socket/websocket" "$pid"
kill "$pid"; wait "$pid" || true
echo "flame graph: $out/profile-runtime-cpu.html"
grep 'Pause' "$out/profile-runtime-gc.log" | grep -o '[0-9.]*ms$' | sort -n \
  | awk '{a[NR]=$1} END {printf "GC pauses: %d, median %s, max %s\n", NR, a[int((NR+1)/2)], a[NR]}'

echo "== runtime, async-profiler (cpu), collapsed stacks: the frames that use the most CPU themselves"
runtime "-agentpath:$lib=start,event=cpu,interval=1ms,file=$out/profile-runtime-cpu.collapsed,collapsed"
load runtime "ws://127.0.0.1:$port/socket/websocket" "$pid"
kill "$pid"; wait "$pid" || true
awk '{n=$NF; $NF=""; sub(/ $/,""); k=split($0,f,";"); self[f[k]]+=n; total+=n} END {for (x in self) printf "%6.2f%%  %s\n", 100*self[x]/total, x}' \
  "$out/profile-runtime-cpu.collapsed" | sort -rn > "$out/profile-runtime-top.tmp"
head -60 "$out/profile-runtime-top.tmp" > "$out/profile-runtime-top.txt"
rm "$out/profile-runtime-top.tmp"
head -25 "$out/profile-runtime-top.txt"
awk '{n=$NF; total+=n; if ($0 ~ /_\[k\] [0-9]+$/) k+=n} END {printf "kernel frames: %.1f%% of the samples\n", 100*k/total}' \
  "$out/profile-runtime-cpu.collapsed" | tee -a "$out/profile-runtime-top.txt"
rm "$out/profile-runtime-cpu.collapsed" # 8 MB; the flame graph above shows the same samples

# $1: target, $2: its socket URL, $3: its pid; counts its system calls under the load, then stops it
syscalls_under_load() {
  count_syscalls "$3" $((subs * rate)) > "$out/profile-$1-syscalls.txt" &
  local counter=$!
  load "$1" "$2" "$3"
  wait "$counter" || true
  kill "$3"; wait "$3" || true # nginx without a master process exits on SIGABRT here: harmless
  cat "$out/profile-$1-syscalls.txt"
}

echo "== runtime, system calls"
runtime ""
syscalls_under_load runtime "ws://127.0.0.1:$port/socket/websocket" "$pid"

echo "== nchan, system calls"
dir=$(mktemp -d)
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|@MODULE@|/usr/lib/nginx/modules/ngx_nchan_module.so|" -e "s|@DIR@|$dir|g" -e "s|@PORT@|$nport|" \
  bench/peer/nchan.conf > "$dir/nginx.conf"
taskset -c 0 nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
npid=$!
until curl -sf -X POST -d ready "http://127.0.0.1:$nport/pub/ready" >/dev/null; do
  kill -0 "$npid" 2>/dev/null || { echo "nginx did not start: $(tail -5 "$dir/error.log")" >&2; exit 1; }
  sleep 0.2
done
syscalls_under_load nchan "ws://127.0.0.1:$nport/sub" "$npid"
rm -rf "$ap_dir" "$dir"
