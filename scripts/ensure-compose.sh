#!/usr/bin/env bash
# Makes sure a Compose implementation runs for the Compose export tests: `docker-compose` (Debian's
# 1.29, installed with apt-get when missing and running as root). Prints the command to use.
set -euo pipefail
log() { echo "[ensure-compose] $*" >&2; }

if command -v docker-compose >/dev/null 2>&1 && docker-compose version --short >/dev/null 2>&1; then
  log "docker-compose $(docker-compose version --short) found"
  echo docker-compose
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "docker-compose is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y docker-compose),"
  log "or run this script as root to install Debian's package. Set DOCKER_COMPOSE to use another binary."
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "docker-compose is not installed and apt-get is not available here; install docker-compose by hand."
  exit 1
fi
log "installing Debian's docker-compose"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 && apt-get install -y -qq docker-compose >&2
docker-compose version --short >/dev/null 2>&1 || { log "docker-compose was installed but does not run"; exit 1; }
log "docker-compose $(docker-compose version --short) installed"
echo docker-compose
