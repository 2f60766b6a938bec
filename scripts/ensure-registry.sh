#!/usr/bin/env bash
# Makes sure Debian's `docker-registry` (the CNCF distribution registry, 2.8) is installed for the
# registry tests: installed with apt-get when missing and running as root. The tests start their
# own instances on 127.0.0.1 with their own config; the package's service is not used.
set -euo pipefail
log() { echo "[ensure-registry] $*" >&2; }
if command -v docker-registry >/dev/null 2>&1; then
  log "docker-registry found"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "docker-registry is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y docker-registry)."
  exit 1
fi
log "installing Debian's docker-registry"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 && apt-get install -y -qq docker-registry >&2
command -v docker-registry >/dev/null 2>&1 || { log "docker-registry was installed but is not on PATH"; exit 1; }
