#!/usr/bin/env bash
# Validates docker/compose.yaml with `docker compose config` (no Docker engine needed). Debian 12
# ships no Compose v2, so when `docker compose` is missing, Debian 13's docker-compose package
# (a static Go binary needing only libc) is fetched from deb.debian.org and run standalone.
set -euo pipefail
cd "$(dirname "$0")/.."
compose=(docker compose)
if ! docker compose version >/dev/null 2>&1; then
  plugin=/usr/libexec/docker/cli-plugins/docker-compose
  if [ ! -x "$plugin" ]; then
    apt_dir=$(mktemp -d)
    trap 'rm -rf "$apt_dir"' EXIT
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
      >"$apt_dir/sources.list"
    opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get "${opts[@]}" update -qq
    (cd "$apt_dir" && apt-get "${opts[@]}" download docker-compose 2>/dev/null)
    $sudo dpkg -i "$apt_dir"/docker-compose_*.deb >/dev/null
  fi
  compose=("$plugin")
fi
"${compose[@]}" version
"${compose[@]}" -f docker/compose.yaml config --quiet
echo "docker/compose.yaml: valid"
