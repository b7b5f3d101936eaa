#!/usr/bin/env bash
# Builds the project's one container image, with no Docker engine and no registry, as an OCI
# archive that `ctr images import` and `podman load` accept:
#
#   dist/image/kube-ovn-ipam-<tag>.oci.tar     image docker.io/library/kube-ovn-ipam:<tag>
#
# <tag> is package.json's version unless `--tag TAG` (or IMAGE_TAG) says otherwise. The image
# serves every piece of DESIGN §1 from one file: /usr/local/bin/kube-ovn-ipam (the entrypoint:
# controller, daemon, plan, install-cni, …) and its hard link /usr/local/bin/kube-ovn (the CNI
# plugin that the daemon's init container installs on the host), the single executable of
# scripts/build-cni.sh, so Node.js is in the image once, inside that file.
#
# Two layers, so a rebuild of the code reuses the first:
#   1. a Debian 12 (bookworm) root filesystem made by mmdebstrap from Debian's packages: the
#      `essential` variant (no apt: the image is rebuilt, never upgraded in place) with merged
#      /usr, plus only what the daemon runs and the executable links: iproute2 (ip),
#      openvswitch-switch (ovs-vsctl; Debian 12 ships it there, not in openvswitch-common),
#      ovn-common (ovn-nbctl), util-linux (nsenter; essential) and libstdc++6 (for node).
#      Left out: docs (but their copyright files), man pages, locales, glibc's iconv modules,
#      the package lists, ovsdb-server and OVN's interconnect tools (the daemon talks to the
#      host's OVS through /run/openvswitch); Python, which the OVS and
#      OVN packages depend on for scripts the daemon never runs, is removed after the install. Cached in dist/image/ by a hash of this script and the apt
#      sources; `--fresh` (or removing the cache) rebuilds it, e.g. for security updates.
#   2. the executable, owned by root, mode 0755.
# umoci writes the OCI layout (gzip layers, config with Entrypoint, Env, architecture, os and
# rootfs.diff_ids, manifest, index): a well-kept Debian tool, so no hand-written manifests. The
# index is then annotated with the names ctr and podman read (io.containerd.image.name,
# org.opencontainers.image.ref.name), and the layout is tarred.
#
# Reproducible where easy: every mtime and `created` is SOURCE_DATE_EPOCH (default: the last
# commit's time), files are sorted and owned by 0:0, and the base layer is reused as long as its
# inputs are unchanged. Runs as root on a fresh Debian 12 machine: installs mmdebstrap and umoci
# with apt-get when missing (never starting a daemon), and needs `npm ci` to have been run.
set -euo pipefail
cd "$(dirname "$0")/.."

name=kube-ovn-ipam
tag=${IMAGE_TAG:-$(node -p 'require("./package.json").version')}
fresh=
while (($#)); do
  case $1 in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --fresh) fresh=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "build-image: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || { echo "build-image: $tag is not a valid image tag" >&2; exit 2; }
ref=docker.io/library/$name:$tag
out=dist/image
archive=$out/$name-$tag.oci.tar
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
arch=$(dpkg --print-architecture)

# The host's Debian sources (deb822 or one-line), so the image comes from the same mirror.
sources=
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  [[ -s $f ]] && { sources=$f; break; }
done
packages=iproute2,openvswitch-switch,ovn-common,util-linux,libstdc++6
python=(python3-openvswitch python3-netifaces python3-sortedcontainers python3 python3.11 libpython3-stdlib
        libpython3.11-stdlib python3-minimal python3.11-minimal libpython3.11-minimal media-types)
# A mmdebstrap hook ($1 the root): dpkg's complaints about the broken dependencies only on failure.
purge_python='log=$(chroot "$1" dpkg --purge --force-depends '"${python[*]}"' 2>&1) || { echo "$log" >&2; exit 1; }'

# --- tools, from Debian -------------------------------------------------------------------------
missing=()
for tool in mmdebstrap umoci; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "build-image: installing ${missing[*]}"
  own_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [[ -n $own_policy ]] && rm -f /usr/sbin/policy-rc.d
fi

bash scripts/build-cni.sh
exe=dist/cni/kube-ovn-ipam

mkdir -p "$out"
base=$out/base-$(cat "$0" "${sources:-/dev/null}" <(echo "$arch") | sha256sum | cut -c1-16).tar
[[ -n $fresh ]] && rm -f "$base"
if [[ -s $archive && $archive -nt $exe && $archive -nt $base && $archive -nt $0 ]]; then
  echo "build-image: $archive is up to date"
  exit 0
fi
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- layer 1: the Debian root filesystem ----------------------------------------------------------
if [[ ! -s $base ]]; then
  echo "build-image: mmdebstrap bookworm ($packages); a few minutes"
  rm -f "$out"/base-*.tar
  mmdebstrap --variant=essential --architectures="$arch" --include="$packages" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/lib/*/gconv/*' --dpkgopt='path-exclude=/usr/sbin/ovsdb-server' \
    --dpkgopt='path-exclude=/usr/bin/ovn-ic-*' \
    --customize-hook="$purge_python" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/cache/ldconfig/* "$1"/var/log/* "$1"/usr/lib/python3*' \
    --customize-hook='find "$1"/usr/share/doc -mindepth 1 -type d -empty -delete' \
    bookworm "$tmp/base.tar" ${sources:+"$sources"} >"$tmp/mmdebstrap.log" 2>&1 ||
    { tail -n 40 "$tmp/mmdebstrap.log" >&2; echo "build-image: mmdebstrap failed (above: the end of its log)" >&2; exit 1; }
  mv "$tmp/base.tar" "$base"
fi

# --- layer 2: the executable, under both of its names ----------------------------------------------
mkdir -p "$tmp/app/usr/local/bin"
cp "$exe" "$tmp/app/usr/local/bin/kube-ovn-ipam"
ln "$tmp/app/usr/local/bin/kube-ovn-ipam" "$tmp/app/usr/local/bin/kube-ovn"
chmod 0755 "$tmp/app/usr" "$tmp/app/usr/local" "$tmp/app/usr/local/bin" "$tmp/app/usr/local/bin/kube-ovn-ipam"
tar --create --file="$tmp/app.tar" --directory="$tmp/app" --sort=name --mtime="@$SOURCE_DATE_EPOCH" \
  --owner=0 --group=0 --numeric-owner --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime usr

# --- the OCI layout, by umoci --------------------------------------------------------------------
layout=$tmp/oci
history=(--history.created="$created" --history.author=kube-ovn-ipam)
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci raw add-layer --image "$layout:$tag" "${history[@]}" \
  --history.created_by="mmdebstrap --variant=essential --include=$packages bookworm" "$base"
umoci raw add-layer --image "$layout:$tag" "${history[@]}" --history.created_by="scripts/build-cni.sh" "$tmp/app.tar"
umoci config --image "$layout:$tag" --no-history --created="$created" --author=kube-ovn-ipam \
  --architecture="$arch" --os=linux --config.entrypoint=/usr/local/bin/kube-ovn-ipam --config.cmd=help \
  --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.workingdir=/ \
  --config.label=org.opencontainers.image.version="$tag" --config.label=org.opencontainers.image.title=$name \
  --manifest.annotation=org.opencontainers.image.version="$tag" --manifest.annotation=org.opencontainers.image.created="$created"
umoci gc --layout "$layout"
# ctr names an imported image by io.containerd.image.name (else by ref.name under a prefix it
# makes up); podman and skopeo read ref.name. Both hold the full reference here.
node -e 'const fs = require("node:fs"); const [file, ref] = process.argv.slice(1);
  const index = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const m of index.manifests) m.annotations = { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref };
  fs.writeFileSync(file, JSON.stringify(index));' "$layout/index.json" "$ref"

tar --create --file="$tmp/image.tar" --directory="$layout" --sort=name --mtime="@$SOURCE_DATE_EPOCH" \
  --owner=0 --group=0 --numeric-owner --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  oci-layout index.json blobs
mv "$tmp/image.tar" "$archive"
layers=$(node -p 'const fs = require("node:fs"), d = process.argv[1];
  const m = JSON.parse(fs.readFileSync(`${d}/blobs/sha256/${JSON.parse(fs.readFileSync(`${d}/index.json`)).manifests[0].digest.slice(7)}`));
  m.layers.map((l) => `${(l.size / 1048576).toFixed(1)} MiB`).join(" + ")' "$layout")
echo "build-image: $archive ($(du -h "$archive" | cut -f1)), $ref, layers (gzip) $layers"
