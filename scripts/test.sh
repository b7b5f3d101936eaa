#!/usr/bin/env bash
# The test command: installs what the tests need (idempotent, fast when already done),
# then runs every tier of the test suite: first the `unit` project (pure domain tests and the
# real-component tests that start their own components per file), then the `cluster` project
# (one real one-node cluster shared by its files, in path order). Arguments go to both jest
# runs (e.g. a file path: the run without a matching file passes with no tests); TIER=unit or
# TIER=cluster runs one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
if [ -x scripts/install-deps.sh ] && [ "$(id -u)" = 0 ]; then bash scripts/install-deps.sh; fi
npx tsc -p tsconfig.build.json   # the tests start the built CLI as a process
bash scripts/build-cni.sh        # and the kube-ovn CNI plugin as a single executable
if [ "$(id -u)" = 0 ]; then bash scripts/build-image.sh; fi   # the cluster tier runs the image

jest() { node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js --passWithNoTests "$@"; }
status=0
tier=${TIER:-all}   # TIER=unit or TIER=cluster runs one tier
# --selectProjects takes every word after it: it comes last, after the caller's arguments.
if [ "$tier" != cluster ]; then jest "$@" --selectProjects unit || status=$?; fi
if [ "$tier" != unit ]; then jest --runInBand --testSequencer ./test/cluster/sequencer.mjs "$@" --selectProjects cluster || status=$?; fi
exit "$status"
