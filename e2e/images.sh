#!/usr/bin/env bash
# Builds the container images the single-node cluster (e2e/cluster.sh) runs, without Docker and without a registry,
# into docker-archive files that cluster.sh imports into containerd:
#   base          a Debian bookworm rootfs (debootstrap) with openjdk-17-jre-headless, pgbouncer and postgresql-15
#   runtime       realtime-runtime/Dockerfile, unchanged, built by buildah with its FROM replaced by the base
#   operator      operator/Dockerfile, likewise
#   pgbouncer     e2e/images/pgbouncer, the pooler image the operator is told to use
#   postgres      e2e/images/postgres, what examples/listening-party/postgres.yaml runs here
#   coredns,pause one static binary each (e2e/build.sh builds them)
# The jars must be built first (./mvnw -B package -DskipTests). Needs root, debootstrap and buildah.
# Prints the archives' folder as its last line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${E2E_DATA:-/var/lib/realtime-e2e}
bin=$("$root/e2e/build.sh" 2>/dev/null | tail -1)
out=$data/images
mkdir -p "$out"
bh() { buildah --storage-driver vfs --root "$data/buildah" --runroot /run/realtime-e2e/buildah "$@"; }
log() { echo "e2e/images.sh: $*" >&2; }
tag=e2e

# The base: rebuilt when this script changes (its package list is here).
packages=openjdk-17-jre-headless,pgbouncer,postgresql-15,ca-certificates
base_stamp=$(echo "$packages bookworm" | sha256sum | cut -c1-12)
base=localhost/realtime-e2e-base:$base_stamp
if ! bh inspect --type image "$base" >/dev/null 2>&1; then
  start=$SECONDS
  rootfs=$data/base-rootfs
  rm -rf "$rootfs"
  log "debootstrap bookworm with $packages"
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" http://deb.debian.org/debian >"$data/debootstrap.log" 2>&1 \
    || { tail -20 "$data/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
    "$rootfs"/usr/share/locale/*
  c=$(bh from scratch)
  mnt=$(bh mount "$c")
  cp -a "$rootfs"/. "$mnt"/
  bh umount "$c" >/dev/null
  bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/sh "$c"
  bh commit -q "$c" "$base" >/dev/null
  bh tag "$base" localhost/realtime-e2e-base
  bh rm "$c" >/dev/null
  rm -rf "$rootfs"
  log "base image $base in $((SECONDS - start)) s"
fi
bh tag "$base" localhost/realtime-e2e-base

# bud <name> <Containerfile> [--from base]: a build from the repository root, as the Dockerfiles' comments say
bud() {
  local name=$1 file=$2; shift 2
  bh bud -q --isolation chroot --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 --layers=false \
    -f "$root/$file" -t "localhost/$name:$tag" "$@" "$root" >/dev/null
}
# single <name> <binary>: an image of one static binary, run as its entrypoint
single() {
  local name=$1 file=$2 c
  c=$(bh from scratch)
  bh copy "$c" "$file" "/$name" >/dev/null
  bh config --entrypoint "[\"/$name\"]" "$c"
  bh commit -q "$c" "localhost/$name:$tag" >/dev/null
  bh rm "$c" >/dev/null
}

for jar in realtime-runtime/target/realtime-runtime.jar operator/target/realtime-operator.jar; do
  [ -f "$root/$jar" ] || { log "$jar is missing: run ./mvnw -B package -DskipTests first"; exit 1; }
done
start=$SECONDS
bud realtime-runtime realtime-runtime/Dockerfile --from localhost/realtime-e2e-base
bud realtime-operator operator/Dockerfile --from localhost/realtime-e2e-base
bud pgbouncer e2e/images/pgbouncer/Containerfile
bud postgres e2e/images/postgres/Containerfile
single coredns "$bin/coredns"
single pause "$bin/pause"
for name in realtime-runtime realtime-operator pgbouncer postgres coredns pause; do
  rm -f "$out/$name.tar"
  bh push -q "localhost/$name:$tag" "docker-archive:$out/$name.tar:localhost/$name:$tag"
done
bh rmi --prune >/dev/null 2>&1 || true
log "images built in $((SECONDS - start)) s"
echo "$out"
