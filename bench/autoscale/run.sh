#!/usr/bin/env bash
# The autoscaling benchmark on the single-node Kubernetes of e2e/cluster.sh (needs root):
#   bench/autoscale/run.sh [autoscale options, e.g. --clients 3000 --ramp 60 --hold 150 --low 300 --after 240]
# Starts the cluster, installs the chart (connection poll CONNECTION_POLL_SECONDS, default here 10 s), applies
# examples/listening-party with its SessionPool given spec.autoscaling (AUTOSCALING, JSON), waits for the tenant, then
# runs `realtime-bench.jar autoscale` from this host against the tenant's Service and tears the cluster down.
# The series (CSV) and the plot (PNG) land in bench/results/autoscale/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
log() { echo "bench/autoscale/run.sh: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "needs root (the single-node cluster)"; exit 1; }

poll=${CONNECTION_POLL_SECONDS:-10}
autoscaling=${AUTOSCALING:-'{"minReplicas":1,"maxReplicas":4,"targetConnectionsPerPod":1000,"scaleUpStabilizationSeconds":15,"scaleDownStabilizationSeconds":60,"maxStep":4,"maxReconnectsPerSecond":20}'}
ns=listening-party
pool=listening-party-main
tag=e2e

bin=$(e2e/build.sh 2>/dev/null | tail -1)
./mvnw -B -q package -DskipTests -DskipNodeTests -pl realtime-runtime,operator,bench -am >&2
e2e/images.sh >&2
trap 'e2e/cluster.sh down >&2' EXIT
kubeconfig=$(e2e/cluster.sh up | tail -1)
k() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

log "helm install (connection poll ${poll}s)"
"$bin/helm" --kubeconfig "$kubeconfig" install realtime helm/realtime-operator -n realtime-system --create-namespace \
  --wait --timeout 5m --set connectionPollSeconds="$poll" \
  --set images.operator.repository=localhost/realtime-operator --set images.operator.tag=$tag \
  --set images.operator.pullPolicy=Never \
  --set images.runtime.repository=localhost/realtime-runtime --set images.runtime.tag=$tag \
  --set images.runtime.pullPolicy=Never \
  --set images.pgbouncer.repository=localhost/pgbouncer --set images.pgbouncer.tag=$tag \
  --set images.pgbouncer.pullPolicy=Never >&2

log "the example tenant, its pool with $autoscaling"
k create namespace $ns >&2
k -n $ns apply -f examples/listening-party/secrets.yaml >&2
sed -e "s#image: postgres:17#image: localhost/postgres:$tag\n          imagePullPolicy: Never#" \
  examples/listening-party/postgres.yaml | k -n $ns apply -f - >&2
k -n $ns rollout status statefulset/postgres --timeout=5m >&2
k -n $ns apply -f examples/listening-party/realtimecluster.yaml >&2
# the schema grants to the roles the operator provisions
k -n $ns wait rtc/listening-party --for=condition=DatabaseReady --timeout=5m >&2
k -n $ns exec -i postgres-0 -- sh -c 'PGPASSWORD="$POSTGRES_PASSWORD" psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$POSTGRES_USER" -d listening_party' \
  < examples/listening-party/schema.sql >&2
# two cores: a quarter of one per pod, so that four fit; one pod to start from
k -n $ns apply -f examples/listening-party/sessionpool.yaml >&2
k -n $ns patch sessionpool $pool --type merge \
  -p "{\"spec\":{\"replicas\":1,\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"512Mi\"},\"limits\":{\"memory\":\"1Gi\"}},\"autoscaling\":$autoscaling}}" >&2
k -n $ns wait rtc/listening-party --for=condition=Ready --timeout=10m >&2
k -n $ns wait spool/$pool --for=condition=Ready --timeout=5m >&2
k -n $ns wait spool/$pool --for=jsonpath='{.status.readyReplicas}'=1 --timeout=5m >&2
# the second pod of the example's two gone, not draining while the ramp starts
for _ in $(seq 1 120); do
  [ "$(k -n $ns get pods -l realtime.whatssound.io/pool=$pool,app.kubernetes.io/component=runtime -o name | wc -l)" = 1 ] \
    && break
  sleep 1
done

ip=$(k -n $ns get service listening-party -o jsonpath='{.spec.clusterIP}')
secret=$(k -n $ns get secret listening-party-jwt -o jsonpath='{.data.jwt-secret}' | base64 -d)
rate=$(echo "$autoscaling" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("maxReconnectsPerSecond", 20))')
log "clients through ws://$ip:4000"
REALTIME_JWT_SECRET="$secret" java -jar bench/target/realtime-bench.jar autoscale \
  --url "ws://$ip:4000/realtime/v1/websocket" --kubectl "$bin/kubectl" --kubeconfig "$kubeconfig" \
  --namespace $ns --pool $pool --max-reconnects-per-second "$rate" --out bench/results/autoscale "$@"
k -n $ns get events --field-selector involvedObject.kind=SessionPool \
  -o custom-columns=TIME:.lastTimestamp,REASON:.reason,MESSAGE:.message | tee bench/results/autoscale/events-last.txt
# how each pod that went drained, as the operator counted it from the pods' termination messages
op=$(k -n realtime-system get service realtime-realtime-operator-metrics -o jsonpath='{.spec.clusterIP}')
curl -sf "http://$op:8080/metrics" | grep '^realtime_operator_pool_drains_total' | tee -a bench/results/autoscale/events-last.txt
