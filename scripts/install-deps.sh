#!/usr/bin/env bash
# Installs the real components the integration tests drive, idempotently (as root, Debian 12):
# Open vSwitch, OVN, the CNI plugins, etcd, iproute2/ping, openssl from Debian's packages, and
# for the cluster tier containerd, runc, skopeo, docker-registry, busybox-static and mmdebstrap
# (the image's root filesystem); then kube-apiserver, kubectl, kube-controller-manager,
# kube-scheduler and kubelet built from source by build-kube-apiserver.sh, and Multus by
# build-multus.sh (cached per machine).
# Package postinst scripts are kept from starting daemons (policy-rc.d answers 101), and any
# daemon that the install started anyway is stopped again: the tests start their own.
# Fast when everything is already there: apt is only touched when a package is missing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

pkgs=(openvswitch-switch ovn-central ovn-host containernetworking-plugins etcd-server etcd-client
      iproute2 iputils-ping openssl
      containerd runc skopeo docker-registry busybox-static mmdebstrap)
daemons=(ovsdb-server ovs-vswitchd ovn-northd ovn-controller etcd containerd docker-registry)
daemon_pids() { for d in "${daemons[@]}"; do pgrep -x "$d" || true; done; }

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  before=$(daemon_pids)
  own_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap '[[ -n "$own_policy" ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Stop, by pid, any daemon that appeared during the install.
  for pid in $(daemon_pids); do
    grep -qx "$pid" <<<"$before" || { echo "install-deps: stopping $(ps -o comm= -p "$pid") ($pid)"; kill "$pid" || true; }
  done
else
  echo "install-deps: Debian packages already installed"
fi

for b in ovs-vsctl ovsdb-server ovs-vswitchd ovn-nbctl ovn-sbctl ovn-northd ovn-controller etcd ip ping openssl \
         containerd ctr runc skopeo docker-registry busybox mmdebstrap; do
  command -v "$b" >/dev/null || { echo "install-deps: $b missing after install" >&2; exit 1; }
done
[[ -x /usr/lib/cni/macvlan ]] || { echo "install-deps: /usr/lib/cni/macvlan missing" >&2; exit 1; }

"$here/build-kube-apiserver.sh"
bash "$here/build-multus.sh"
