#!/usr/bin/env bash
# Runs every test tier: unit, integration on a real Docker Engine (started here when none
# answers), and the extension-host suite inside a real VS Code (code-server + Chromium).
# Coverage of src/core is reported by c8 for the unit and integration tiers.
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
step "manifest: every contributed command is registered" node scripts/check-commands.mjs
step "unit + integration (c8 coverage of src/core)" bash -c 'bash scripts/ensure-docker.sh && bash scripts/ensure-compose.sh >/dev/null && npx c8 --include "out/src/core/**" --reporter text-summary --reporter text --reports-dir test-results/coverage mocha --config .mocharc.json --grep "\((unit|integration)\)" "out/test/unit/**/*.test.js" "out/test/integration/**/*.test.js"'
step "host: real VS Code (code-server) + Chromium" bash -c 'bash scripts/ensure-code-server.sh >/dev/null && node out/test/host/runCodeServer.js'
echo "tiers: $passed passed, $failed failed"
[ "$failed" = 0 ]
