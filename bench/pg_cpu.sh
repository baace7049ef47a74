#!/usr/bin/env bash
# Prints the CPU seconds (user + system) used so far by the PostgreSQL
# server whose data directory is $1: its postmaster and every child
# (backends, WAL writer, checkpointer, ...), counting children that have
# exited through the postmaster's cutime/cstime. Run before and after a
# benchmark and subtract.
set -euo pipefail
pm=$(head -1 "$1/postmaster.pid")
ticks=0
for stat in /proc/[0-9]*/stat; do
  { read -r line <"$stat"; } 2>/dev/null || continue
  pid=${stat#/proc/}; pid=${pid%/stat}
  rest=${line##*) }
  set -- $rest
  ppid=$2
  if [ "$pid" = "$pm" ]; then ticks=$((ticks + ${12} + ${13} + ${14} + ${15}));
  elif [ "$ppid" = "$pm" ]; then ticks=$((ticks + ${12} + ${13})); fi
done
echo "scale=2; $ticks / $(getconf CLK_TCK)" | bc
