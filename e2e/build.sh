#!/usr/bin/env bash
# Builds the test cluster's binaries from their Go modules, at the versions pinned in e2e/build/*/go.mod, into the
# cache folder laid out as io.fabric8:kube-api-test reads it:
#   $KUBE_API_TEST_DIR/k8s/<kubernetes version>-linux-amd64/{kube-apiserver,kube-controller-manager,etcd,kubectl,helm}
# and, for the single-node cluster of e2e/cluster.sh, kubelet, kube-scheduler, kube-proxy, coredns and pause, and
# promtool for the chart's alert rules
# (KUBE_API_TEST_DIR defaults to ~/.kubeapitest). A group is rebuilt only when its module files change; Go's own
# build cache keeps a rebuild on the same machine short. Prints the binaries' folder as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}
command -v go >/dev/null || { echo "e2e/build.sh: Go is needed (go1.26 or newer) to build the test cluster's binaries" >&2; exit 1; }

version_of() { awk -v m="$2" '$1 == m { sub(/^v/, "", $2); print $2; exit }' "$here/build/$1/go.mod"; }
k8s=$(version_of kube k8s.io/kubernetes)
[ -n "$k8s" ] || { echo "e2e/build.sh: no k8s.io/kubernetes version in e2e/build/kube/go.mod" >&2; exit 1; }
out=$cache/k8s/$k8s-linux-amd64
mkdir -p "$out"

# build <module folder> <ldflags> <binary>...: one go build per module, skipped when its stamp and binaries are current
build() {
  local module=$1 ldflags=$2; shift 2
  local dir=$here/build/$module stamp
  stamp=$(cd "$dir" && cat go.mod $(ls go.sum 2>/dev/null) $(find . -name '*.go' -o -name '*.package' | sort) | sha256sum | cut -c1-16)
  local current=1
  for b in "$@"; do [ -x "$out/$b" ] || current=0; done
  if [ "$current" = 1 ] && [ "$(cat "$out/.$module.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "e2e/build.sh: $* current ($module $stamp)" >&2
    return
  fi
  echo "e2e/build.sh: building $* from e2e/build/$module" >&2
  local start=$SECONDS pkgs=()
  for b in "$@"; do
    # <binary>.package names a command of another module (pinned in go.mod), built as it is
    if [ -f "$dir/$b.package" ]; then pkgs+=("$(cat "$dir/$b.package")");
    elif [ -d "$dir/cmd/$b" ]; then pkgs+=("./cmd/$b"); else pkgs+=("."); fi
  done
  (cd "$dir" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}")
  for b in "$@"; do [ -x "$out/$b" ] || { echo "e2e/build.sh: $b was not built" >&2; exit 1; }; done
  echo "$stamp" > "$out/.$module.stamp"
  echo "e2e/build.sh: built $* in $((SECONDS - start)) s" >&2
}

# Version information the binaries report (/version, kubectl version): helm checks the chart's kubeVersion against it.
v=k8s.io/component-base/version
kube_ldflags="-s -w -X $v.gitVersion=v$k8s -X $v.gitMajor=${k8s%%.*} -X $v.gitMinor=$(echo "$k8s" | cut -d. -f2) -X $v.gitTreeState=clean"
helm_version=$(version_of helm helm.sh/helm/v4)
build kube "$kube_ldflags" kube-apiserver kube-controller-manager kubectl kubelet kube-scheduler kube-proxy
build etcd "-s -w" etcd
build helm "-s -w -X helm.sh/helm/v4/internal/version.version=v$helm_version" helm
# the single-node cluster's DNS and pod sandbox (e2e/cluster.sh); static, so that each is an image of one file
CGO_ENABLED=0 build coredns "-s -w" coredns
CGO_ENABLED=0 build pause "-s -w" pause
# promtool, for the chart's alert rules and their unit tests (AlertRulesTest)
CGO_ENABLED=0 build promtool "-s -w" promtool

# The CloudNativePG Cluster CRD, from its Go module, against which examples/listening-party/cloudnative-pg.yaml is
# checked by the API server (CrdsOnRealApiServerTest).
cnpg=v1.27.0
if [ ! -f "$out/crds/cnpg-$cnpg-clusters.yaml" ]; then
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/cloudnative-pg/cloudnative-pg@$cnpg" | awk -F'"' '$2 == "Dir" {print $4}')
  mkdir -p "$out/crds"
  cp "$dir/config/crd/bases/postgresql.cnpg.io_clusters.yaml" "$out/crds/cnpg-$cnpg-clusters.yaml.tmp"
  mv "$out/crds/cnpg-$cnpg-clusters.yaml.tmp" "$out/crds/cnpg-$cnpg-clusters.yaml"
fi
echo "$out"
