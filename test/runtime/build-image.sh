#!/usr/bin/env bash
# Builds the local image the runtime tests use: Node + real llama.cpp (node-llama-cpp's prebuilt
# linux-x64 binaries) + the app folder given as $1, from local files only (nothing can be pulled).
# Usage: build-image.sh APP_DIR IMAGE_TAG   (APP_DIR is copied to /app; CMD runs /app/server.mjs)
set -euo pipefail
APP_DIR=$(cd "$1" && pwd)
TAG="$2"
NLC_VERSION="${NODE_LLAMA_CPP_VERSION:-3.22.1}"
CACHE="${LLMSTACK_CACHE:-$HOME/.cache/llm-local-stack}/node-llama-cpp-$NLC_VERSION"
log() { echo "[build-image] $*" >&2; }

if [ ! -f "$CACHE/.ok" ]; then
  # Only the linux-x64 variant: a plain install pulls every platform's binaries (~725 MB).
  log "installing node-llama-cpp@$NLC_VERSION (linux-x64 only) into $CACHE"
  mkdir -p "$CACHE"
  (cd "$CACHE" && echo '{"name":"nlc-cache","private":true,"type":"module"}' > package.json &&
    npm install --no-audit --no-fund --omit=optional "node-llama-cpp@$NLC_VERSION" "@node-llama-cpp/linux-x64@$NLC_VERSION" >&2)
  touch "$CACHE/.ok"
fi

# Rebuilt only when what goes in changes (this script, the app folder, node, node-llama-cpp): npm start
# and every test run call this, and each import used to leave the previous 200 MB image dangling.
KEY=$( { cat "$0"; echo "$NLC_VERSION"; command -v node; node --version;
  (cd "$APP_DIR" && find . -type f -not -path './node_modules/*' | LC_ALL=C sort | xargs -d '\n' sha256sum); } | sha256sum | cut -c1-16)
OLD=$(docker image inspect -f '{{.Id}} {{index .Config.Labels "io.llmstack.build-key"}}' "$TAG" 2>/dev/null || true)
if [ "${OLD#* }" = "$KEY" ]; then log "$TAG is up to date"; exit 0; fi

ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/bin" "$ROOT/tmp" "$ROOT/models" "$ROOT/app" "$ROOT/etc"
chmod 1777 "$ROOT/tmp"
cp -L "$(command -v node)" "$ROOT/bin/node"
cp /bin/busybox "$ROOT/bin/busybox"
for a in sh ls cat wget; do ln -sf busybox "$ROOT/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOT/etc/passwd"
# The loader and every shared library node and the llama.cpp binaries link against.
libs=$( { ldd "$(command -v node)"; find "$CACHE/node_modules/@node-llama-cpp" \( -name '*.so' -o -name '*.node' \) -exec ldd {} \; 2>/dev/null; } | grep -o '/[^ ]*\.so[^ ]*' | sort -u)
for lib in $libs; do mkdir -p "$ROOT$(dirname "$lib")"; cp -L "$lib" "$ROOT$lib"; done
cp -r "$CACHE/node_modules" "$ROOT/app/node_modules"
cp -r "$APP_DIR/." "$ROOT/app/"
tar -C "$ROOT" -c . | docker import -c 'WORKDIR /app' -c 'ENV PATH=/bin' -c 'ENV HOME=/tmp' -c "LABEL io.llmstack.build-key=$KEY" \
  -c 'CMD ["/bin/node","/app/server.mjs"]' - "$TAG" >/dev/null
log "built $TAG ($(du -sh "$ROOT" | cut -f1))"
# The image this tag named before, unless a container still uses it or another tag names it (rmi refuses then).
if [ -n "$OLD" ] && [ "${OLD%% *}" != "$(docker image inspect -f '{{.Id}}' "$TAG")" ]; then docker rmi "${OLD%% *}" >/dev/null 2>&1 || true; fi
