#!/usr/bin/env bash
# The test command: installs what the tests need (idempotent, fast when already done),
# then runs every tier of the test suite: pure domain tests and the real-component tests.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
if [ -x scripts/install-deps.sh ] && [ "$(id -u)" = 0 ]; then bash scripts/install-deps.sh; fi
npx tsc -p tsconfig.build.json   # the tests start the built CLI as a process
bash scripts/build-cni.sh        # and the kube-ovn CNI plugin as a single executable
exec node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js "$@"
