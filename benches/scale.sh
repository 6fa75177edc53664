#!/usr/bin/env bash
# Scale-out on PostgreSQL + S3: pages/s with 1, 2 and 3 `motcua worker` processes over the same
# batch, then the queue's claim rate with no-op jobs (PostgreSQL, and SQLite for comparison).
# Starts a throwaway PostgreSQL and SeaweedFS (scripts/pg.sh, scripts/s3.sh) unless
# MOTCUA_TEST_PG_URL / MOTCUA_TEST_S3_ENDPOINT are already set, and stops what it started.
#
#   benches/scale.sh [--pages 300] [--workers 1,2,3] [--threads 1]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
cargo build --release --quiet --bin motcua --example queue_rate
if [ -z "${MOTCUA_TEST_PG_URL:-}" ]; then
  MOTCUA_TEST_PG_URL=$(bash scripts/pg.sh start)
  export MOTCUA_TEST_PG_URL
  trap 'bash scripts/pg.sh stop >/dev/null || true' EXIT
fi
if [ -z "${MOTCUA_TEST_S3_ENDPOINT:-}" ]; then
  bash scripts/s3.sh start
  eval "$(bash scripts/s3.sh env)"
  trap 'bash scripts/pg.sh stop >/dev/null || true; bash scripts/s3.sh stop || true' EXIT
fi

python3 benches/scale.py "$@"

echo "--- queue claim rate, no-op jobs (2000 jobs, 8 claimers)"
db="motcua_q_$(date +%s)"
psql "$MOTCUA_TEST_PG_URL" -qAtc "CREATE DATABASE $db"
MOTCUA__DB__URL="${MOTCUA_TEST_PG_URL%/*}/$db" MOTCUA__SERVER__DATA_DIR=$(mktemp -d) \
  target/release/examples/queue_rate 2000 8
MOTCUA__SERVER__DATA_DIR=$(mktemp -d) target/release/examples/queue_rate 2000 8
