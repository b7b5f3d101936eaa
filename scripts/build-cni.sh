#!/usr/bin/env bash
# Builds the `kube-ovn` CNI plugin as a single executable that runs on a node without Node.js
# (DESIGN §1): esbuild bundles cni/main.ts into one CommonJS script (what Node 20's single
# executable applications require), Node writes it into a SEA blob, and postject injects the
# blob into a copy of this machine's `node` (stripped of its debug symbols when `strip` exists).
#
#   dist/cni/kube-ovn.cjs   the bundle (also runnable as `node dist/cni/kube-ovn.cjs`)
#   dist/cni/kube-ovn       the executable to install as /opt/cni/bin/kube-ovn
#
# Idempotent and fast when up to date: nothing is rebuilt while the executable is newer than
# every file the last bundle read (esbuild's metafile), this script and package-lock.json, and
# the same `node` is on PATH. The executable is replaced atomically, after it answered VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist/cni
bundle=$out/kube-ovn.cjs
exe=$out/kube-ovn
inputs=$out/kube-ovn.inputs
stamp=$out/kube-ovn.stamp
node_bin=$(command -v node)
want_stamp="$node_bin $(node --version) $(uname -m)"

up_to_date() {
  [ -x "$exe" ] && [ -f "$inputs" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want_stamp" ] || return 1
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

node_modules/.bin/esbuild cni/main.ts --bundle --platform=node --target=node20 --format=cjs \
  --legal-comments=none --log-level=warning --metafile="$tmp/meta.json" --outfile="$tmp/kube-ovn.cjs"

cat > "$tmp/sea-config.json" <<EOF
{
  "main": "$tmp/kube-ovn.cjs",
  "output": "$tmp/kube-ovn.blob",
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

# The proof that it runs with no Node.js around: an empty environment, so no PATH.
answer=$(env -i CNI_COMMAND=VERSION "$tmp/kube-ovn" </dev/null)
case "$answer" in
  *'"supportedVersions"'*) ;;
  *) echo "build-cni: the built plugin answered VERSION with: $answer" >&2; exit 1 ;;
esac

node -e 'const m = require(require("node:path").resolve(process.argv[1])); console.log(Object.keys(m.inputs).join("\n"))' \
  "$tmp/meta.json" > "$tmp/inputs"
printf '%s\n' scripts/build-cni.sh package-lock.json >> "$tmp/inputs"
mv "$tmp/kube-ovn.cjs" "$bundle"
mv "$tmp/inputs" "$inputs"
mv "$tmp/kube-ovn" "$exe"
printf '%s\n' "$want_stamp" > "$stamp"
echo "build-cni: $exe ($(du -h "$exe" | cut -f1)) answers: $answer"
