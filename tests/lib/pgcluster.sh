#!/bin/sh
# pgcluster.sh - a throwaway PostgreSQL cluster for one test, from Debian's
# `postgresql` package (scripts/bootstrap), shared by every test that needs
# PostgreSQL (label pg).
#
#   pgcluster.sh run -- CMD ARGS...   start a cluster, run CMD with
#                                     FOTA_TEST_PG set, stop the cluster
#                                     (also when CMD fails or is killed);
#                                     exits with CMD's status
#   pgcluster.sh start DIR            start a cluster in the empty folder DIR,
#                                     print its conninfo ("host=DIR user=fota")
#   pgcluster.sh stop DIR             stop it and remove DIR
#
# initdb refuses to run as root (CI and the development machines run the
# suite as root), so as root the cluster belongs to the system user
# `fotapg`, created here when missing; otherwise to the calling user. The
# cluster listens only on a unix socket inside its own folder (no TCP port,
# so parallel tests never collide), trusts local connections (a throwaway
# cluster for tests only) and runs with fsync off (it holds nothing worth
# a power cut; the store's own durability rules are in store_pg.c);
# FOTA_PG_FSYNC=on turns fsync back on (bench/scale.sh measures with it).
# FOTA_TEST_PG is a libpq conninfo without dbname: tests add their own.
# Missing binaries FAIL the test, naming them: never a silent pass.
set -u

PGUSER_SYS=fotapg

# FOTA_PG_BINDIR: look only there (e.g. a PostgreSQL built elsewhere).
pgbin() {
    for d in ${FOTA_PG_BINDIR:-/usr/lib/postgresql/*/bin}; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    done
    echo "pgcluster: FAIL: PostgreSQL server binaries initdb, pg_ctl and postgres not found" \
         "in ${FOTA_PG_BINDIR:-/usr/lib/postgresql/*/bin} (Debian package postgresql; run scripts/bootstrap)" >&2
    return 1
}

# as_owner CMD...: run CMD as the cluster's owner
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PGUSER_SYS" -- "$@"
    else
        "$@"
    fi
}

ensure_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    id "$PGUSER_SYS" >/dev/null 2>&1 && return 0
    # parallel tests may race here: one creates, the others wait and see it
    (
        flock 9
        id "$PGUSER_SYS" >/dev/null 2>&1 ||
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$PGUSER_SYS"
    ) 9>/tmp/fota-pgcluster-useradd.lock
    id "$PGUSER_SYS" >/dev/null 2>&1 || {
        echo "pgcluster: FAIL: cannot create the system user $PGUSER_SYS (useradd)" >&2
        return 1
    }
}

start() {
    dir=$1
    bin=$(pgbin) || return 1
    ensure_user || return 1
    [ "$(id -u)" -eq 0 ] && chown "$PGUSER_SYS" "$dir"
    chmod 700 "$dir"
    if ! as_owner "$bin/initdb" -D "$dir/data" -U fota -A trust -E UTF8 --locale=C \
            --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        echo "pgcluster: FAIL: initdb failed (log above)" >&2
        return 1
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 120 \
            -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=${FOTA_PG_FSYNC:-off} \
                -c synchronous_commit=on -c full_page_writes=${FOTA_PG_FSYNC:-off} -c max_connections=400 \
                -c shared_buffers=32MB" start >"$dir/pg_ctl.log" 2>&1; then
        cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2
        echo "pgcluster: FAIL: pg_ctl start failed (logs above)" >&2
        return 1
    fi
    # the socket folder must let the tests (maybe another user) through
    chmod 711 "$dir"
    echo "host=$dir user=fota"
}

stop() {
    dir=$1
    bin=$(pgbin 2>/dev/null) || bin=""
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start) start "$2" ;;
stop) stop "$2" ;;
run)
    shift
    [ "${1:-}" = "--" ] && shift
    dir=$(mktemp -d "${TMPDIR:-/tmp}/fota-pg.XXXXXX") || exit 1
    trap 'stop "$dir"' EXIT
    trap 'exit 143' TERM INT
    FOTA_TEST_PG=$(start "$dir") || exit 1
    export FOTA_TEST_PG
    "$@"
    exit $?
    ;;
*)
    echo "usage: pgcluster.sh run -- CMD... | start DIR | stop DIR" >&2
    exit 2
    ;;
esac
