#!/usr/bin/env bash
# Installs the real tus clients the resumable-upload tests drive (never our own): tuspy (PyPI)
# in a venv and tus-js-client (npm) for Node, pinned, into one folder (default
# /usr/local/share/motcua/tus-clients; the tests read MOTCUA_TUS_CLIENTS). Registries only.
set -euo pipefail
dest=${1:-${MOTCUA_TUS_CLIENTS:-/usr/local/share/motcua/tus-clients}}
tuspy=1.1.0
tusjs=4.3.1
if [ -x "$dest/venv/bin/python" ] && "$dest/venv/bin/python" -c "import tusclient" 2>/dev/null \
   && grep -q "\"version\": \"$tusjs\"" "$dest/node/node_modules/tus-js-client/package.json" 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null || bash "$(dirname "$0")/apt-missing.sh" nodejs npm
mkdir -p "$dest/node"
python3 -m venv "$dest/venv"
"$dest/venv/bin/pip" -q --disable-pip-version-check install "tuspy==$tuspy"
(cd "$dest/node" && npm install --silent --no-audit --no-fund "tus-js-client@$tusjs" >/dev/null)
echo "tus clients installed in $dest (tuspy $tuspy, tus-js-client $tusjs)" >&2
