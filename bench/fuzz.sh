#!/usr/bin/env bash
# Fuzzes the runtime's input parsers with Jazzer, each target for its annotated time (60 s) per round.
#   bench/fuzz.sh [rounds] [Class#method ...]     default: 1 round of every target
# What the fuzzer keeps between rounds is in realtime-runtime/.cifuzz-corpus (not committed). A finding is written
# next to the committed corpus, src/test/resources/<package>/<Class>Inputs/<method>/crash-<sha1>, and from then on
# replays in every `./mvnw verify` (surefire execution fuzz-corpus): fix the code, keep the file. The last libFuzzer
# summary of each target (executions in how many seconds, coverage, corpus) is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(
    'SocketFuzzTest#aSocketSurvivesAnyFrames'
    'PgOutputFuzzTest#decodesOrRefuses'
    'ChangeFilterFuzzTest#parsesOrExplains'
    'RestBodyFuzzTest#batchesAreTakenWholeOrRefusedWhole'
    'TokenFuzzTest#anyTextIsRefusedWithASupabaseText'
    'TokenFuzzTest#onlySignedTokensWithRoleAndExpiryAreAccepted'
  )
fi
./mvnw -B -q install -pl realtime-postgres -DskipTests >&2
./mvnw -B -q test-compile -pl realtime-runtime >&2
log=$(mktemp)
summary=()
for r in $(seq 1 "$rounds"); do
  for t in "${targets[@]}"; do
    echo "== round $r: $t" >&2
    status=0
    JAZZER_FUZZ=1 ./mvnw -B -o -pl realtime-runtime surefire:test@fuzz-corpus -DskipNodeTests -Dtest="$t" \
      -Dsurefire.failIfNoSpecifiedTests=false '-Djazzer.instrument=io.whatssound.realtime.**,com.nimbusds.**,com.fasterxml.jackson.**' >"$log" 2>&1 || status=$?
    runs=$(grep -a -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
    cov=$(grep -a -E '^#[0-9]+[[:space:]].*cov: ' "$log" | tail -1 | grep -o -E 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
    summary+=("round $r $t: ${runs:-no libFuzzer summary}; ${cov:-} $([ $status = 0 ] && echo ok || echo "FAILED (a finding or an error: see above)")")
    if [ $status != 0 ]; then
      grep -a -E 'FuzzTest|Exception|Error|crash-' "$log" | head -20 >&2
    fi
  done
done
rm -f "$log"
printf '%s\n' "${summary[@]}"
