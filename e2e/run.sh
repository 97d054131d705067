#!/usr/bin/env bash
# End-to-end suites on a Kubernetes built from source (no Docker).
#   e2e/run.sh api   builds the control plane's binaries when missing (e2e/build.sh), then runs the operator's tests
#                    on the real kube-apiserver (package io.whatssound.realtime.operator.kube); the last line printed
#                    is "N passed, M failed".
#   e2e/run.sh cluster  builds what is missing (binaries, jars, images), starts the single-node cluster of
#                    e2e/cluster.sh, runs the listening-party scenario on it (SingleNodeClusterTest), tears the cluster
#                    down; the last line printed is "N passed, M failed". Needs root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

usage() { echo "usage: e2e/run.sh api|cluster" >&2; exit 2; }
[ $# -eq 1 ] || usage

# Counts the Surefire reports of one test package: "N passed, M failed" (skipped tests count as failed here: a
# suite that was meant to run did not).
summary() {
  python3 - "$1" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
tests = failed = 0
for f in glob.glob(sys.argv[1]):
    s = ET.parse(f).getroot()
    n, bad = int(s.get("tests", 0)), int(s.get("failures", 0)) + int(s.get("errors", 0)) + int(s.get("skipped", 0))
    tests += n
    failed += bad
print(f"{tests - failed} passed, {failed} failed")
sys.exit(0 if tests > 0 and failed == 0 else 1)
PY
}

case "$1" in
  api)
    e2e/build.sh >&2
    reports=operator/target/surefire-reports
    rm -f "$reports"/TEST-io.whatssound.realtime.operator.kube.*.xml
    status=0
    ./mvnw -B -pl operator -am verify -DskipNodeTests -Dsurefire.failIfNoSpecifiedTests=false \
      -Dtest='io.whatssound.realtime.operator.kube.*Test' >&2 || status=$?
    summary "$reports/TEST-io.whatssound.realtime.operator.kube.*.xml" || status=1
    exit $status
    ;;
  cluster)
    e2e/build.sh >&2
    ./mvnw -B -q package -DskipTests -DskipNodeTests -pl realtime-runtime,operator -am >&2
    e2e/images.sh >&2
    [ -d examples/listening-party/client/node_modules/@supabase/supabase-js ] \
      || (cd examples/listening-party/client && npm ci --no-audit --no-fund >&2)
    trap 'e2e/cluster.sh down >&2' EXIT
    kubeconfig=$(e2e/cluster.sh up | tail -1)
    reports=operator/target/surefire-reports
    rm -f "$reports"/TEST-io.whatssound.realtime.operator.e2e.SingleNodeClusterTest.xml
    status=0
    ./mvnw -B -pl operator -am verify -DskipNodeTests -Dsurefire.failIfNoSpecifiedTests=false \
      -Dtest=SingleNodeClusterTest -De2e.cluster.kubeconfig="$kubeconfig" >&2 || status=$?
    [ $status = 0 ] || e2e/cluster.sh logs 30 >&2 || true
    [ -f operator/target/e2e-scenario/SingleNodeClusterTest.txt ] && cat operator/target/e2e-scenario/SingleNodeClusterTest.txt >&2
    summary "$reports/TEST-io.whatssound.realtime.operator.e2e.SingleNodeClusterTest.xml" || status=1
    exit $status
    ;;
  *) usage ;;
esac
