#!/usr/bin/env bash
# Applies the stack file (no question asked: the job owns the machine), then waits until every
# runtime of the stack runs and answers its API, so the job's first request does not race it.
# Writes the stack's name to the step's outputs; on a timeout, says which runtimes are not ready.
set -euo pipefail
: "${STACK_FILE:?STACK_FILE is not set}"
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set (this runs inside a GitHub Actions job)}"
[[ -f "$STACK_FILE" ]] || { echo "::error file=$STACK_FILE::No stack file at $STACK_FILE"; exit 1; }
llmstack stack apply "$STACK_FILE" --yes
if ! ready=$(llmstack --json stack wait "$STACK_FILE" --timeout "${WAIT_TIMEOUT:-300}"); then
  echo "::error file=$STACK_FILE::The stack did not become ready within ${WAIT_TIMEOUT:-300} s"
  llmstack logs -n 50 --level warn || true
  exit 1
fi
name=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).stack)' "$ready")
echo "stack=$name" >> "$GITHUB_OUTPUT"
echo "The stack $name is ready."
