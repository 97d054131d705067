#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, from the binaries e2e/build.sh builds and the images e2e/images.sh
# builds, with no Docker and no registry:
#   etcd, kube-apiserver (Node and RBAC authorization, NodeRestriction), kube-controller-manager (every default
#   controller), kube-scheduler, containerd with runc and the bridge CNI plugin, kubelet, kube-proxy (iptables) and
#   CoreDNS as a Deployment behind the kube-dns Service; four hostPath PersistentVolumes for claims of no class.
#
#   e2e/cluster.sh up     starts it (stops a previous one first); prints the admin kubeconfig's path as its last line
#   e2e/cluster.sh down   stops every process and container, and removes its network devices, rules and mounts
#   e2e/cluster.sh logs   the last lines of every component's log
#
# Network: the node's address 10.211.0.1 is on a bridge with no ports (rte2e0; this kernel has no dummy driver), pods get 10.244.0.0/24 on the bridge
# rte2e-br0, Services 10.96.0.0/16 (DNS at 10.96.0.10). Nothing listens on or routes to another host. State lives in
# $E2E_DATA (default /var/lib/realtime-e2e) and /run/realtime-e2e; logs in $E2E_DATA/logs. Needs root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${E2E_DATA:-/var/lib/realtime-e2e}
run=/run/realtime-e2e
logs=$data/logs
pki=$data/pki
node=e2e-node
node_ip=10.211.0.1
pod_cidr=10.244.0.0/24
service_cidr=10.96.0.0/16
dns_ip=10.96.0.10
api=https://$node_ip:6443
kubeconfig=$data/admin.kubeconfig
sock=$run/containerd.sock
log() { echo "e2e/cluster.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "needs root (containerd, kubelet and kube-proxy manage namespaces, cgroups and iptables)"; exit 1; }

bin() { echo "$bindir/$1"; }
kubectl() { "$(bin kubectl)" --kubeconfig "$kubeconfig" "$@"; }

# start <name> <command...>: in the background, its output in $logs/<name>.log, its pid in $run/<name>.pid
start() {
  local name=$1; shift
  setsid "$@" >>"$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$run/$name.pid"
}

# await <what> <seconds> <command...>: until the command succeeds
await() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      log "$what: not after $seconds s"
      return 1
    fi
    sleep 1
  done
}

stop_all() {
  # the kubelet first, so that it restarts nothing; then every container, then the rest
  for name in kubelet kube-proxy kube-scheduler kube-controller-manager; do stop_pid "$name"; done
  if [ -S "$sock" ]; then
    for t in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -a "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
  fi
  # shims outlive containerd; their containers' processes are their children
  pkill -9 -f "containerd-shim-runc-v2 -namespace k8s.io -id .* -address $sock" 2>/dev/null || true
  for name in containerd kube-apiserver etcd; do stop_pid "$name"; done
  # mounts of pods and of containerd's snapshots, deepest first
  { grep -E " ($data|$run)/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^cni-' || true); do ip netns delete "$ns" 2>/dev/null || true; done
  ip link delete rte2e-br0 2>/dev/null || true
  ip link delete rte2e0 2>/dev/null || true
  if [ -n "${bindir:-}" ] && [ -x "$(bin kube-proxy)" ]; then "$(bin kube-proxy)" --cleanup >/dev/null 2>&1 || true; fi
}

stop_pid() {
  local f=$run/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

certs() {
  mkdir -p "$pki"
  [ -f "$pki/ca.crt" ] && return 0
  local o="openssl"
  $o req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 30 -subj "/CN=realtime-e2e-ca" 2>/dev/null
  # sign <name> <subject> [subjectAltName]
  sign() {
    local name=$1 subj=$2 san=${3:-}
    $o req -newkey rsa:2048 -nodes -keyout "$pki/$name.key" -out "$pki/$name.csr" -subj "$subj" 2>/dev/null
    if [ -n "$san" ]; then
      printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$pki/$name.ext"
    else
      printf 'extendedKeyUsage=clientAuth\n' > "$pki/$name.ext"
    fi
    $o x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
      -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
    rm -f "$pki/$name.csr" "$pki/$name.ext"
  }
  sign apiserver "/CN=kube-apiserver" \
    "IP:$node_ip,IP:10.96.0.1,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign admin "/O=system:masters/CN=e2e-admin"
  sign kubelet "/O=system:nodes/CN=system:node:$node"
  sign kubelet-serving "/CN=$node" "IP:$node_ip,DNS:$node"
  $o genrsa -out "$pki/sa.key" 2048 2>/dev/null
  $o rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

# kubeconfig <file> <cert name>
write_kubeconfig() {
  cat > "$1" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "$api", certificate-authority: "$pki/ca.crt"}}]
users: [{name: $2, user: {client-certificate: "$pki/$2.crt", client-key: "$pki/$2.key"}}]
contexts: [{name: e2e, context: {cluster: e2e, user: $2}}]
current-context: e2e
YAML
}

network() {
  modprobe br_netfilter 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
  ip link add rte2e0 type bridge
  ip addr add "$node_ip/32" dev rte2e0
  ip link set rte2e0 up
  # Service addresses never leave the machine: unmatched ones end on the node's portless bridge
  ip route add "$service_cidr" dev rte2e0
  mkdir -p "$data/cni/net.d" "$data/cni/ipam"
  cat > "$data/cni/net.d/10-realtime-e2e.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "realtime-e2e",
  "plugins": [
    {"type": "bridge", "bridge": "rte2e-br0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$data/cni/ipam", "ranges": [[{"subnet": "$pod_cidr"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
}

containerd_up() {
  mkdir -p "$data/containerd"
  cat > "$data/containerd/config.toml" <<TOML
version = 2
root = "$data/containerd/root"
state = "$run/containerd"
[grpc]
  address = "$sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:e2e"
  # CAP_SYS_RESOURCE is withheld here, so no process may lower its oom_score_adj (the kubelet asks -998 for every
  # sandbox): containers get at least containerd's own
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$data/cni/net.d"
TOML
  start containerd containerd --config "$data/containerd/config.toml"
  await "containerd" 30 ctr -a "$sock" version
  local images=$data/images
  for name in pause coredns pgbouncer postgres realtime-runtime realtime-operator; do
    [ -f "$images/$name.tar" ] || { log "no $images/$name.tar: run e2e/images.sh first"; return 1; }
    ctr -a "$sock" -n k8s.io images import "$images/$name.tar" >/dev/null
  done
}

control_plane() {
  start etcd "$(bin etcd)" --data-dir "$data/etcd" --listen-client-urls http://127.0.0.1:22379 \
    --advertise-client-urls http://127.0.0.1:22379 --listen-peer-urls http://127.0.0.1:22380 \
    --initial-advertise-peer-urls http://127.0.0.1:22380 --initial-cluster default=http://127.0.0.1:22380 \
    --unsafe-no-fsync --log-level warn
  start kube-apiserver "$(bin kube-apiserver)" --etcd-servers http://127.0.0.1:22379 \
    --advertise-address "$node_ip" --bind-address "$node_ip" --secure-port 6443 \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction,OwnerReferencesPermissionEnforcement \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$service_cidr" --allow-privileged --cert-dir "$data/apiserver" -v 1
  await "kube-apiserver" 120 kubectl get --raw /readyz
  start kube-controller-manager "$(bin kube-controller-manager)" --kubeconfig "$kubeconfig" \
    --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
    --root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/sa.key" --use-service-account-credentials \
    --cluster-cidr "$pod_cidr" --service-cluster-ip-range "$service_cidr" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 22257 -v 1
  start kube-scheduler "$(bin kube-scheduler)" --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" \
    --authorization-kubeconfig "$kubeconfig" --leader-elect=false --bind-address 127.0.0.1 --secure-port 22259 -v 1
}

node_up() {
  write_kubeconfig "$data/kubelet.kubeconfig" kubelet
  cat > "$data/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine has cgroup v1 (with cgroup2 beside it at /sys/fs/cgroup/unified).
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$sock
address: $node_ip
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 22248
readOnlyPort: 0
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$dns_ip]
resolvConf: ""
failSwapOn: false
# imported images only: nothing may be collected, and a full disk should not evict the test's pods
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
serializeImagePulls: false
maxPods: 60
podPidsLimit: 4096
YAML
  start kubelet "$(bin kubelet)" --config "$data/kubelet.yaml" --kubeconfig "$data/kubelet.kubeconfig" \
    --root-dir "$data/kubelet" --hostname-override "$node" --node-ip "$node_ip" -v 1
  cat > "$data/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $pod_cidr
hostnameOverride: $node
bindAddress: $node_ip
clientConnection: {kubeconfig: $kubeconfig}
healthzBindAddress: 127.0.0.1:22256
metricsBindAddress: 127.0.0.1:22249
# the limits this machine has: nothing raised
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  start kube-proxy "$(bin kube-proxy)" --config "$data/kube-proxy.yaml" -v 1
  await "node $node Ready" 120 kubectl wait --for=condition=Ready "node/$node" --timeout=5s
}

# Volumes without a provisioner, as on a bare cluster: hostPath PersistentVolumes of no class, which claims of no
# class (there is no default StorageClass) bind to.
volumes_up() {
  for i in 0 1 2 3; do
    mkdir -p "$data/volumes/pv-$i"
    cat <<YAML
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-pv-$i}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: $data/volumes/pv-$i, type: Directory}
YAML
  done | kubectl apply -f - >/dev/null
}

dns_up() {
  kubectl apply -f "$root/e2e/cluster/coredns.yaml" >/dev/null
  await "CoreDNS available" 120 kubectl -n kube-system wait --for=condition=Available deployment/coredns --timeout=5s
}

case "${1:-}" in
  up)
    bindir=$("$root/e2e/build.sh" 2>/dev/null | tail -1)
    stop_all
    rm -rf "$data/etcd" "$data/kubelet" "$data/cni" "$data/apiserver" "$data/volumes" "$logs" "$run"
    mkdir -p "$logs" "$run"
    start_time=$SECONDS
    certs
    write_kubeconfig "$kubeconfig" admin
    network
    containerd_up
    control_plane
    node_up
    volumes_up
    dns_up
    log "up in $((SECONDS - start_time)) s: kubectl --kubeconfig $kubeconfig get pods -A (logs in $logs)"
    echo "$kubeconfig"
    ;;
  down)
    bindir=$("$root/e2e/build.sh" 2>/dev/null | tail -1) || true
    stop_all
    rm -rf "$run"
    log "down"
    ;;
  logs)
    for f in "$logs"/*.log; do echo "== $f"; tail -n "${2:-40}" "$f"; done
    ;;
  *) echo "usage: e2e/cluster.sh up|down|logs [lines]" >&2; exit 2 ;;
esac
