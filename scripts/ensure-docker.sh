#!/usr/bin/env bash
# Makes sure a Docker Engine answers on the default socket (installing Debian's docker.io and
# starting dockerd when needed, as root), then builds the local test images (nothing can be pulled).
set -euo pipefail
SOCK=/var/run/docker.sock
LOG="${DOCKERD_LOG:-/tmp/llmstack-dockerd.log}"
log() { echo "[ensure-docker] $*" >&2; }

ping() { curl -sf --max-time 3 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

if ! ping; then
  if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then log "no Docker Engine answers and dockerd is not installed; install Docker (or run as root to install Debian's docker.io)"; exit 1; fi
    log "installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq docker.io >&2
  fi
  if [ "$(id -u)" != 0 ]; then log "no Docker Engine answers on $SOCK; start it (sudo systemctl start docker)"; exit 1; fi
  # A dockerd killed hard (the end of a session) leaves its pid file; dockerd refuses to start then.
  for pf in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    if [ -f "$pf" ]; then
      pid=$(cat "$pf" 2>/dev/null || true)
      if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$pf"; log "removed stale $pf"; fi
    fi
  done
  if pgrep -x dockerd >/dev/null; then
    log "a dockerd process exists but does not answer yet; waiting for it"
  else
    log "starting dockerd (log: $LOG)"
    nohup dockerd >"$LOG" 2>&1 &
  fi
  for _ in $(seq 1 240); do
    ping && break
    pgrep -x dockerd >/dev/null || { log "dockerd exited; see $LOG"; tail -20 "$LOG" >&2; exit 1; }
    sleep 0.5
  done
  ping || { log "dockerd did not answer within 120 s; see $LOG"; tail -20 "$LOG" >&2; exit 1; }
fi
DOCKER="docker"
command -v docker >/dev/null || { log "docker CLI missing"; exit 1; }
export DOCKER_HOST="unix://$SOCK"

# A tiny shell image from Debian's static busybox: the base for every test container.
if ! $DOCKER image inspect llmstack-test/busybox:1 >/dev/null 2>&1; then
  if [ ! -x /bin/busybox ] || ! file -L /bin/busybox 2>/dev/null | grep -q static; then
    if ! dpkg -s busybox-static >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2 && apt-get install -y -qq busybox-static >&2
    fi
  fi
  w=$(mktemp -d)
  mkdir -p "$w/bin" "$w/tmp" "$w/etc"
  cp /bin/busybox "$w/bin/busybox"
  for a in $("$w/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$w/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$w/etc/passwd"
  tar -C "$w" -c . | $DOCKER import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - llmstack-test/busybox:1 >/dev/null
  rm -rf "$w"
  log "built image llmstack-test/busybox:1"
fi
# The same image under a runtime's repository name, so classification by image is exercised for real.
$DOCKER image inspect ollama/ollama:llmstack-test >/dev/null 2>&1 || $DOCKER tag llmstack-test/busybox:1 ollama/ollama:llmstack-test
$DOCKER image inspect ghcr.io/ggml-org/llama.cpp:llmstack-test >/dev/null 2>&1 || $DOCKER tag llmstack-test/busybox:1 ghcr.io/ggml-org/llama.cpp:llmstack-test
log "engine ready: $($DOCKER version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
