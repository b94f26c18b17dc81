# Sourced by .ci/run: install PostgreSQL from Debian's packages, start a throwaway cluster
# on a free loopback port, create a user and a database, export DAGSTER_PG_* for the tests.
# The user may create databases: the scale-out tests take one each (tests/services.py).
# The cluster is stopped and removed when the CI script exits.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
PG_DIR="$(mktemp -d /tmp/vob-ci-pg.XXXXXX)"
chown postgres "$PG_DIR"
export DAGSTER_PG_HOST=127.0.0.1
export DAGSTER_PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DAGSTER_PG_DB=dagster DAGSTER_PG_USERNAME=dagster
export DAGSTER_PG_PASSWORD="ci-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
as_postgres "'$PG_BIN/initdb' -D '$PG_DIR/data' -U postgres --auth-local=trust --auth-host=scram-sha-256 --no-sync" >/dev/null
as_postgres "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/log' -w -o \"-h 127.0.0.1 -p $DAGSTER_PG_PORT -k $PG_DIR\" start" >/dev/null
trap 'as_postgres "\"$PG_BIN/pg_ctl\" -D \"$PG_DIR/data\" -m fast stop" >/dev/null 2>&1; rm -rf "$PG_DIR"' EXIT
"$PG_BIN/psql" -q -h "$PG_DIR" -p "$DAGSTER_PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE USER $DAGSTER_PG_USERNAME PASSWORD '$DAGSTER_PG_PASSWORD' CREATEDB" \
    -c "CREATE DATABASE $DAGSTER_PG_DB OWNER $DAGSTER_PG_USERNAME"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$DAGSTER_PG_PORT (db $DAGSTER_PG_DB)"
