#!/usr/bin/env bash
# One row of docs/benchmarks.md "Server: diffsyncd under WebSocket load": a
# fresh diffsyncd and data directory, diffsync_load against it, then the
# server's CPU time per sync split by thread (the protocol thread is the
# main one; the others are the group commit and the store's checkpoints),
# read from /proc so that it does not depend on the machine's load.
#
#   bench/run_server_load.sh BIN_DIR CLIENTS DOCUMENTS SECONDS [PORT]
#   bench/run_server_load.sh build/bin 5000 500 15
set -euo pipefail

bin=${1:?bin dir}
clients=${2:?clients}
documents=${3:?documents}
seconds=${4:?seconds}
port=${5:-18090}
data=$(mktemp -d /tmp/dsl-XXXXXX)

"$bin/diffsyncd" --listen "127.0.0.1:$port" --data "$data" --log-level warn \
  --allow-anonymous --max-connections-per-ip 0 --max-requests-per-second 0 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

# Ticks (user + system) of each of the server's threads, "tid ticks" a line.
thread_ticks() {
  for stat in /proc/"$server"/task/*/stat; do
    local line
    line=$(cat "$stat" 2>/dev/null) || continue
    local tid=${line%% *}
    # Fields after the parenthesised command: state is field 3, utime 14.
    read -r -a f <<<"${line##*) }"
    echo "$tid $((f[11] + f[12]))"
  done
}

before=$(thread_ticks)
out=$("$bin/diffsync_load" --port "$port" --clients "$clients" \
  --documents "$documents" --rate 1 --seconds "$seconds" --server-pid "$server")
after=$(thread_ticks)
echo "$out"

syncs=$(awk '/^syncs /{print $2}' <<<"$out")
hz=$(getconf CLK_TCK)
join <(sort <<<"$before") <(sort <<<"$after") -a 2 |
  awk -v pid="$server" -v syncs="$syncs" -v hz="$hz" '
    { used = (NF == 3 ? $3 - $2 : $2) * 1e6 / hz / syncs
      if ($1 == pid) protocol += used; else others += used }
    END { printf "server cpu us per sync by thread: protocol %.1f others (commit, checkpoint) %.1f\n",
                 protocol, others }'
