#!/usr/bin/env bash
# Installs code-server (a complete VS Code with a Node extension host) into a cache folder
# outside the project, keyed by version, so the host tests and `npm start` can reuse it.
# Needs root for apt-get the first time; every step is skipped when already done.
set -euo pipefail
VERSION="${CODE_SERVER_VERSION:-4.100.3}"
CACHE="${LLMSTACK_CACHE:-$HOME/.cache/llm-local-stack}"
DEST="$CACHE/code-server-$VERSION"
BIN="$DEST/node_modules/code-server/out/node/entry.js"
log() { echo "[ensure-code-server] $*" >&2; }

if [ -f "$DEST/.ok" ] && [ -f "$BIN" ]; then echo "$DEST"; exit 0; fi

need_apt=()
for p in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq "${need_apt[@]}" >&2
fi

# @vscode/ripgrep downloads rg from GitHub unless its cache already holds the archive.
TMPD=$(node -p "require('os').tmpdir()")
RGC="$TMPD/vscode-ripgrep-cache-1.15.11"
RGT="$RGC/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$RGT" ]; then
  mkdir -p "$RGC"; w=$(mktemp -d); cp /usr/bin/rg "$w/rg"; tar -C "$w" -czf "$RGT" rg; rm -rf "$w"
fi

mkdir -p "$DEST"; cd "$DEST"
[ -f package.json ] || echo '{"name":"code-server-cache","private":true}' > package.json
log "installing code-server@$VERSION into $DEST (about a minute with a warm npm cache)"
npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund "code-server@$VERSION" >&2
if ! node -e "require('$DEST/node_modules/code-server/node_modules/argon2')" 2>/dev/null; then
  (cd node_modules/code-server && npm rebuild argon2 --build-from-source >&2) || true
fi
touch "$DEST/.ok"
echo "$DEST"
