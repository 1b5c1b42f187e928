#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the store tests, on 127.0.0.1 only.
#
#   eval "$(.ci/postgres.sh)"     # exports DWLAB_TEST_PG_URL (and DWLAB_TEST_PG_DATA)
#   .ci/postgres.sh stop DIR      # stops the server whose data directory is DIR
#
# Installs Debian's `postgresql` package when no server binaries are found (needs root).
# Everything but the export lines goes to stderr, so eval sees only them.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && { echo "$d"; return 0; }
    done
    return 1
}

as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ "${1:-}" == "stop" ]]; then
    bindir=$(find_bindir)
    as_postgres "$bindir/pg_ctl" -D "$2" -m fast stop >&2
    rm -rf "$(dirname "$2")"
    exit 0
fi

if ! bindir=$(find_bindir); then
    log "installing postgresql from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2
    bindir=$(find_bindir)
fi

if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

root=$(mktemp -d /tmp/dwlab-pg.XXXXXX)
[[ $(id -u) -eq 0 ]] && chown postgres "$root"
data="$root/data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# trust auth is safe here: the server listens on 127.0.0.1 only and lives for one CI job
as_postgres "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >&2
as_postgres "$bindir/pg_ctl" -D "$data" -l "$root/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$root -c fsync=off" \
    start >&2
as_postgres "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres dwlab_test >&2

log "server on 127.0.0.1:$port, data in $data"
echo "export DWLAB_TEST_PG_URL=postgresql://postgres@127.0.0.1:$port/dwlab_test"
echo "export DWLAB_TEST_PG_DATA=$data"
