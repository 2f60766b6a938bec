#!/usr/bin/env bash
# Makes `llmstack` available to the job's next steps: the npm package when CLI_VERSION is set, else
# the CLI built from the action's own files. LLMSTACK_CLI (a path to cli.js) skips both: the tests
# run this script with the CLI they built.
set -euo pipefail
: "${RUNNER_TEMP:?RUNNER_TEMP is not set (this runs inside a GitHub Actions job)}"
: "${GITHUB_PATH:?GITHUB_PATH is not set (this runs inside a GitHub Actions job)}"
bin="$RUNNER_TEMP/llmstack-bin"
mkdir -p "$bin"
if [[ -n "${LLMSTACK_CLI:-}" ]]; then
  cli="$LLMSTACK_CLI"
elif [[ -n "${CLI_VERSION:-}" ]]; then
  npm install --global --no-audit --no-fund "llmstack@${CLI_VERSION}"
  exit 0
else
  (cd "$ACTION_PATH" && npm ci --no-audit --no-fund && node scripts/build.mjs)
  cli="$ACTION_PATH/dist/cli.js"
fi
[[ -f "$cli" ]] || { echo "::error::The llmstack CLI is not at $cli"; exit 1; }
printf '#!/usr/bin/env bash\nexec node %q "$@"\n' "$cli" > "$bin/llmstack"
chmod +x "$bin/llmstack"
echo "$bin" >> "$GITHUB_PATH"
"$bin/llmstack" --version
