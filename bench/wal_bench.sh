#!/usr/bin/env bash
# wal_bench.sh: reading archived WAL, partwatch replay --wal-dir next to
# pg_waldump over the same segments, in one run.  A benchmark, not a test;
# docs/benchmarks.md ("Replay from archived WAL") has the numbers.
#
# A throwaway PostgreSQL 15 (scripts/pgtmp) at wal_level=replica with
# full_page_writes=on and archive_mode=on archives its segments; the
# workload is the first seed's orders table: pgbench single-row inserts,
# DEFAULT_PCT percent into DEFAULT (five values), then one COPY of COPY_ROWS
# rows into DEFAULT, CHECKPOINTs between so page images appear.  Then, each
# over all archived segments, best of ROUNDS:
#   pg_waldump          every record printed (to /dev/null): what an analyst
#                       runs today, and which still gives no column values
#   pg_waldump --stats  records decoded and counted, nothing printed
#   partwatch replay    records decoded and CRC-checked, DEFAULT rows deformed
#                       and counted per value, the policy run (--json)
# Prints elapsed seconds, MB/s of WAL, records/s and peak RSS as Markdown.
#
# Settings: TXNS=400000 (pgbench transactions), DEFAULT_PCT=10,
# COPY_ROWS=1000000, ROUNDS=3, PW=build-rel/partwatch.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TXNS=${TXNS:-400000}
DEFAULT_PCT=${DEFAULT_PCT:-10}
COPY_ROWS=${COPY_ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
PW=${PW:-$ROOT/build-rel/partwatch}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PW" ] || { echo "wal_bench: build $PW first (cmake -B build-rel -DCMAKE_BUILD_TYPE=Release)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/partwatch-walbench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/archive"
chown postgres "$WORK/archive" 2>/dev/null || true
cleanup() { "$ROOT/scripts/pgtmp" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(PGTMP_EXTRA_OPTS="-c wal_level=replica -c full_page_writes=on -c archive_mode=on -c max_wal_size=4GB" \
  "$ROOT/scripts/pgtmp" start "$WORK/pg")
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -c "ALTER SYSTEM SET archive_command = 'cp %p $WORK/archive/%f'" -c "SELECT pg_reload_conf()" >/dev/null
psql -c "SELECT pg_switch_wal()" >/dev/null
psql -c "CREATE TABLE orders (id SERIAL, customer_name TEXT, status TEXT NOT NULL,
                              created_at TIMESTAMP DEFAULT NOW()) PARTITION BY LIST (status)" \
     -c "CREATE TABLE orders_new PARTITION OF orders FOR VALUES IN ('new')" \
     -c "CREATE TABLE orders_processing PARTITION OF orders FOR VALUES IN ('processing')" \
     -c "CREATE TABLE orders_done PARTITION OF orders FOR VALUES IN ('done')" \
     -c "CREATE TABLE orders_other PARTITION OF orders DEFAULT"
printf '%s\n' '\set r random(1, 100)' '\set v random(1, 5)' \
  "INSERT INTO orders (customer_name, status) VALUES ('Customer :v', CASE WHEN :r <= $DEFAULT_PCT THEN 'other_' || :v ELSE (ARRAY['new','processing','done'])[1 + :r % 3] END);" \
  > "$WORK/insert.sql"
echo "wal_bench: $TXNS pgbench transactions, then COPY of $COPY_ROWS rows" >&2
"$PGBIN/pgbench" -n -c 2 -j 2 -t $((TXNS / 2)) -f "$WORK/insert.sql" >/dev/null
psql -c CHECKPOINT
psql -c "COPY orders (customer_name, status) FROM PROGRAM 'yes Customer,copied | head -n $COPY_ROWS' WITH (FORMAT csv)"
psql -c CHECKPOINT
psql -c "INSERT INTO orders (status) SELECT 'after_checkpoint_' || (i % 3) FROM generate_series(1, 10000) i"
LAST=$(psql -Atc "SELECT pg_walfile_name(pg_switch_wal())")
while [ "$(psql -Atc "SELECT coalesce(last_archived_wal, '') >= '$LAST' FROM pg_stat_archiver")" != t ]; do sleep 0.2; done
FIRST=$(ls "$WORK/archive" | head -1)
SEGS=$(ls "$WORK/archive" | wc -l)
BYTES=$((SEGS * 16 * 1024 * 1024))
RECORDS=$("$PGBIN/pg_waldump" --stats -p "$WORK/archive" "$FIRST" "$LAST" 2>/dev/null | awk '/^Total/ {print $2}')
echo "wal_bench: $SEGS segments, $RECORDS records" >&2
printf '[source]\ndsn = "host=127.0.0.1 port=%s user=postgres dbname=postgres"\n[[table]]\nname = "public.orders"\nthreshold = 1000000000\n' \
  "$PORT" > "$WORK/pw.toml"

measure() {  # prints "seconds maxrss_kb", best of ROUNDS by time
  local best="" rss="" t m
  for _ in $(seq 1 "$ROUNDS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    read -r t m < "$WORK/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
  done
  echo "$best $rss"
}
cat "$WORK/archive"/* > /dev/null  # page cache: every reader starts warm
row() {  # name seconds rss_kb
  awk -v n="$1" -v t="$2" -v m="$3" -v b="$BYTES" -v r="$RECORDS" \
    'BEGIN { printf "| %s | %.2f | %.0f | %.2f M | %.0f |\n", n, t, b / 1048576 / t, r / t / 1e6, m / 1024 }'
}
echo "| reader | seconds | MB/s of WAL | records/s | peak RSS MB |"
echo "|---|---|---|---|---|"
read -r t m < <(measure "$PGBIN/pg_waldump" -p "$WORK/archive" "$FIRST" "$LAST")
row "pg_waldump" "$t" "$m"
read -r t m < <(measure "$PGBIN/pg_waldump" --stats -p "$WORK/archive" "$FIRST" "$LAST")
row "pg_waldump --stats" "$t" "$m"
read -r t m < <(measure "$PW" replay --config "$WORK/pw.toml" --wal-dir "$WORK/archive" --json -q)
row "partwatch replay --wal-dir" "$t" "$m"
"$PW" replay --config "$WORK/pw.toml" --wal-dir "$WORK/archive" -q --values 8 2>/dev/null | sed 's/^/    /' >&2
echo
echo "$SEGS segments of 16 MiB, $RECORDS records; $TXNS single-row inserts ($DEFAULT_PCT% to DEFAULT), COPY of $COPY_ROWS rows into DEFAULT; $(nproc) CPUs"
