#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: `scripts/pg.sh start|stop|url|status`.
#
#   MOTCUA_PG_PORT  port on 127.0.0.1 (default 55432)
#   MOTCUA_PG_DIR   data folder (default /tmp/motcua-pg-$MOTCUA_PG_PORT)
#
# Trust authentication on 127.0.0.1 only, durability off (fsync): test data only. Idempotent:
# `start` on a running cluster just prints its URL. Runs the server as user `postgres` (it
# refuses root). Installs Debian's postgresql when its binaries are missing.
#
#   export MOTCUA_TEST_PG_URL=$(scripts/pg.sh start) && cargo test --release
set -euo pipefail

port=${MOTCUA_PG_PORT:-55432}
dir=${MOTCUA_PG_DIR:-/tmp/motcua-pg-$port}
url="postgres://postgres@127.0.0.1:$port/postgres"

bin() {
    local b
    b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    if [[ -z $b ]]; then
        echo "installing postgresql…" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 \
            || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2; }
        b=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    fi
    echo "$b"
}

# Runs a PostgreSQL binary as the owner of the data folder.
as_pg() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [[ -f $dir/postmaster.pid ]] && as_pg "$B/pg_ctl" -D "$dir" status >/dev/null 2>&1
}

B=$(bin)

case ${1:-} in
start)
    if ! running; then
        if [[ ! -f $dir/PG_VERSION ]]; then
            rm -rf "$dir"
            mkdir -p "$dir"
            [[ $(id -u) == 0 ]] && chown postgres:postgres "$dir"
            as_pg "$B/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 \
                --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
                || { cat "$dir.initdb.log" >&2; exit 1; }
        fi
        # Many test databases with small pools each run at once: room for connections.
        as_pg "$B/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
            -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=400 -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null \
            || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    fi
    echo "$url"
    ;;
stop)
    if running; then
        as_pg "$B/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    ;;
url)
    echo "$url"
    ;;
status)
    if running; then echo "running: $url"; else echo "stopped"; exit 3; fi
    ;;
*)
    echo "usage: $0 start|stop|url|status  (env MOTCUA_PG_PORT, MOTCUA_PG_DIR)" >&2
    exit 2
    ;;
esac
