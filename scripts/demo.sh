#!/usr/bin/env bash
# The main job, end to end on a throwaway PostgreSQL 15:
#   1. installs what is missing (Debian packages) and builds build/partwatch;
#   2. starts PostgreSQL with wal_level=logical in a temporary directory on a
#      free port (scripts/pgtmp);
#   3. creates the first seed's `orders` table (LIST on status, DEFAULT
#      orders_other) and starts `partwatch run`;
#   4. inserts 100 rows of status 'returned' (nothing happens), then 1 more
#      (partwatch creates orders_returned and moves the 101 rows);
#   5. shows the partitions, the row counts, `partwatch status` and the log;
#   6. stops partwatch (SIGTERM), drops its slot and publication, stops and
#      removes the server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/install-deps.sh
scripts/build.sh >/dev/null
PW=$ROOT/build/partwatch

WORK=$(mktemp -d /tmp/partwatch-demo.XXXXXX)
chmod 755 "$WORK"  # the server runs as postgres and must reach $WORK/pg
PGDIR=$WORK/pg
PW_PID=""
cleanup() {
  [ -n "$PW_PID" ] && kill -TERM "$PW_PID" 2>/dev/null && wait "$PW_PID" 2>/dev/null || true
  "$ROOT/scripts/pgtmp" stop "$PGDIR" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting a throwaway PostgreSQL 15 (wal_level=logical)"
PORT=$("$ROOT/scripts/pgtmp" start "$PGDIR")
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
echo "PostgreSQL on 127.0.0.1:$PORT, data in $PGDIR"

step "creating the seed's orders table"
psql <<'SQL'
CREATE TABLE orders (
    id SERIAL,
    customer_name TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP DEFAULT NOW()
) PARTITION BY LIST (status);
CREATE TABLE orders_new PARTITION OF orders FOR VALUES IN ('new');
CREATE TABLE orders_processing PARTITION OF orders FOR VALUES IN ('processing');
CREATE TABLE orders_done PARTITION OF orders FOR VALUES IN ('done');
CREATE TABLE orders_other PARTITION OF orders DEFAULT;
SQL
psql -c '\d+ orders' | sed -n '/Partitions/,$p'

cat > "$WORK/partwatch.toml" <<EOF
[source]
dsn = "host=127.0.0.1 port=$PORT dbname=postgres user=postgres"

[[table]]
name = "public.orders"
threshold = 100
action = "create"
EOF
step "partwatch run --config $WORK/partwatch.toml"
cat "$WORK/partwatch.toml"
"$PW" run --config "$WORK/partwatch.toml" >"$WORK/partwatch.log" 2>&1 &
PW_PID=$!
for _ in $(seq 1 100); do grep -q "streaming from slot" "$WORK/partwatch.log" && break; sleep 0.1; done
grep -q "streaming from slot" "$WORK/partwatch.log" || { cat "$WORK/partwatch.log"; exit 1; }

step "inserting 100 rows of status 'returned' (threshold 100: not more than it)"
psql -c "INSERT INTO orders (customer_name, status) SELECT 'Customer ' || i, 'returned' FROM generate_series(1, 100) AS i"
sleep 1
psql -c "SELECT tableoid::regclass AS partition, status, count(*) FROM orders GROUP BY 1, 2 ORDER BY 1"

step "inserting 1 more: 101 rows of 'returned' in DEFAULT"
COMMIT_AT=$(date +%s%N)
psql -c "INSERT INTO orders (customer_name, status) VALUES ('Customer 101', 'returned')"
for _ in $(seq 1 500); do
  [ "$(psql -Atc "SELECT to_regclass('public.orders_returned') IS NOT NULL")" = t ] && break
  sleep 0.01
done
SEEN_AT=$(date +%s%N)
[ "$(psql -Atc "SELECT to_regclass('public.orders_returned') IS NOT NULL")" = t ] \
  || { echo "orders_returned did not appear"; cat "$WORK/partwatch.log"; exit 1; }
echo "orders_returned exists $(( (SEEN_AT - COMMIT_AT) / 1000000 )) ms after the commit that crossed the threshold"

step "what happened"
psql -c '\d+ orders' | sed -n '/Partitions/,$p'
psql -c "SELECT tableoid::regclass AS partition, status, count(*) FROM orders GROUP BY 1, 2 ORDER BY 1"
psql -c "SELECT count(*) AS returned_rows_left_in_default FROM orders_other WHERE status = 'returned'"
step "partwatch status"
"$PW" status --config "$WORK/partwatch.toml"
step "partwatch's log"
cat "$WORK/partwatch.log"

step "stopping partwatch (SIGTERM) and cleaning up"
kill -TERM "$PW_PID"; wait "$PW_PID"; PW_PID=""
tail -n 2 "$WORK/partwatch.log"
"$PW" teardown --config "$WORK/partwatch.toml"
ROWS=$(psql -Atc "SELECT count(*) FROM orders_returned")
LEFT=$(psql -Atc "SELECT count(*) FROM orders_other WHERE status = 'returned'")
[ "$ROWS" = 101 ] && [ "$LEFT" = 0 ] || { echo "demo FAILED: orders_returned=$ROWS, left in DEFAULT=$LEFT"; exit 1; }
echo "demo OK: orders_returned holds 101 rows, DEFAULT holds none of them"
