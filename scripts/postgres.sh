#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a loopback port, for the tests and the scaling benchmark.
#
#   source scripts/postgres.sh        # installs Debian's postgresql if missing, starts a cluster,
#                                     # exports DOORSTEP_TEST_POSTGRES=postgres://doorstep@127.0.0.1:PORT
#   doorstep_pg_stop                  # stops it and deletes its files (also on the shell's exit)
#
# The cluster trusts local connections (it listens on 127.0.0.1 only, and lives for one run),
# keeps fsync on (the figures are those of a durable database), and uses the C locale.

doorstep_pg_start() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "installing PostgreSQL (Debian's postgresql)"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get install -y -q postgresql >/dev/null || {
            $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q postgresql >/dev/null
        } || return 1
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    DOORSTEP_PG_DIR=$(mktemp -d /tmp/doorstep-pg.XXXXXX)
    local port=${DOORSTEP_PG_PORT:-$((20000 + RANDOM % 20000))}
    # initdb refuses to run as root: the cluster then belongs to the postgres user.
    local as=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$DOORSTEP_PG_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$DOORSTEP_PG_DIR/data" -U doorstep --auth=trust \
        --no-locale -E UTF8 >"$DOORSTEP_PG_DIR/initdb.log" 2>&1 || {
        cat "$DOORSTEP_PG_DIR/initdb.log"
        return 1
    }
    "${as[@]}" "$bin/pg_ctl" -D "$DOORSTEP_PG_DIR/data" -l "$DOORSTEP_PG_DIR/server.log" -w \
        -o "-p $port -k $DOORSTEP_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" \
        start >/dev/null || {
        cat "$DOORSTEP_PG_DIR/server.log"
        return 1
    }
    DOORSTEP_PG_BIN=$bin
    export DOORSTEP_TEST_POSTGRES="postgres://doorstep@127.0.0.1:$port"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($DOORSTEP_PG_DIR)"
}

doorstep_pg_stop() {
    [ -n "${DOORSTEP_PG_DIR:-}" ] || return 0
    local as=()
    [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$DOORSTEP_PG_BIN/pg_ctl" -D "$DOORSTEP_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DOORSTEP_PG_DIR"
    DOORSTEP_PG_DIR=""
}

doorstep_pg_start || return 1 2>/dev/null || exit 1
