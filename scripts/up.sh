#!/usr/bin/env bash
# The README's first command: the whole topology on this machine, with the same code that
# deploys it to AWS.
#   1. builds rudderctl (static: it is also rudderctl's own container image) and the
#      stand-in backend (unless RUDDER_SERVER_BIN names a real rudder-server);
#   2. starts a webhook sink (rudderctl sink) and the local cloud (AWS APIs on
#      127.0.0.1:4566, state in .cache/localcloud; ECS tasks in network namespaces, images
#      mapped to local programs: .cache/up/images.yaml);
#   3. deploys the transformer on Lambda (examples/transformer behind API Gateway), the
#      workspace (examples/workspace's function, its webhook destination pointed at the sink),
#      the user functions on ECS behind an internal ALB, and 2 nodes (rudder-server + its own
#      PostgreSQL each, a sidecar in each task) behind a public ALB;
#   4. sends a few events through the public ALB and shows them arriving at the sink;
#   5. keeps everything running until Ctrl-C.
# RUDDER_SERVER_BIN=path runs the real rudder-server as the nodes; RUDDER_TRANSFORMER_DIR=path
# (rudder-transformer's production tree: dist/, production node_modules, package.json) runs the
# real rudder-transformer on Lambda (packaged with --rebuild-native for Amazon Linux 2023) and as
# the ECS user-functions image (Node 22), instead of examples/transformer.
# Needs root (network namespaces; PostgreSQL runs as the postgres user).
set -euo pipefail
cd "$(dirname "$0")/.."

addr=${RUDDERCTL_LOCALCLOUD_ADDR:-127.0.0.1:4566}
stack=${RUDDERCTL_STACK:-local}
sink_addr=${RUDDERCTL_SINK_ADDR:-127.0.0.1:8099}
count=${RUDDERCTL_NODES:-2}
step() { printf '==> %s\n' "$*" >&2; }
up=.cache/up
mkdir -p bin "$up"

if [ "$(id -u)" != 0 ]; then
  echo "up.sh: run it as root: each ECS task gets a network namespace of its own, and the nodes' PostgreSQL runs as the postgres user" >&2
  exit 1
fi

step "building rudderctl (static) and the Runtime Interface Emulator"
CGO_ENABLED=0 go build -o bin/rudderctl ./cmd/rudderctl
go tool -n aws-lambda-rie >/dev/null
if [ -n "${RUDDER_SERVER_BIN:-}" ]; then
  [ -x "$RUDDER_SERVER_BIN" ] || { echo "up.sh: RUDDER_SERVER_BIN=$RUDDER_SERVER_BIN is not an executable: build rudder-server (../shared/reference/rudder-server.md) or unset it to run the stand-in" >&2; exit 1; }
  backend=$(cd "$(dirname "$RUDDER_SERVER_BIN")" && pwd)/$(basename "$RUDDER_SERVER_BIN")
  which="the real rudder-server ($backend)"
else
  step "building the stand-in backend (set RUDDER_SERVER_BIN to run the real rudder-server)"
  go build -o bin/rudder-standin ./backendnodes/standin/cmd/rudder-standin
  backend=$PWD/bin/rudder-standin
  which="the stand-in backend (bin/rudder-standin; RUDDER_SERVER_BIN runs the real rudder-server)"
fi

for a in "$addr" "$sink_addr"; do
  if curl -s -o /dev/null "http://$a/" 2>/dev/null; then
    echo "up.sh: $a is already in use (another up.sh?): stop it, or set RUDDERCTL_LOCALCLOUD_ADDR / RUDDERCTL_SINK_ADDR" >&2
    exit 1
  fi
done

if [ -n "${RUDDER_TRANSFORMER_DIR:-}" ]; then
  [ -f "$RUDDER_TRANSFORMER_DIR/dist/src/index.js" ] || { echo "up.sh: RUDDER_TRANSFORMER_DIR=$RUDDER_TRANSFORMER_DIR has no dist/src/index.js: give rudder-transformer's production tree (dist/, production node_modules, package.json), or unset it to run examples/transformer" >&2; exit 1; }
  tdir=$(cd "$RUDDER_TRANSFORMER_DIR" && pwd)
  transformer="the real rudder-transformer ($tdir)"
  lambda_src=(--src "$tdir" --rebuild-native)
  image_entry="    dir: $tdir
    command: [node, dist/src/index.js]
    node: 22
    portEnv: PORT"
else
  step "packaging examples/transformer for nodejs22.x (Lambda zip; unpacked, it is the ECS image too)"
  bin/rudderctl package transformer --src examples/transformer --out "$up/transformer.zip" >/dev/null
  rm -rf "$up/transformer-app" && python3 -m zipfile -e "$up/transformer.zip" "$up/transformer-app"
  transformer="examples/transformer (RUDDER_TRANSFORMER_DIR runs the real rudder-transformer)"
  lambda_src=(--zip "$up/transformer.zip")
  image_entry="    dir: $PWD/$up/transformer-app
    command: [node, src/index.js]
    node: 22
    portEnv: PORT"
fi

cat >"$up/images.yaml" <<YAML
# Written by scripts/up.sh: what the local cloud runs for each container image.
images:
  - image: rudderstack/rudder-transformer
$image_entry
  - image: rudderlabs/rudder-server
    dir: $(dirname "$backend")
    command: [$backend]
    portEnv: RSERVER_GATEWAY_WEB_PORT
YAML

# The workspace: examples/workspace's user function, one webhook destination: the sink.
rm -rf "$up/workspace" && mkdir -p "$up/workspace" && cp -r examples/workspace/functions examples/workspace/libraries "$up/workspace/"
cat >"$up/workspace/workspace.yaml" <<YAML
workspace: local
sources:
  - name: website
    type: HTTP
    writeKey: 2LocalWebsiteWriteKey0000001
destinations:
  - name: local-sink
    type: WEBHOOK
    sources: [website]
    function: enrich
    messageTypes: [track, identify]
    config:
      webhookUrl: http://$sink_addr/hook
      webhookMethod: POST
functions:
  - name: enrich
    file: functions/enrich.js
    libraries: [piiHelpers]
libraries:
  - name: piiHelpers
    file: libraries/piiHelpers.js
YAML

# Small sizes for one machine; nodes talk to the local RDS without TLS.
cat >"$up/rudderctl.yaml" <<YAML
ecs:
  cpu: 256
  memory: 512
  desired_count: 1
  min_count: 1
  deregistration_delay: 5
nodes:
  cpu: 256
  memory: 512
  db_ssl_mode: disable
  drain_timeout: 2m
YAML

step "starting the webhook sink on $sink_addr (events it receives: .cache/up/sink.out)"
bin/rudderctl sink --listen "$sink_addr" >"$up/sink.out" 2>"$up/sink.log" &
sinkpid=$!
step "starting the local cloud on $addr (log: .cache/localcloud.log)"
: >.cache/localcloud.out
bin/rudderctl localcloud start --addr "$addr" --state-dir .cache/localcloud --image-map "$up/images.yaml" --sandbox netns \
  --bridge "$sink_addr" >.cache/localcloud.out 2>.cache/localcloud.log &
cloud=$!
trap 'kill "$cloud" "$sinkpid" 2>/dev/null; wait "$cloud" "$sinkpid" 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
  grep -q "listening on" .cache/localcloud.out 2>/dev/null && break
  kill -0 "$cloud" 2>/dev/null || { echo "up.sh: the local cloud exited:" >&2; cat .cache/localcloud.log >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" .cache/localcloud.out || { echo "up.sh: the local cloud did not start within 10 s (log: .cache/localcloud.log)" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://$addr" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
rc() { bin/rudderctl "$@" --stack "$stack" --config "$up/rudderctl.yaml"; }

step "1/4 the transformer on Lambda (stack '$stack'): $transformer"
rc deploy transformer --lambda "${lambda_src[@]}"
step "2/4 the workspace (rudder-server's config backend, on the same API)"
rc deploy workspace --file "$up/workspace/workspace.yaml"
step "3/4 the user functions on ECS behind an internal load balancer (and rudderctl's own image in ECR)"
rc deploy transformer --ecs
step "4/4 $count nodes: rudder-server + PostgreSQL each, behind a public load balancer"
rc deploy nodes --count "$count"

nodes_url=$(rc endpoints --json | sed -n 's/.*"nodes_url": *"\([^"]*\)".*/\1/p')
step "the nodes run $which; the transformers run $transformer"
curl -sS "$nodes_url/health"; echo
step "sending 10 events through the public load balancer $nodes_url (POST /v1/batch, 2 requests of 5)"
for b in 1 2; do
  batch=""
  for i in 1 2 3 4 5; do
    n=$(( (b - 1) * 5 + i ))
    batch="$batch{\"type\":\"track\",\"event\":\"Signed Up\",\"messageId\":\"up-$$-$n\",\"userId\":\"user-$n\",\"context\":{\"traits\":{\"email\":\"user$n@example.com\"}}},"
  done
  curl -sS -o /dev/null -w "  batch $b: HTTP %{http_code}\n" -u 2LocalWebsiteWriteKey0000001: -H 'Content-Type: application/json' \
    -d "{\"batch\":[${batch%,}]}" "$nodes_url/v1/batch"
done
step "waiting for them at the sink (each one went: gateway -> user function on ECS -> webhook transform on Lambda via the sidecar -> sink)"
for _ in $(seq 1 120); do
  got=$(grep -c "messageId=up-$$-" "$up/sink.out" || true)
  [ "$got" -ge 10 ] && break
  sleep 1
done
grep "messageId=up-$$-" "$up/sink.out" || true
got=$(grep -c "messageId=up-$$-" "$up/sink.out" || true)
[ "$got" -ge 10 ] || { echo "up.sh: only $got of 10 events reached the sink in 2 minutes: see rudderctl status, rudderctl logs node 1" >&2; exit 1; }
step "all 10 events arrived ($(curl -s "http://$sink_addr/_sink/stats"))"
rc status || true
step "running: send events to $nodes_url/v1/batch (Basic auth: write key 2LocalWebsiteWriteKey0000001); the sink prints to .cache/up/sink.out"
step "local cloud at http://$addr (export AWS_ENDPOINT_URL=http://$addr AWS_REGION=us-east-1); Ctrl-C to stop"
wait "$cloud"
