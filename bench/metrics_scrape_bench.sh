#!/usr/bin/env bash
# Cost of one GET /metrics (docs/benchmarks.md): a throwaway PostgreSQL 15,
# `partwatch run` with [http] listen on the first seed's `orders`, VALUES
# distinct statuses in DEFAULT (5 rows each, under the threshold, so all
# tracked and none moved), then SCRAPES GETs over one keep-alive connection.
# Prints the wall time per GET and partwatch's CPU time per GET (from
# /proc/PID/stat, so the client's own cost is not in it).
set -euo pipefail
cd "$(dirname "$0")/.."
VALUES=${VALUES:-100}
SCRAPES=${SCRAPES:-1000}
BIN=${BIN:-build/partwatch}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/partwatch-scrape-XXXXXX)
pgdir=$(mktemp -u /tmp/partwatch-scrape-pg-XXXXXX)  # pgtmp creates it (owned by postgres when root)
port=$(scripts/pgtmp start "$pgdir")
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  scripts/pgtmp stop "$pgdir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql=("$PGBIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE bench"
"${psql[@]}" -d bench <<'SQL'
CREATE TABLE orders (id SERIAL, customer_name TEXT, status TEXT NOT NULL,
  created_at TIMESTAMP DEFAULT NOW()) PARTITION BY LIST (status);
CREATE TABLE orders_new PARTITION OF orders FOR VALUES IN ('new');
CREATE TABLE orders_other PARTITION OF orders DEFAULT;
SQL
http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/partwatch.toml" <<EOF2
[source]
dsn = "host=127.0.0.1 port=$port dbname=bench user=postgres"
[http]
listen = "127.0.0.1:$http_port"
[metrics]
max_values_per_table = $VALUES
[[table]]
name = "public.orders"
threshold = 100
EOF2
"$BIN" run --config "$work/partwatch.toml" --log-level warn 2>"$work/partwatch.log" &
pid=$!
"${psql[@]}" -d bench -c "INSERT INTO orders (status) SELECT 'status_' || v FROM generate_series(1, $VALUES) v, generate_series(1, 5)"
python3 - "$http_port" "$pid" "$VALUES" "$SCRAPES" <<'PY'
import http.client, os, sys, time
port, pid, values, scrapes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
deadline = time.time() + 120
while True:
    try:
        c.request("GET", "/metrics"); body = c.getresponse().read().decode()
        if body.count("partwatch_default_rows{") >= values: break
    except OSError:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    if time.time() > deadline: sys.exit("partwatch never showed %d values" % values)
    time.sleep(0.2)
cpu0, t0 = cpu(), time.perf_counter()
for _ in range(scrapes):
    c.request("GET", "/metrics"); r = c.getresponse(); n = len(r.read())
t1, cpu1 = time.perf_counter(), cpu()
print(f"{scrapes} GETs of {n} bytes ({values} values tracked): "
      f"{(t1 - t0) / scrapes * 1e6:.0f} us per GET wall (client included), "
      f"{(cpu1 - cpu0) / scrapes * 1e6:.0f} us of partwatch CPU per GET")
PY
