#!/usr/bin/env bash
# Runs every test tier: unit, integration on a real Docker Engine (started here when none
# answers), and the extension-host suite inside a real VS Code (code-server + Chromium).
# ESLint checks the layering first. Coverage of src/core and src/app is checked by c8 for the unit and integration tiers (at least 90 % of lines
# and branches); the host tier reports the glue's. The run must leave the engine as it found it.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0; failed=0
step() {
  local name="$1"; shift
  echo "=== $name ==="
  if "$@"; then passed=$((passed+1)); echo "=== $name: ok ==="; else failed=$((failed+1)); echo "=== $name: FAILED ==="; fi
}
node scripts/build.mjs || exit 1
node scripts/build.mjs --tests || exit 1
# What the engine holds before the tiers run (after the test images exist), to compare at the end.
SNAPSHOT=test-results/engine-before.json
rm -f "$SNAPSHOT"
step "engine: snapshot before the run" bash -c "bash scripts/ensure-docker.sh && node out/test/setup/engineLeftovers.js snapshot $SNAPSHOT"
step "manifest: every contributed command is registered" node scripts/check-commands.mjs
step "lint: layering, floating promises, unused exports (eslint)" npx eslint --max-warnings 0 .
step "unit + integration (c8: src/core and src/app at least 90 % lines and branches)" bash -c 'bash scripts/ensure-docker.sh && bash scripts/ensure-compose.sh >/dev/null && bash scripts/ensure-registry.sh && npx c8 --check-coverage --lines 90 --branches 90 --include "out/src/core/**" --include "out/src/app/**" --reporter text-summary --reporter text --reports-dir test-results/coverage mocha --config .mocharc.json --grep "\((unit|integration)\)" "out/test/unit/**/*.test.js" "out/test/integration/**/*.test.js"'
step "host: real VS Code (code-server) + Chromium (reports the glue's coverage)" bash -c 'bash scripts/ensure-code-server.sh >/dev/null && node out/test/host/runCodeServer.js'
step "engine: the run left no container, network, volume or dangling image" node out/test/setup/engineLeftovers.js check "$SNAPSHOT"
echo "tiers: $passed passed, $failed failed"
[ "$failed" = 0 ]
