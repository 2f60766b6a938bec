#!/usr/bin/env bash
# Opens VS Code with the extension loaded against the local container engine: desktop `code`
# when present, otherwise code-server in the browser at a printed 127.0.0.1 URL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/build.mjs

sock_ok() { curl -sf --max-time 3 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }
engine=""
if [ -n "${DOCKER_HOST:-}" ]; then engine="$DOCKER_HOST (DOCKER_HOST)";
else
  for s in /var/run/docker.sock "$HOME/.docker/run/docker.sock" "${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/podman/podman.sock" /run/podman/podman.sock; do
    if sock_ok "$s"; then engine="unix://$s"; break; fi
  done
fi
if [ -z "$engine" ]; then
  if [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ] && [ "${LLMSTACK_NO_ENGINE_START:-}" != 1 ]; then
    echo "No container engine answers; starting the same Docker Engine the tests use (set LLMSTACK_NO_ENGINE_START=1 to skip)."
    bash scripts/ensure-docker.sh
    engine="unix:///var/run/docker.sock"
  else
    echo "No container engine answers on the default sockets."
    echo "  Linux:   sudo systemctl start docker   (or: systemctl --user start podman.socket)"
    echo "  macOS/Windows: start Docker Desktop or 'podman machine start'."
    echo "The extension opens anyway, shows what it tried, and connects by itself once an engine runs."
  fi
else
  echo "Container engine: $engine"
fi

# A newcomer with no runtime gets a demo one (real llama.cpp on tiny generated models) to see models at once.
if [ -n "$engine" ] && [ "${LLMSTACK_NO_DEMO:-}" != 1 ] && command -v docker >/dev/null 2>&1; then
  node scripts/build.mjs --tests >/dev/null && node scripts/demo-stack.mjs || echo "(demo runtime skipped)"
fi

if command -v code >/dev/null 2>&1 && [ -z "${LLMSTACK_USE_CODE_SERVER:-}" ]; then
  echo "Opening desktop VS Code with the extension from $ROOT"
  exec code --extensionDevelopmentPath="$ROOT" "${1:-$ROOT}"
fi

CS_DIR=$(bash scripts/ensure-code-server.sh)
PORT="${PORT:-8420}"
HOST="127.0.0.1:$PORT"
UD="${LLMSTACK_USER_DATA:-$HOME/.cache/llm-local-stack/user-data}"
mkdir -p "$UD/User"
[ -f "$UD/User/settings.json" ] || echo '{"workbench.startupEditor":"none"}' > "$UD/User/settings.json"
FOLDER="${1:-$ROOT}"
PAYLOAD=$(node -e 'console.log(encodeURIComponent(JSON.stringify([["extensionDevelopmentPath","vscode-remote://"+process.argv[1]+process.argv[2]]])))' "$HOST" "$ROOT")
echo
echo "Open this URL in a browser (code-server, bound to 127.0.0.1 only, no password):"
echo "  http://$HOST/?folder=$(node -p 'encodeURIComponent(process.argv[1])' "$FOLDER")&payload=$PAYLOAD"
echo
exec node "$CS_DIR/node_modules/code-server/out/node/entry.js" --auth none --bind-addr "$HOST" \
  --disable-telemetry --disable-update-check --user-data-dir "$UD" --extensions-dir "$UD/extensions" "$FOLDER"
