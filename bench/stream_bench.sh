#!/usr/bin/env bash
# stream_bench.sh: what consuming the replication stream costs, end to end,
# on a throwaway PostgreSQL 15 (scripts/pgtmp).  A benchmark, not a test;
# docs/benchmarks.md has the numbers and how to read them.
#
# The scenario of the project findings ("pgoutput and partitions"): the seed's
# orders table (LIST on status: new, processing, done; DEFAULT orders_other),
# pgbench with single-row inserts, 10% of the rows going to DEFAULT with five
# values.  One run per configuration:
#
#   none         no replication slot, no consumer (the baseline)
#   recvlogical  pg_recvlogical consuming a pgoutput slot with the same
#                publication partwatch makes (FOR TABLE orders_other (status)
#                WITH (publish = 'insert')), proto_version 1, into /dev/null
#   partwatch    partwatch run (threshold 1,000,000,000: nothing is ever
#                moved, only the streaming is measured)
#   partwatch_capture  the same with [capture] (docs/capture-format.md):
#                every message also recorded and fsync'ed (not in the
#                default CONFIGS; CONFIGS="partwatch partwatch_capture")
#
# For each run: pgbench TPS; CPU seconds of the consumer process and of its
# walsender (utime + stime from /proc/PID/stat, from just before pgbench to
# the end of the lag wait), and the consumer's per streamed row and per
# transaction (the walsender sends a keepalive for most commits, streamed or
# not); the consumer's peak RSS (VmHWM); the slot's lag
# (pg_current_wal_lsn() minus confirmed_flush_lsn, and minus the walsender's
# sent_lsn) right after pgbench and LAG_WAIT seconds later; the share of the
# machine's CPU that went to processes outside the benchmark while pgbench
# ran (the noise on a shared machine).  Prints a Markdown table on stdout,
# progress on stderr.
#
# Settings (environment):
#   DURATION=15     pgbench -T seconds per run
#   CLIENTS=2       pgbench clients (and threads)
#   DEFAULT_PCT=10  percent of rows that go to DEFAULT
#   RUNS=1          rounds; each round runs every configuration once
#   CONFIGS="none recvlogical partwatch"
#   LAG_WAIT=12     seconds to wait after pgbench before the second lag
#                   reading (both clients confirm every 10 s by default)
#   IDLE_WAIT=0     before each run, wait up to this many seconds for the
#   IDLE_BELOW=15   machine to be at most IDLE_BELOW % busy (other work on a
#                   shared machine distorts TPS; CPU seconds suffer less)
#   PARTWATCH=build/partwatch   the binary; built with scripts/build.sh if
#                   missing
#   PGBIN=/usr/lib/postgresql/15/bin
#
# Needs root or a user that can run PostgreSQL (see scripts/pgtmp), Linux
# /proc, and nothing else listening on the port pgtmp picks.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-2}
DEFAULT_PCT=${DEFAULT_PCT:-10}
RUNS=${RUNS:-1}
CONFIGS=${CONFIGS:-"none recvlogical partwatch"}
LAG_WAIT=${LAG_WAIT:-12}
IDLE_WAIT=${IDLE_WAIT:-0}
IDLE_BELOW=${IDLE_BELOW:-15}
PARTWATCH=${PARTWATCH:-$ROOT/build/partwatch}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN

log() { printf '[stream_bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for c in $CONFIGS; do
  case "$c" in none | recvlogical | partwatch | partwatch_capture) ;; *) die "unknown configuration '$c'" ;; esac
done
if [[ " $CONFIGS " == *" partwatch"* ]] && [ ! -x "$PARTWATCH" ]; then
  log "building partwatch (scripts/build.sh)"
  scripts/build.sh >&2
fi

WORK=$(mktemp -d /tmp/partwatch-stream-bench.XXXXXX)
chmod 755 "$WORK"  # the server runs as postgres and must reach $WORK/pg
PGDIR=$WORK/pg
CONSUMER_PID=""

# Stops the consumer (by its pid only), the server, and removes everything.
cleanup() {
  if [ -n "$CONSUMER_PID" ] && kill -0 "$CONSUMER_PID" 2>/dev/null; then
    kill -TERM "$CONSUMER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$CONSUMER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CONSUMER_PID" 2>/dev/null || true
  fi
  "$ROOT/scripts/pgtmp" stop "$PGDIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting a throwaway PostgreSQL 15"
PORT=$("$ROOT/scripts/pgtmp" start "$PGDIR")
DSN="host=127.0.0.1 port=$PORT dbname=postgres user=postgres"
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
sql() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

sql "CREATE TABLE orders (
       id SERIAL,
       customer_name TEXT,
       status TEXT NOT NULL,
       created_at TIMESTAMP DEFAULT NOW()
     ) PARTITION BY LIST (status);
     CREATE TABLE orders_new PARTITION OF orders FOR VALUES IN ('new');
     CREATE TABLE orders_processing PARTITION OF orders FOR VALUES IN ('processing');
     CREATE TABLE orders_done PARTITION OF orders FOR VALUES IN ('done');
     CREATE TABLE orders_other PARTITION OF orders DEFAULT;
     CREATE PUBLICATION bench_pub FOR TABLE orders_other (status) WITH (publish = 'insert');"

# One row per transaction; DEFAULT_PCT% of them get one of five values that
# have no partition, the rest are spread over the three partitions.
cat >"$WORK/insert.sql" <<EOF
\set r random(1, 100)
\set v random(1, 5)
\set p random(1, 3)
INSERT INTO orders (customer_name, status) VALUES ('customer ' || :r, CASE WHEN :r <= $DEFAULT_PCT THEN (ARRAY['returned', 'lost', 'on_hold', 'refunded', 'disputed'])[:v] ELSE (ARRAY['new', 'processing', 'done'])[:p] END);
EOF

cat >"$WORK/partwatch.toml" <<EOF
[source]
dsn = "$DSN"
slot = "bench_partwatch"
publication = "bench_partwatch"

[[table]]
name = "public.orders"
threshold = 1000000000
action = "create"
EOF
{ cat "$WORK/partwatch.toml"; printf '\n[capture]\ndir = "%s/capture"\n' "$WORK"; } >"$WORK/partwatch_capture.toml"

CLK_TCK=$(getconf CLK_TCK)
# utime + stime of a process in seconds (fields 14 and 15 of /proc/PID/stat;
# the command name in field 2 cannot contain ") " here).
cpu_seconds() {  # pid [tid]
  local stat
  stat=$(cat "/proc/$1${2:+/task/$2}/stat" 2>/dev/null) || { echo "NaN"; return; }
  stat=${stat##*) }
  awk -v t="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / t }' <<<"$stat"
}
peak_rss_mib() {
  awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "NaN"
}
# "busy idle" jiffies of the whole machine from /proc/stat.
machine_jiffies() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $5+$6 }' /proc/stat; }
busy_pct() {  # before after
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
    busy = y[1] - x[1]; idle = y[2] - x[2];
    if (busy + idle > 0) printf "%.0f", 100 * busy / (busy + idle); else print "NaN" }'
}
# CPU seconds used by this benchmark's PostgreSQL server: the postmaster, its
# live children, and the children it has already reaped (cutime + cstime).
server_cpu_seconds() {
  local pm
  pm=$(head -n 1 "$PGDIR/data/postmaster.pid")
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" -v t="$CLK_TCK" '
    { pid = $1; sub(/^.*\) /, "");
      if (pid == pm) s += $12 + $13 + $14 + $15; else if ($2 == pm) s += $12 + $13 }
    END { printf "%.2f", s / t }'
}
# CPU seconds of this shell's reaped children (pgbench) in `times` output
# saved to file $1.  (`times` itself must run in this shell, not in $(...).)
children_cpu_seconds() {
  awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += 60 * a[1] + a[2] }
                 printf "%.2f", s }' "$1"
}
sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NaN" || b == "NaN") print "NaN"; else printf "%.2f", b - a }'; }

per_million() {  # seconds count: microseconds per item
  awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0 && c != "NaN") printf "%.1f", 1e6 * c / n; else print "NaN" }'
}

# Lag of slot $1 in bytes: "confirmed_flush_lag sent_lag".
slot_lag() {
  sql "SELECT COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint::text, 'NaN')
              || ' ' || COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), r.sent_lsn)::bigint::text, 'NaN')
       FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
       WHERE s.slot_name = '$1'"
}

walsender_pid() {  # of slot $1, once it streams
  sql "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '$1' AND active_pid IS NOT NULL"
}

has_walsender() { [ -n "$(walsender_pid "$1")" ] || consumer_gone; }
slot_released() { [ -z "$(walsender_pid "$1")" ]; }
consumer_gone() { ! kill -0 "$CONSUMER_PID" 2>/dev/null; }
streaming_or_gone() { grep -q "streaming from slot" "$WORK/partwatch.log" || consumer_gone; }

wait_for() {  # seconds, command...: polls every 0.1 s
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

stop_consumer() {
  [ -n "$CONSUMER_PID" ] || return 0
  kill -"$1" "$CONSUMER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$CONSUMER_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$CONSUMER_PID" 2>/dev/null; then
    log "consumer $CONSUMER_PID did not stop in 10 s; killing it"
    kill -KILL "$CONSUMER_PID" 2>/dev/null || true
  fi
  wait "$CONSUMER_PID" 2>/dev/null || true
  CONSUMER_PID=""
}

ROWS=()
run_one() {  # configuration round
  local config=$1 round=$2 slot="" ws_pid="" t0 t1
  log "round $round: $config"
  sql "TRUNCATE orders; CHECKPOINT;"

  case "$config" in
    recvlogical)
      slot=bench_recvlogical
      "$PGBIN/pg_recvlogical" -d "$DSN" --slot "$slot" --create-slot -P pgoutput >&2
      "$PGBIN/pg_recvlogical" -d "$DSN" --slot "$slot" --start -o proto_version=1 \
        -o publication_names=bench_pub -f /dev/null 2>"$WORK/recvlogical.log" &
      CONSUMER_PID=$!
      ;;
    partwatch | partwatch_capture)
      slot=bench_partwatch
      rm -rf "$WORK/capture"
      "$PARTWATCH" run --config "$WORK/$config.toml" 2>"$WORK/partwatch.log" &
      CONSUMER_PID=$!
      wait_for 30 streaming_or_gone || true
      grep -q "streaming from slot" "$WORK/partwatch.log" \
        || { cat "$WORK/partwatch.log" >&2; die "partwatch did not start streaming"; }
      ;;
  esac
  if [ -n "$slot" ]; then
    wait_for 30 has_walsender "$slot" || true
    ws_pid=$(walsender_pid "$slot")
    [ -n "$ws_pid" ] || { cat "$WORK"/*.log >&2; die "no walsender for slot $slot"; }
    sleep 1  # let start-up settle: its CPU is not what we measure
  fi

  # Background load from outside this benchmark, over 2 s, with only the
  # idle consumer running; with IDLE_WAIT, wait (bounded) for a quiet machine.
  local background deadline=$((SECONDS + IDLE_WAIT))
  while :; do
    t0=$(machine_jiffies); sleep 2; background=$(busy_pct "$t0" "$(machine_jiffies)")
    if [ "$background" != NaN ] && [ "$background" -gt "$IDLE_BELOW" ] \
       && [ "$SECONDS" -lt "$deadline" ]; then
      continue
    fi
    break
  done
  if [ "$background" != NaN ] && [ "$background" -gt "$IDLE_BELOW" ]; then
    log "  the machine is ${background}% busy before the run: expect noise"
  fi

  local c0="" w0="" cm="0" s0 s1 p0 p1
  [ -n "$CONSUMER_PID" ] && c0=$(cpu_seconds "$CONSUMER_PID")
  [ -n "$ws_pid" ] && w0=$(cpu_seconds "$ws_pid")
  times >"$WORK/times0"
  s0=$(server_cpu_seconds); p0=$(children_cpu_seconds "$WORK/times0"); t0=$(machine_jiffies)
  timeout $((DURATION + 120)) "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" \
    -f "$WORK/insert.sql" >"$WORK/pgbench.out" 2>"$WORK/pgbench.err" \
    || { cat "$WORK/pgbench.err" >&2; die "pgbench failed"; }
  times >"$WORK/times1"
  t1=$(machine_jiffies); s1=$(server_cpu_seconds); p1=$(children_cpu_seconds "$WORK/times1")
  [ -n "$CONSUMER_PID" ] && cm=$(sub "$c0" "$(cpu_seconds "$CONSUMER_PID")")
  # The share of the machine that went to processes outside this benchmark
  # while pgbench ran (other users of a shared machine): the noise indicator.
  local others
  others=$(awk -v a="$t0" -v b="$t1" -v ours="$(awk -v s="$(sub "$s0" "$s1")" \
             -v p="$(sub "$p0" "$p1")" -v c="$cm" 'BEGIN { print s + p + c }')" -v t="$CLK_TCK" '
    BEGIN { split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; all = busy + y[2] - x[2];
            o = 100 * (busy - ours * t) / all; if (o < 0) o = 0; printf "%.0f", o }')
  local lag_end="- -" lag_later="- -"
  [ -n "$slot" ] && lag_end=$(slot_lag "$slot")
  local tps
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$WORK/pgbench.out")
  [ -n "$tps" ] || { cat "$WORK/pgbench.out" >&2; die "no TPS in pgbench's output"; }
  tps=$(printf '%.0f' "$tps")

  local c1="" w1="" rss="-"
  if [ -n "$slot" ]; then
    sleep "$LAG_WAIT"
    lag_later=$(slot_lag "$slot")
    c1=$(cpu_seconds "$CONSUMER_PID"); w1=$(cpu_seconds "$ws_pid")
    rss=$(peak_rss_mib "$CONSUMER_PID")
    # Per thread, for the curious (partwatch: main, reader, policy, executor, in start order).
    local threads=""
    for task in /proc/"$CONSUMER_PID"/task/*; do
      threads+=" ${task##*/}:$(cpu_seconds "$CONSUMER_PID" "${task##*/}")"
    done
    log "  consumer threads (tid:CPU s since start):$threads"
    kill -0 "$CONSUMER_PID" 2>/dev/null || die "the consumer exited during the run"
  fi

  local total default_rows
  total=$(sql "SELECT count(*) FROM orders")
  default_rows=$(sql "SELECT count(*) FROM orders_other")

  local ccpu="-" wcpu="-" us_row="-" us_txn="-"
  if [ -n "$slot" ]; then
    ccpu=$(sub "$c0" "$c1"); wcpu=$(sub "$w0" "$w1")
    us_row=$(per_million "$ccpu" "$default_rows")
    us_txn=$(per_million "$ccpu" "$total")  # one row per pgbench transaction
  fi

  case "$config" in
    recvlogical)
      stop_consumer INT
      wait_for 30 slot_released "$slot" || die "slot $slot still active after its consumer stopped"
      sql "SELECT pg_drop_replication_slot('$slot')" >/dev/null
      ;;
    partwatch | partwatch_capture)
      stop_consumer TERM
      if [ "$config" = partwatch_capture ]; then
        log "  capture: $(du -sh "$WORK/capture" | cut -f1) in $(ls "$WORK/capture" | wc -l) segment(s)"
      fi
      wait_for 30 slot_released "$slot" || die "slot $slot still active after partwatch stopped"
      "$PARTWATCH" teardown --config "$WORK/partwatch.toml" 2>>"$WORK/partwatch.log" \
        || die "partwatch teardown failed"
      grep -E "error|warn|session ended" "$WORK/partwatch.log" >&2 || true
      ;;
  esac

  read -r lag_end_flush lag_end_sent <<<"$lag_end"
  read -r lag_later_flush _ <<<"$lag_later"
  ROWS+=("| $config | $round | $tps | $total | $default_rows | $ccpu | $us_row | $us_txn | $wcpu | $rss | $lag_end_sent | $lag_end_flush | $lag_later_flush | $others |")
  log "  tps $tps, rows $total ($default_rows in DEFAULT), consumer CPU ${ccpu}s, walsender CPU ${wcpu}s, server CPU $(sub "$s0" "$s1")s, pgbench CPU $(sub "$p0" "$p1")s, others ${others}%"
}

for round in $(seq 1 "$RUNS"); do
  for config in $CONFIGS; do run_one "$config" "$round"; done
done

VERSION=$(sql "SHOW server_version")
SETTINGS=$(sql "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
                WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level')")
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p)
echo
echo "PostgreSQL $VERSION ($SETTINGS), $(nproc) CPUs ($CPU_MODEL); pgbench -c $CLIENTS -j $CLIENTS -T $DURATION, single-row inserts, $DEFAULT_PCT% to DEFAULT; second lag reading ${LAG_WAIT} s after pgbench."
echo
echo "| consumer | round | TPS | rows | rows in DEFAULT (streamed) | consumer CPU s | consumer µs per streamed row | consumer µs per transaction | walsender CPU s | consumer peak RSS MiB | sent lag at end (B) | confirmed lag at end (B) | confirmed lag +${LAG_WAIT} s (B) | others' CPU % during pgbench |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
