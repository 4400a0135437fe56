#!/usr/bin/env bash
# Regenerates the wal2json fixtures (*.json) from a throwaway PostgreSQL 15
# (scripts/pgtmp) with the wal2json plugin (Debian: postgresql-15-wal2json).
#
#   tests/data/wal2json/capture.sh
#
# One slot per recording is created before the workload runs, so every file
# holds the same transactions; pg_recvlogical then reads each slot up to the
# WAL position reached after the workload, exactly as a user would record
# one: `pg_recvlogical -d DB -S SLOT --start -f FILE -P wal2json -o ...`.
# The commit times, xids and LSNs differ from run to run; the rows do not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
tmp=$(mktemp -d /tmp/wal2json-capture.XXXXXX)
chmod 755 "$tmp"  # as root, pgtmp runs the server as postgres, which must reach $tmp/pg
trap '"$repo/scripts/pgtmp" stop "$tmp/pg" || true; rm -rf "$tmp"' EXIT

port=$("$repo/scripts/pgtmp" start "$tmp/pg")
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

q -f "$here/schema.sql"

# name | TimeZone of the recording session | wal2json options
recordings=(
  "v2|UTC|format-version=2"
  "v2_xids|UTC|format-version=2 include-xids=1"
  "v2_timestamp|UTC|format-version=2 include-timestamp=1"
  "v2_lsn|UTC|format-version=2 include-lsn=1"
  "v2_all|UTC|format-version=2 include-xids=1 include-timestamp=1 include-lsn=1"
  "v2_all_kolkata|Asia/Kolkata|format-version=2 include-xids=1 include-timestamp=1 include-lsn=1"
  "v1|UTC|format-version=1"
  "v1_xids|UTC|format-version=1 include-xids=1"
  "v1_timestamp_st_johns|America/St_Johns|format-version=1 include-timestamp=1"
  "v1_lsn|UTC|format-version=1 include-lsn=1"
  "v1_all|UTC|format-version=1 include-xids=1 include-timestamp=1 include-lsn=1"
  "v1_pretty|UTC|format-version=1 pretty-print=1 include-xids=1 include-timestamp=1 include-lsn=1"
  "v1_chunks|UTC|format-version=1 write-in-chunks=1 include-xids=1 include-timestamp=1 include-lsn=1"
)

for r in "${recordings[@]}"; do
  IFS='|' read -r name _ _ <<<"$r"
  q -o /dev/null -c "SELECT pg_create_logical_replication_slot('$name', 'wal2json')"
done

q -o /dev/null -f "$here/workload.sql"
end=$(q -At -c "SELECT pg_current_wal_lsn()")

for r in "${recordings[@]}"; do
  IFS='|' read -r name tz options <<<"$r"
  args=()
  for o in $options; do args+=(-o "$o"); done
  rm -f "$here/$name.json"
  PGOPTIONS="-c TimeZone=$tz" pg_recvlogical -d postgres -S "$name" --start --no-loop \
    --endpos="$end" -f "$here/$name.json" -P wal2json "${args[@]}"
  chmod 644 "$here/$name.json"
  echo "$name.json: $(wc -l <"$here/$name.json") lines"
done

# For README.md: the versions that wrote these files.
psql -X -At -c "SELECT version()"
dpkg-query -W -f '${Package} ${Version}\n' postgresql-15 postgresql-15-wal2json
