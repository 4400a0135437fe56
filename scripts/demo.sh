#!/usr/bin/env bash
# The main job, end to end on a throwaway PostgreSQL 15:
#   1. installs what is missing (Debian packages) and builds build/partwatch;
#   2. starts PostgreSQL with wal_level=logical in a temporary directory on a
#      free port (scripts/pgtmp);
#   3. creates the first seed's `orders` table (LIST on status, DEFAULT
#      orders_other) and starts `partwatch run`;
#   4. inserts 100 rows of status 'returned' (nothing happens), then 1 more
#      (partwatch creates orders_returned and moves the 101 rows);
#   5. shows the partitions, the row counts, `partwatch status` and the log,
#      the PartwatchThresholdApproaching alert (warn_above = 50) firing and
#      resolving at a local webhook receiver, and an excerpt of /metrics;
#   6. stops partwatch; loads a 300,000-row backlog of two statuses into
#      DEFAULT and empties it online with `partwatch drain --all`;
#   7. the second seed's pg_partman daily table (premake 1) with rows dated
#      5-7 days ahead in DEFAULT: shows partman.run_maintenance() failing,
#      runs partwatch, which creates those days and the ones between with
#      pg_partman's names, then shows run_maintenance() succeeding;
#   8. drops partwatch's slot and publication;
#   9. replays the server's own archived WAL (archive_mode = on from the
#      start): the 101 'returned' rows found in the heap records with their
#      commit time, history no slot could decode;
#  10. stops and removes the server, and replays the capture of step 3.
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
HOOK_PID=""
cleanup() {
  [ -n "$PW_PID" ] && kill -TERM "$PW_PID" 2>/dev/null && wait "$PW_PID" 2>/dev/null || true
  [ -n "$HOOK_PID" ] && kill "$HOOK_PID" 2>/dev/null || true
  "$ROOT/scripts/pgtmp" stop "$PGDIR" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting a throwaway PostgreSQL 15 (wal_level=logical, archiving its WAL)"
mkdir -p "$WORK/archive"; chown postgres "$WORK/archive" 2>/dev/null || true
PORT=$(PGTMP_EXTRA_OPTS="-c archive_mode=on -c full_page_writes=on" "$ROOT/scripts/pgtmp" start "$PGDIR")
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -c "ALTER SYSTEM SET archive_command = 'test ! -f $WORK/archive/%f && cp %p $WORK/archive/%f'" \
  -c "SELECT pg_reload_conf()" >/dev/null
echo "PostgreSQL on 127.0.0.1:$PORT, data in $PGDIR, WAL archived to $WORK/archive"

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
ORDERS_OTHER_FILE=$(psql -Atc "SELECT pg_relation_filenode('orders_other')")

# A local webhook receiver (one JSON body per line in $WORK/webhook.jsonl)
# and a free port for partwatch's /metrics.
/usr/bin/python3 "$ROOT/scripts/webhook-receiver.py" "$WORK/webhook.jsonl" >"$WORK/hook.port" &
HOOK_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/hook.port" ] && break; sleep 0.1; done
HOOK_PORT=$(cat "$WORK/hook.port")
HTTP_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat > "$WORK/partwatch.toml" <<EOF
[source]
dsn = "host=127.0.0.1 port=$PORT dbname=postgres user=postgres"

[http]
listen = "127.0.0.1:$HTTP_PORT"   # /metrics, /healthz, /readyz

[alerts]
webhook = ["http://127.0.0.1:$HOOK_PORT/hook"]

[capture]
dir = "$WORK/capture"   # records the stream, for partwatch replay

[[table]]
name = "public.orders"
threshold = 100
action = "create"
warn_above = 50   # PartwatchThresholdApproaching past 50 rows of one value
EOF
step "partwatch run --config $WORK/partwatch.toml"
cat "$WORK/partwatch.toml"
"$PW" run --config "$WORK/partwatch.toml" >"$WORK/partwatch.log" 2>&1 &
PW_PID=$!
for _ in $(seq 1 100); do grep -q "streaming from slot" "$WORK/partwatch.log" && break; sleep 0.1; done
grep -q "streaming from slot" "$WORK/partwatch.log" || { cat "$WORK/partwatch.log"; exit 1; }

step "inserting 100 rows of status 'returned' (threshold 100: not more than it)"
psql -c "INSERT INTO orders (customer_name, status) SELECT 'Customer ' || i, 'returned' FROM generate_series(1, 100) AS i"
psql -c "SELECT tableoid::regclass AS partition, status, count(*) FROM orders GROUP BY 1, 2 ORDER BY 1"
echo "past warn_above = 50: the webhook receiver gets the alert"
for _ in $(seq 1 100); do grep -q '"status": "firing"' "$WORK/webhook.jsonl" 2>/dev/null && break; sleep 0.1; done
grep -q '"status": "firing"' "$WORK/webhook.jsonl" 2>/dev/null \
  || { echo "demo FAILED: no firing alert at the webhook"; cat "$WORK/partwatch.log"; exit 1; }
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(line)
    for a in b["alerts"]:
        print("  webhook:", a["status"], a["labels"]["alertname"],
              {k: v for k, v in a["labels"].items() if k != "alertname"}, a["annotations"])
' "$WORK/webhook.jsonl"

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
echo "the rows left DEFAULT: the alert resolves at the webhook"
for _ in $(seq 1 600); do grep -q '"status": "resolved"' "$WORK/webhook.jsonl" 2>/dev/null && break; sleep 0.1; done
grep -q '"status": "resolved"' "$WORK/webhook.jsonl" \
  || { echo "demo FAILED: the alert did not resolve at the webhook"; cat "$WORK/partwatch.log"; exit 1; }
/usr/bin/python3 -c '
import json, sys
for line in list(open(sys.argv[1]))[-1:]:
    for a in json.loads(line)["alerts"]:
        print("  webhook:", a["status"], a["labels"]["alertname"], a["labels"].get("value", ""))' "$WORK/webhook.jsonl"
step "curl http://127.0.0.1:$HTTP_PORT/metrics (excerpt)"
curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics" | grep -E '^partwatch_(partitions_created_total|rows_moved_total|decisions_total|replication_connected|alerts_firing|alert_deliveries_total)' || true
curl -fsS -o /dev/null -w "/readyz: %{http_code}\n" "http://127.0.0.1:$HTTP_PORT/readyz" || true
step "partwatch status"
"$PW" status --config "$WORK/partwatch.toml"
step "partwatch's log"
cat "$WORK/partwatch.log"

step "stopping partwatch (SIGTERM)"
kill -TERM "$PW_PID"; wait "$PW_PID"; PW_PID=""
tail -n 2 "$WORK/partwatch.log"
ROWS=$(psql -Atc "SELECT count(*) FROM orders_returned")
LEFT=$(psql -Atc "SELECT count(*) FROM orders_other WHERE status = 'returned'")
[ "$ROWS" = 101 ] && [ "$LEFT" = 0 ] || { echo "demo FAILED: orders_returned=$ROWS, left in DEFAULT=$LEFT"; exit 1; }
echo "OK: orders_returned holds 101 rows, DEFAULT holds none of them"

step "a backlog: 300,000 rows of 'legacy_a' and 'legacy_b' land in DEFAULT while partwatch is stopped"
psql -c "INSERT INTO orders (customer_name, status) SELECT 'Old ' || i, CASE WHEN i % 3 = 0 THEN 'legacy_b' ELSE 'legacy_a' END FROM generate_series(1, 300000) AS i"
"$PW" status --config "$WORK/partwatch.toml"
BEFORE=$(psql -Atc "SELECT count(*) || ':' || sum(id) FROM orders")
step "partwatch drain --table public.orders --all (online: readable and writable throughout)"
"$PW" drain --config "$WORK/partwatch.toml" --table public.orders --all
AFTER=$(psql -Atc "SELECT count(*) || ':' || sum(id) FROM orders")
psql -c "SELECT tableoid::regclass AS partition, status, count(*) FROM orders GROUP BY 1, 2 ORDER BY 1"
[ "$BEFORE" = "$AFTER" ] || { echo "demo FAILED: rows before $BEFORE, after $AFTER"; exit 1; }
[ "$(psql -Atc "SELECT count(*) FROM orders_other")" = 0 ] || { echo "demo FAILED: DEFAULT not empty"; exit 1; }
echo "OK: same rows (count:sum(id) $AFTER) before and after; DEFAULT is empty"
"$PW" teardown --config "$WORK/partwatch.toml"

step "the second seed: a daily table managed by pg_partman 4.x (premake 1), rows dated 5-7 days ahead"
psql <<'SQL'
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE TABLE events (
    id BIGSERIAL,
    created_at TIMESTAMPTZ NOT NULL,
    payload TEXT
) PARTITION BY RANGE (created_at);
SELECT partman.create_parent(p_parent_table => 'public.events', p_control => 'created_at',
                             p_type => 'native', p_interval => 'daily', p_premake => 1);
INSERT INTO events (created_at, payload)
SELECT date_trunc('day', now()) + make_interval(days => d) + interval '12 hours', 'ahead ' || d
FROM generate_series(5, 7) AS d, generate_series(1, 2);
SQL
psql -c "SELECT partition_tablename FROM partman.show_partitions('public.events')"
psql -c "SELECT count(*) AS rows_in_events_default FROM ONLY events_default"
echo "partman.run_maintenance() now:"
if psql -c "SELECT partman.run_maintenance()" 2>"$WORK/maint.err"; then
  echo "demo FAILED: run_maintenance() was expected to fail with rows ahead in DEFAULT"; exit 1
fi
sed 's/^/    /' "$WORK/maint.err" | head -n 3

cat > "$WORK/events.toml" <<EOF
[source]
dsn = "host=127.0.0.1 port=$PORT dbname=postgres user=postgres"

[[table]]
name = "public.events"
threshold = 1000   # pg_partman tables: rows after the newest child move whatever the threshold
EOF
step "partwatch run --config $WORK/events.toml"
cat "$WORK/events.toml"
"$PW" run --config "$WORK/events.toml" >"$WORK/events.log" 2>&1 &
PW_PID=$!
for _ in $(seq 1 300); do
  [ "$(psql -Atc "SELECT count(*) FROM ONLY events_default")" = 0 ] && break; sleep 0.1
done
grep -E "watching|created partition" "$WORK/events.log" || true
psql -c "SELECT partition_tablename FROM partman.show_partitions('public.events')"
psql -c "SELECT tableoid::regclass AS partition, count(*) FROM events GROUP BY 1 ORDER BY 1"
[ "$(psql -Atc "SELECT count(*) FROM ONLY events_default")" = 0 ] || { echo "demo FAILED: rows left in events_default"; cat "$WORK/events.log"; exit 1; }
echo "partman.run_maintenance() now:"
psql -c "SELECT partman.run_maintenance()"
echo "OK: run_maintenance() succeeds; partwatch's children carry pg_partman's names"

step "stopping partwatch (SIGTERM) and cleaning up"
kill -TERM "$PW_PID"; wait "$PW_PID"; PW_PID=""
"$PW" teardown --config "$WORK/events.toml"

step "partwatch replay --wal-dir: the server's archived WAL, read directly"
# The drain of step 6 swapped orders_other for a new table: the rows of
# steps 4 and 6 are in the relation file it had before, named here.
LAST=$(psql -Atc "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 300); do
  [ "$(psql -Atc "SELECT coalesce(last_archived_wal, '') >= '$LAST' FROM pg_stat_archiver")" = t ] && break
  sleep 0.1
done
ls "$WORK/archive"
"$PW" replay --config "$WORK/partwatch.toml" --wal-dir "$WORK/archive" \
  --relfilenode "$ORDERS_OTHER_FILE=public.orders" --threshold 100 --values 5 -q | tee "$WORK/wal-replay.txt"
grep -Eq "'returned' +101 " "$WORK/wal-replay.txt" \
  || { echo "demo FAILED: the archived WAL does not show 101 'returned' rows"; exit 1; }

step "partwatch replay: what the first run captured, at thresholds 100 (as run), 50 and 1000"
echo "(the capture needs no database: the server is stopped first)"
"$ROOT/scripts/pgtmp" stop "$PGDIR" >/dev/null 2>&1 || true
"$PW" replay --config "$WORK/partwatch.toml" --threshold 100,50,1000 --html "$ROOT/build/demo-replay.html" "$WORK/capture" \
  | tee "$WORK/replay.txt"
grep -q "returned" "$WORK/replay.txt" || { echo "demo FAILED: the replay does not show 'returned'"; exit 1; }
[ -s "$ROOT/build/demo-replay.html" ] || { echo "demo FAILED: no HTML report"; exit 1; }
echo "HTML report (self-contained, kept after the demo): $ROOT/build/demo-replay.html"
echo "demo OK"
