#!/usr/bin/env bash
# The standard performance scenario (make bench; see README, "Performance").
#
# Over the durable PostgreSQL named by DATABASE_URL (make bench starts a private
# one with fsync on under .data/bench-postgres), it starts three instances of
# bin/server as processes on loopback (clustered like scripts/cluster.sh, on
# ports of their own so a running `make cluster` is not disturbed), then:
#
#   1. fan-out: BENCH_CLIENTS SSE clients over the three instances, BENCH_RATE
#      shares/s into communities of BENCH_COMMUNITY_SIZE members;
#   2. the same fan-out over raw NATS (-baseline): the broker's own figures;
#   3. pgbench: durable single-row INSERTs into a scratch table, the machine's
#      write ceiling right now (tps); then the write path: shares as fast as
#      one instance acknowledges (-rate 0); then pgbench again. The write
#      path is printed as a ratio of the mean of the two pgbench figures
#      around it: this machine's disk changes its pace from minute to minute
#      (pgbench from 2,900 to 14,300 tps in one evening), and a ceiling
#      measured a minute earlier, before the fan-out, said little about the
#      one the write step met;
#   4. page: the dashboard (GET /, a feed of 50) at BENCH_PAGE_RATE requests/s
#      over the three instances as the fan-out's nodes (bearer tokens), every
#      community first filled to BENCH_PAGE_FILL shares; client p50/p99 and
#      the server's p99 as the bound of its request-time histogram bucket,
#      after BENCH_PAGE_WARMUP at the same rate, whose figures are reported
#      apart (the step from no load to 200 requests/s meets cold caches: up
#      to 150 ms in its first second);
#   5. idle: BENCH_IDLE_CLIENTS idle streams on a fourth instance started for it
#      (a fresh process: memory the earlier steps grew would hide the streams'
#      cost), RSS per connection.
#
# Everything it started is stopped on exit. The JSON reports are kept under
# BENCH_OUT. Knobs (environment) shorten it, e.g. for a quick check:
#
#   BENCH_CLIENTS=300 BENCH_DURATION=10s BENCH_IDLE_CLIENTS=1000 make bench-load
set -euo pipefail
: "${DATABASE_URL:?DATABASE_URL must be set (make bench-load runs this beside a private PostgreSQL)}"

server=${SERVER_BIN:-bin/server}
loadgen=${LOADGEN_BIN:-bin/loadgen}
clients=${BENCH_CLIENTS:-3000}
rate=${BENCH_RATE:-100}
duration=${BENCH_DURATION:-30s}
sizes=${BENCH_COMMUNITY_SIZE:-50-300}
publishers=${BENCH_PUBLISHERS:-8}
write_duration=${BENCH_WRITE_DURATION:-30s}  # the first seconds after the checkpoint write every index page whole once more
write_publishers=${BENCH_WRITE_PUBLISHERS:-128}
idle_clients=${BENCH_IDLE_CLIENTS:-10000}
idle_hold=${BENCH_IDLE_HOLD:-5s}
page=${BENCH_PAGE:-/}
page_rate=${BENCH_PAGE_RATE:-200}
page_duration=${BENCH_PAGE_DURATION:-20s}
page_fill=${BENCH_PAGE_FILL:-50}
page_workers=${BENCH_PAGE_WORKERS:-8}
page_warmup=${BENCH_PAGE_WARMUP:-3s}
pgbench_seconds=${BENCH_PGBENCH_SECONDS:-10}
pgbench_clients=${BENCH_PGBENCH_CLIENTS:-8}
skip=${BENCH_SKIP:-}  # space-separated steps to skip: pgbench fanout baseline write page idle
out=${BENCH_OUT:-.data/bench}
http_base=${BENCH_HTTP_PORT:-18080}  # instances on +1..+3
nats_base=${BENCH_NATS_PORT:-14220}
route_base=${BENCH_ROUTE_PORT:-16240}

for bin in "$server" "$loadgen"; do
  [[ -x $bin ]] || { echo "bench: $bin is missing: run make build (make bench-load builds both)" >&2; exit 1; }
done
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
export PATH="$PATH:${pgbin:-/usr/bin}"
mkdir -p "$out"

skipped() { [[ " $skip " == *" $1 "* ]]; }
# settle: every measured step that touches PostgreSQL starts right after a
# checkpoint, so that none pays for the log and dirty pages an earlier step
# (the write path leaves about 150 MB) or the set-up left behind; and with the
# outbox's queue of unpublished ids vacuumed, as autovacuum keeps it on a
# database that runs on (it looks once a minute; the private PostgreSQL of a
# benchmark runs a few minutes at a time, and the write step passes 40,000
# ids through the queue).
#
# settle after_write also vacuums and analyzes the tables the write step
# filled, as autovacuum would within its next rounds: otherwise autovacuum
# meets the page step (150,000 new shares and events pass its thresholds),
# and the page step measures it.
#
# sync: the kernel writes other files' dirty pages (the instances' JetStream
# stores, set-up) 30 s after they were dirtied, in the middle of the next
# step, and a commit's WAL flush queued behind that burst waits. Written out
# here, before the step. (It did not remove the fan-out's stalls: see README.)
settle() {
  local tables=events_pending
  [[ ${1:-} == after_write ]] && tables+=", shares, events"
  psql -q -X "$DATABASE_URL" -c "VACUUM (ANALYZE) $tables" -c 'CHECKPOINT'
  sync
}
# field FILE KEY: a number from the one-line JSON report (its top level: a
# page report's "warmup" object, last on the line, repeats some keys).
field() { sed 's/,"warmup":.*//' "$1" | sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p"; }
# warmup_field FILE KEY: the same from a page report's "warmup" object.
warmup_field() { sed -n 's/.*"warmup":{\([^}]*\)}.*/,\1/p' "$1" | sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p"; }

pids=()
stop_all() {
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

peers=nats://127.0.0.1:$((route_base + 1)),nats://127.0.0.1:$((route_base + 2)),nats://127.0.0.1:$((route_base + 3))
# start_instance I: instance bench-I in the background, a peer of the cluster.
start_instance() {
  local i=$1
  INSTANCE_NAME=bench-$i HTTP_ADDR=127.0.0.1:$((http_base + i)) NATS_LISTEN=127.0.0.1:$((nats_base + i)) \
  NATS_CLUSTER_LISTEN=127.0.0.1:$((route_base + i)) NATS_CLUSTER_PEERS=$peers DATA_DIR=.data/bench-peer-$i \
  REGISTRATION=open SEED_DEMO=false WRITE_LIMIT_PER_MINUTE=0 SIGNUP_LIMIT_PER_MINUTE=0 LOG_LEVEL=${BENCH_LOG_LEVEL:-warn} \
    "$server" >"$out/bench-$i.log" 2>&1 &
  pids+=($!)
}
wait_ready() {
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "bench: $1 is not ready; see $out/bench-*.log" >&2
  exit 1
}
targets=()
nats_urls=()
for i in 1 2 3; do
  start_instance "$i"
  targets+=("http://127.0.0.1:$((http_base + i))")
  nats_urls+=("nats://127.0.0.1:$((nats_base + i))")
done
all_targets=$(IFS=,; echo "${targets[*]}")
all_nats=$(IFS=,; echo "${nats_urls[*]}")
for t in "${targets[@]}"; do wait_ready "$t"; done
echo "bench: three instances ready: $all_targets"

date_utc=$(date -u +%Y-%m-%dT%H:%MZ)
summary=()

# pgbench NAME: durable single-row INSERTs into a fresh scratch table; the
# report is $out/pgbench-NAME.txt, the tps in $tps_NAME.
pgbench_step() {
  psql -q -X "$DATABASE_URL" -c 'SET client_min_messages = warning; DROP TABLE IF EXISTS bench_pgbench; CREATE TABLE bench_pgbench (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL)'
  local script
  script=$(mktemp)
  echo "INSERT INTO bench_pgbench (payload) VALUES (repeat('x', 120));" >"$script"
  settle
  echo "bench: pgbench ($1), durable single-row INSERT, $pgbench_clients clients, ${pgbench_seconds}s"
  pgbench -n -c "$pgbench_clients" -j 2 -T "$pgbench_seconds" -f "$script" "$DATABASE_URL" | tee "$out/pgbench-$1.txt"
  rm -f "$script"
  psql -q -X "$DATABASE_URL" -c 'DROP TABLE bench_pgbench'
  printf -v "tps_$1" '%s' "$(sed -n 's/^tps = \([0-9]*\).*/\1/p' "$out/pgbench-$1.txt" | head -n 1)"
}

lg=("$loadgen" -state "$out/loadgen-state.json" -community-size "$sizes")

if ! skipped fanout; then
  settle
  echo "bench: fan-out: $clients clients over 3 instances, $rate shares/s, communities of $sizes, $duration"
  "${lg[@]}" -targets "$all_targets" -clients "$clients" -publishers "$publishers" -rate "$rate" \
    -duration "$duration" -json >"$out/fanout.json"
  cat "$out/fanout.json"
  summary+=("fan-out: p50 $(field "$out/fanout.json" p50_ms) ms, p99 $(field "$out/fanout.json" p99_ms) ms, lost $(field "$out/fanout.json" lost), $(field "$out/fanout.json" deliveries_per_s) deliveries/s")
fi

if ! skipped baseline; then
  echo "bench: the same fan-out over raw NATS"
  "${lg[@]}" -baseline -nats "$all_nats" -targets "$all_targets" -clients "$clients" -publishers "$publishers" \
    -rate "$rate" -duration "$duration" -json >"$out/baseline.json"
  cat "$out/baseline.json"
  summary+=("NATS baseline: p50 $(field "$out/baseline.json" p50_ms) ms, p99 $(field "$out/baseline.json" p99_ms) ms, lost $(field "$out/baseline.json" lost), $(field "$out/baseline.json" deliveries_per_s) deliveries/s")
  if ! skipped fanout; then
    summary+=("fan-out / NATS: $(awk -v a="$(field "$out/fanout.json" deliveries_per_s)" -v b="$(field "$out/baseline.json" deliveries_per_s)" \
      -v p="$(field "$out/fanout.json" p99_ms)" -v q="$(field "$out/baseline.json" p99_ms)" \
      'BEGIN { printf "deliveries/s %.2f, p99 latency %.1fx", (b > 0 ? a / b : 0), (q > 0 ? p / q : 0) }')")
  fi
fi

tps_before= tps_after=
if ! skipped pgbench; then
  pgbench_step before
fi
if ! skipped write; then
  # The fan-out's nodes and communities (same -nodes and sizes: reused), no clients.
  settle
  echo "bench: write path: one instance, $write_publishers publishers, as fast as acknowledged, $write_duration"
  "${lg[@]}" -targets "${targets[0]}" -clients 0 -nodes "$clients" -publishers "$write_publishers" -rate 0 \
    -duration "$write_duration" -json >"$out/write.json"
  cat "$out/write.json"
  if ! skipped pgbench; then
    pgbench_step after
  fi
fi
if [[ -n $tps_before ]]; then
  line="pgbench durable single-row INSERT: $tps_before tps"
  [[ -n $tps_after ]] && line+=" before the write step, $tps_after after"
  summary+=("$line")
fi
if ! skipped write; then
  acked=$(field "$out/write.json" acked_per_s)
  line="write path: $acked acknowledged shares/s on one instance"
  if [[ -n $tps_before && -n $tps_after ]]; then
    line+=" = $(awk -v a="$acked" -v b="$tps_before" -v c="$tps_after" 'BEGIN { printf "%.1f %% of pgbench'"'"'s %.0f tps (the mean of the two)", 200 * a / (b + c), (b + c) / 2 }')"
  fi
  summary+=("$line")
fi

if ! skipped page; then
  # The fan-out's nodes and communities (same -nodes and sizes: reused), no clients.
  if skipped write; then settle; else settle after_write; fi
  echo "bench: page: GET $page at $page_rate requests/s over 3 instances, feeds of $page_fill, $page_warmup warm-up, $page_duration"
  "${lg[@]}" -targets "$all_targets" -page "$page" -page-fill "$page_fill" -nodes "$clients" \
    -publishers "$page_workers" -rate "$page_rate" -warmup "$page_warmup" -duration "$page_duration" -json >"$out/page.json"
  cat "$out/page.json"
  summary+=("page $page at $page_rate/s: client p50 $(field "$out/page.json" p50_ms) ms, p99 $(field "$out/page.json" p99_ms) ms; server p99 <= $(field "$out/page.json" page_p99_server_ms_le) ms (histogram bucket bound); errors $(field "$out/page.json" errors) of $(field "$out/page.json" sent)")
  if [[ $page_warmup != 0* ]]; then
    summary+=("  its $page_warmup warm-up, apart: client p99 $(warmup_field "$out/page.json" p99_ms) ms, server p99 <= $(warmup_field "$out/page.json" p99_server_ms_le) ms")
  fi
fi

if ! skipped idle; then
  start_instance 4
  fresh=http://127.0.0.1:$((http_base + 4))
  wait_ready "$fresh"
  echo "bench: idle: $idle_clients streams on a fresh fourth instance, held $idle_hold"
  "${lg[@]}" -idle -targets "$fresh" -clients "$idle_clients" -duration "$idle_hold" -json >"$out/idle.json"
  cat "$out/idle.json"
  summary+=("idle: $(field "$out/idle.json" rss_kb_per_conn) KB of RSS per connection ($idle_clients on one instance)")
fi

echo
echo "bench summary ($date_utc, $(nproc) cores; reports in $out):"
for s in "${summary[@]}"; do echo "  $s"; done
