#!/usr/bin/env bash
# Three instances on ports 8081-8083 whose embedded NATS nodes form one cluster,
# over the PostgreSQL named by DATABASE_URL (make cluster provides one).
# Ctrl-C stops all three.
set -euo pipefail
: "${DATABASE_URL:?DATABASE_URL must be set (make cluster sets it)}"
bin=${SERVER_BIN:-bin/server}
peers=nats://127.0.0.1:6241,nats://127.0.0.1:6242,nats://127.0.0.1:6243
pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
for i in 1 2 3; do
  INSTANCE_NAME=peer-$i HTTP_ADDR=127.0.0.1:808$i NATS_LISTEN=127.0.0.1:422$i \
  NATS_CLUSTER_LISTEN=127.0.0.1:624$i NATS_CLUSTER_PEERS=$peers DATA_DIR=.data/peer-$i \
  SEED_DEMO=true REGISTRATION=${REGISTRATION:-open} "$bin" &
  pids+=($!)
done
echo "cluster: http://127.0.0.1:8081  http://127.0.0.1:8082  http://127.0.0.1:8083  (Ctrl-C stops all three)"
wait -n "${pids[@]}"
