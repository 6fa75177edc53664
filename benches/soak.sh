#!/usr/bin/env bash
# Soak and chaos test (issue 15): see benches/soak.py. With `--backend pg-s3` starts a throwaway
# PostgreSQL and SeaweedFS (scripts/pg.sh, scripts/s3.sh) unless MOTCUA_TEST_PG_URL /
# MOTCUA_TEST_S3_ENDPOINT are already set, and stops what it started.
#
#   benches/soak.sh [--backend sqlite|pg-s3] [--kills 100] [--flood]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
cargo build --release --quiet --bin motcua
if [[ " $* " == *" pg-s3 "* ]]; then
  stop=""
  if [ -z "${MOTCUA_TEST_PG_URL:-}" ]; then
    MOTCUA_TEST_PG_URL=$(bash scripts/pg.sh start)
    export MOTCUA_TEST_PG_URL
    stop="bash scripts/pg.sh stop >/dev/null || true;"
  fi
  if [ -z "${MOTCUA_TEST_S3_ENDPOINT:-}" ]; then
    bash scripts/s3.sh start
    eval "$(bash scripts/s3.sh env)"
    stop="$stop bash scripts/s3.sh stop || true"
  fi
  trap "$stop" EXIT
fi
python3 benches/soak.py "$@"
