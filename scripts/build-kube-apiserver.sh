#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl, and for the one-node cluster tier
# kube-scheduler and kubelet, from the Go module k8s.io/kubernetes (Debian packages none of
# them) into a per-machine cache outside the repo, so the slow build (~5 min on 2 cores, cold;
# each further binary 1-2 min with a warm Go cache) happens once per machine. A version stamp
# next to each binary makes a version change rebuild.
#
#   K8S_VERSION          Kubernetes version to build (default below)
#   KUBE_OVN_IPAM_CACHE  cache root (default /var/cache/kube-ovn-ipam); binaries go to $CACHE/bin
#   KUBE_APISERVER       path to an existing kube-apiserver: skip building it
#   KUBECTL              path to an existing kubectl: skip building it
#   KUBE_CONTROLLER_MANAGER  path to an existing kube-controller-manager: skip building it
#                        (the tests that run real Deployments and StatefulSets start it)
#   KUBE_SCHEDULER, KUBELET  paths to existing binaries: skip building them (the cluster tier)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
CACHE=${KUBE_OVN_IPAM_CACHE:-/var/cache/kube-ovn-ipam}
BIN=$CACHE/bin
export PATH=$PATH:/usr/local/go/bin GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off
command -v go >/dev/null || { echo "build-kube-apiserver: Go >= 1.26 is needed (none found)" >&2; exit 1; }

# One build at a time per cache; a second caller waits, then finds the binaries up to date.
mkdir -p "$BIN"
exec 9>"$CACHE/.build.lock"
flock 9

# Which binaries need (re)building?
todo=()
need() { # need NAME OVERRIDE_VAR_VALUE
  if [[ -n "$2" && -x "$2" ]]; then echo "build-kube-apiserver: using $1 from $2"; return; fi
  if [[ -x $BIN/$1 && "$(cat "$BIN/$1.version" 2>/dev/null)" == "$K8S_VERSION" ]]; then
    echo "build-kube-apiserver: $BIN/$1 is up to date ($K8S_VERSION)"; return
  fi
  todo+=("$1")
}
need kube-apiserver "${KUBE_APISERVER:-}"
need kubectl "${KUBECTL:-}"
need kube-controller-manager "${KUBE_CONTROLLER_MANAGER:-}"
need kube-scheduler "${KUBE_SCHEDULER:-}"
need kubelet "${KUBELET:-}"
[[ ${#todo[@]} -eq 0 ]] && exit 0

start=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "build-kube-apiserver: building ${todo[*]} $K8S_VERSION in $work (this takes a while)"

# A throwaway module that requires k8s.io/kubernetes, with every staging module k8s.io/kubernetes
# replaces by ./staging/src/... pointed at its published v0.Y.Z twin instead.
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
staging_version=v0.${K8S_VERSION#v1.}
go mod init kube-ovn-ipam-k8s-build >/dev/null 2>&1
{
  echo "require k8s.io/kubernetes $K8S_VERSION"
  sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/.*#replace \1 => \1 '"$staging_version"'#p' "$gomod"
} >> go.mod

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION")"
done

for name in "${todo[@]}"; do
  t=$SECONDS
  go build -trimpath -ldflags="$ldflags" -o "$BIN/$name.tmp" "k8s.io/kubernetes/cmd/$name"
  mv "$BIN/$name.tmp" "$BIN/$name"
  echo "$K8S_VERSION" > "$BIN/$name.version"
  echo "build-kube-apiserver: built $BIN/$name in $((SECONDS - t))s"
done
echo "build-kube-apiserver: done in $((SECONDS - start))s"
