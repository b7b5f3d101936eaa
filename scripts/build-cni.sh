#!/usr/bin/env bash
# Builds the one executable that is both the `kube-ovn` CNI plugin and the `kube-ovn-ipam`
# command line (controller, daemon, plan, …), to run where no Node.js is installed (DESIGN §1):
# esbuild bundles cni/executable.ts (which picks a side by the name it was run under) with the
# plugin, and the CLI apart, into CommonJS scripts (what Node 20's single executable applications
# require); Node writes the first as the SEA blob's main script and the second as its asset, and
# postject injects the blob into a copy of this machine's `node` (stripped of its debug symbols
# when `strip` exists).
#
#   dist/cni/kube-ovn.cjs       the entry and the plugin, bundled (`node dist/cni/kube-ovn.cjs`
#                               is the plugin; under another name, node runs it as the CLI)
#   dist/cni/kube-ovn-ipam.cjs  the CLI, bundled (an asset inside the executable)
#   dist/cni/kube-ovn           the executable to install as /opt/cni/bin/kube-ovn (the plugin)
#   dist/cni/kube-ovn-ipam      a hard link to the same file: run under this name it is the CLI
#
# Idempotent and fast when up to date: nothing is rebuilt while the executable is newer than
# every file the last bundle read (esbuild's metafile), this script and package-lock.json, and
# the same `node` is on PATH. The executables are replaced atomically, after the plugin answered
# VERSION and the CLI answered `help`.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist/cni
bundle=$out/kube-ovn.cjs
exe=$out/kube-ovn
cli=$out/kube-ovn-ipam
inputs=$out/kube-ovn.inputs
stamp=$out/kube-ovn.stamp
node_bin=$(command -v node)
want_stamp="$node_bin $(node --version) $(uname -m)"

up_to_date() {
  [ -x "$exe" ] && [ "$cli" -ef "$exe" ] && [ -f "$inputs" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want_stamp" ] || return 1
  local f
  while IFS= read -r f; do
    [ -e "$f" ] && [ ! "$f" -nt "$exe" ] || return 1
  done < "$inputs"
}

if up_to_date; then
  exit 0
fi

[ -x node_modules/.bin/esbuild ] && [ -x node_modules/.bin/postject ] || {
  echo "build-cni: esbuild or postject is missing: run npm ci" >&2
  exit 1
}
mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Two bundles, so the plugin's start never pays for the CLI's code (cni/executable.ts says why):
# the entry with the plugin, and the CLI, which the executable carries as an asset. Optional
# packages that dependencies try to require and do without are bundled as a stub that fails
# like an absent package (cni/absent.ts says why).
esbuild_cjs() { # entry outfile metafile [flags…]
  node_modules/.bin/esbuild "$1" --bundle --platform=node --target=node20 --format=cjs \
    --legal-comments=none --log-level=warning --metafile="$3" --outfile="$2" "${@:4}"
}
esbuild_cjs cni/executable.ts "$tmp/kube-ovn.cjs" "$tmp/meta-plugin.json"
absent=()
for optional in encoding bufferutil utf-8-validate; do absent+=("--alias:$optional=./cni/absent.ts"); done
esbuild_cjs src/cli/main.ts "$tmp/kube-ovn-ipam.cjs" "$tmp/meta-cli.json" "${absent[@]}"

cat > "$tmp/sea-config.json" <<EOF
{
  "main": "$tmp/kube-ovn.cjs",
  "output": "$tmp/kube-ovn.blob",
  "assets": { "kube-ovn-ipam.cjs": "$tmp/kube-ovn-ipam.cjs" },
  "disableExperimentalSEAWarning": true,
  "useSnapshot": false,
  "useCodeCache": true
}
EOF
node --experimental-sea-config "$tmp/sea-config.json" >"$tmp/sea.log" 2>&1 || { cat "$tmp/sea.log" >&2; exit 1; }

cp "$node_bin" "$tmp/kube-ovn"
chmod u+w "$tmp/kube-ovn"
# strip and postject complain about Node's many .note sections: only a failure is worth showing.
if command -v strip >/dev/null && ! strip "$tmp/kube-ovn" 2>"$tmp/strip.log"; then
  cat "$tmp/strip.log" >&2
  exit 1
fi
if ! node_modules/.bin/postject "$tmp/kube-ovn" NODE_SEA_BLOB "$tmp/kube-ovn.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >"$tmp/postject.log" 2>&1; then
  cat "$tmp/postject.log" >&2
  exit 1
fi

# The proof that both sides run with no Node.js around: an empty environment, so no PATH.
ln "$tmp/kube-ovn" "$tmp/kube-ovn-ipam"
answer=$(env -i CNI_COMMAND=VERSION "$tmp/kube-ovn" </dev/null)
case "$answer" in
  *'"supportedVersions"'*) ;;
  *) echo "build-cni: the built plugin answered VERSION with: $answer" >&2; exit 1 ;;
esac
usage=$(env -i "$tmp/kube-ovn-ipam" help </dev/null 2>&1) || true
case "$usage" in
  'Usage: kube-ovn-ipam '*) ;;
  *) echo "build-cni: the built CLI answered help with: $usage" >&2; exit 1 ;;
esac

node -e 'const read = (f) => Object.keys(require(require("node:path").resolve(f)).inputs);
  console.log([...new Set(process.argv.slice(1).flatMap(read))].join("\n"))' "$tmp/meta-plugin.json" "$tmp/meta-cli.json" > "$tmp/inputs"
printf '%s\n' scripts/build-cni.sh package-lock.json >> "$tmp/inputs"
mv "$tmp/kube-ovn.cjs" "$bundle"
mv "$tmp/kube-ovn-ipam.cjs" "$out/kube-ovn-ipam.cjs"
mv "$tmp/inputs" "$inputs"
mv "$tmp/kube-ovn-ipam" "$cli"
mv "$tmp/kube-ovn" "$exe"
printf '%s\n' "$want_stamp" > "$stamp"
echo "build-cni: $exe = $cli ($(du -h "$exe" | cut -f1)) answers: $answer"
