#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 for benchmarks with production durability
# (fsync on, synchronous_commit on, full_page_writes on) in $1 (a new
# directory) on port $2, and creates database "flare". Prints the DSN.
# Stop it with: runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $1/data stop
set -euo pipefail
dir="$1"; port="$2"
bin=/usr/lib/postgresql/15/bin
mkdir -p "$dir" && chown postgres "$dir"
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log"
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
  "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on \
   -c full_page_writes=on -c shared_buffers=256MB -c max_wal_size=4GB" start >/dev/null
runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p "$port" flare
echo "host=127.0.0.1 port=$port dbname=flare user=postgres"
