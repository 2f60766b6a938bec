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

# Build once per content: the image carries a hash of everything it is made from (this script,
# the app folder, node-llama-cpp's version, the node and busybox binaries). When the tag already
# holds an image with that hash there is nothing to do; every rebuild would otherwise leave the
# previous image behind untagged (docker import moves the tag, it does not replace the image).
INPUTS_LABEL=io.llmstack.test.inputs
INPUTS=$( {
  sha256sum "$0" "$(command -v node)" /bin/busybox | cut -d' ' -f1
  echo "node-llama-cpp@$NLC_VERSION"
  (cd "$APP_DIR" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
} | sha256sum | cut -c1-32)
# One build at a time per tag (test files, the host tier, the demo and other checkouts share the engine).
exec 9>"${TMPDIR:-/tmp}/llmstack-build-image-$(printf %s "$TAG" | tr -c 'A-Za-z0-9._-' '_').lock"
flock -w 900 9 || { log "another build of $TAG holds the lock for 15 minutes; giving up"; exit 1; }
if [ "$(docker image inspect -f "{{index .Config.Labels \"$INPUTS_LABEL\"}}" "$TAG" 2>/dev/null)" = "$INPUTS" ]; then
  log "$TAG is up to date (inputs $INPUTS)"
  exit 0
fi
OLD_ID=$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)

if [ ! -f "$CACHE/.ok" ]; then
  # Only the linux-x64 variant: a plain install pulls every platform's binaries (~725 MB).
  log "installing node-llama-cpp@$NLC_VERSION (linux-x64 only) into $CACHE"
  mkdir -p "$CACHE"
  (cd "$CACHE" && echo '{"name":"nlc-cache","private":true,"type":"module"}' > package.json &&
    npm install --no-audit --no-fund --omit=optional "node-llama-cpp@$NLC_VERSION" "@node-llama-cpp/linux-x64@$NLC_VERSION" >&2)
  touch "$CACHE/.ok"
fi

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
tar -C "$ROOT" -c . | docker import -c "LABEL $INPUTS_LABEL=$INPUTS" -c 'WORKDIR /app' -c 'ENV PATH=/bin' -c 'ENV HOME=/tmp' -c 'CMD ["/bin/node","/app/server.mjs"]' - "$TAG" >/dev/null
log "built $TAG ($(du -sh "$ROOT" | cut -f1), inputs $INPUTS)"
# The image this one replaces is untagged now: remove it, unless a container still runs from it.
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$(docker image inspect -f '{{.Id}}' "$TAG")" ]; then
  docker image rm "$OLD_ID" >/dev/null 2>&1 || log "the previous $TAG (${OLD_ID:7:12}) is still used by a container; remove that container, then the image"
fi
