#!/usr/bin/env bash
# Builds Multus's thin CNI plugin (the real caller of our plugin in the cluster tier) from its Go
# module into the per-machine cache, once: ${KUBE_OVN_IPAM_CACHE:-/var/cache/kube-ovn-ipam}/bin/multus.
# Debian packages no Multus. The module's own path is gopkg.in/k8snetworkplumbingwg/multus-cni.v4
# (github.com/…/multus-cni/v4 is refused by the module proxy, and `go install …@v4.3.0` fails on
# the proxy's missing version list), so a throwaway module requires it and builds cmd/multus
# (../shared/reference/real-cluster.md). About 3 min with a Go cache warm from the Kubernetes
# build, 10 min cold.
#
#   MULTUS_VERSION  default below
#   MULTUS          path to an existing multus binary: skip the build
set -euo pipefail

MULTUS_VERSION=${MULTUS_VERSION:-v4.3.0}
CACHE=${KUBE_OVN_IPAM_CACHE:-/var/cache/kube-ovn-ipam}
BIN=$CACHE/bin
export PATH=$PATH:/usr/local/go/bin GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off
command -v go >/dev/null || { echo "build-multus: Go >= 1.26 is needed (none found)" >&2; exit 1; }

if [[ -n "${MULTUS:-}" && -x "$MULTUS" ]]; then echo "build-multus: using $MULTUS"; exit 0; fi
mkdir -p "$BIN"
exec 9>"$CACHE/.build-multus.lock"
flock 9
if [[ -x $BIN/multus && "$(cat "$BIN/multus.version" 2>/dev/null)" == "$MULTUS_VERSION" ]]; then
  echo "build-multus: $BIN/multus is up to date ($MULTUS_VERSION)"; exit 0
fi

start=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "build-multus: building multus $MULTUS_VERSION in $work (this takes a while)"
go mod init kube-ovn-ipam-multus-build >/dev/null 2>&1
echo "require gopkg.in/k8snetworkplumbingwg/multus-cni.v4 $MULTUS_VERSION" >> go.mod
# The version is stamped the way Multus's own build does, so `multus --version` names it.
go build -trimpath -ldflags="-s -w -X gopkg.in/k8snetworkplumbingwg/multus-cni.v4/pkg/multus.version=$MULTUS_VERSION" \
  -o "$BIN/multus.tmp" gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus
mv "$BIN/multus.tmp" "$BIN/multus"
echo "$MULTUS_VERSION" > "$BIN/multus.version"
echo "build-multus: built $BIN/multus in $((SECONDS - start))s"
