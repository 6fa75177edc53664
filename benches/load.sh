#!/usr/bin/env bash
# Ack latency of the intake API under load, while the workers are busy: starts `motcua serve`
# on a temp data dir, queues the dev corpus as one station batch of unit A (the workers start
# on it), then sends N concurrent uploads of SIZE bytes for unit B and reports the p50/p99 time
# to the 202, and checks that every acknowledged upload can be read back with the same SHA-256.
#
#   benches/load.sh [N=200] [SIZE=1048576]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-200}
size=${2:-1048576}
corpus=$here/../shared/corpus/dev

cargo build --release --quiet --manifest-path "$here/Cargo.toml" --example load
bin=$here/target/release/motcua
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export MOTCUA__SERVER__DATA_DIR=$work MOTCUA__SERVER__LISTEN=127.0.0.1:0 RUST_LOG=warn

"$bin" admin unit create --code XA --name "Xã A" 2>/dev/null
"$bin" admin unit create --code XB --name "Xã B" 2>/dev/null
ta=$("$bin" admin station create --unit XA --name batch 2>/dev/null)
tb=$("$bin" admin station create --unit XB --name load 2>/dev/null)

"$bin" serve >"$work/serve.out" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")

# Keep the workers busy: the whole dev corpus as one batch of unit A.
code=$(curl -sf -X POST "$url/api/v1/dossiers" -H "Authorization: Bearer $ta" \
  -H 'content-type: application/json' -d '{"procedure":"batch"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
args=()
for f in "$corpus"/*; do args+=(-F "file=@$f"); done
curl -sf -X POST "$url/api/v1/dossiers/$code/attachments" -H "Authorization: Bearer $ta" "${args[@]}" >/dev/null
sleep 2

"$here/target/release/examples/load" "$url" "$tb" "$n" "$size"
