#!/usr/bin/env bash
# The README's first command: set up and run the local topology on this machine.
#   1. builds rudderctl and the Runtime Interface Emulator;
#   2. starts the local cloud (AWS APIs on 127.0.0.1:4566, state in .cache/localcloud);
#   3. packages examples/transformer for nodejs22.x and deploys it with the same code that
#      targets AWS (Lambda function + alias + HTTP API);
#   4. calls the deployed transformer through API Gateway -> Lambda (RIE) -> adapter -> app;
#   5. deploys examples/workspace (the stack serves it as rudder-server's config backend) and
#      fetches it with the workspace token;
#   6. keeps the local cloud running in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

addr=${RUDDERCTL_LOCALCLOUD_ADDR:-127.0.0.1:4566}
stack=${RUDDERCTL_STACK:-local}
step() { printf '==> %s\n' "$*" >&2; }

step "building rudderctl and the Runtime Interface Emulator"
mkdir -p bin .cache
go build -o bin/rudderctl ./cmd/rudderctl
go tool -n aws-lambda-rie >/dev/null

if curl -s -o /dev/null "http://$addr/" 2>/dev/null; then
  echo "up.sh: $addr is already in use (another local cloud?): stop it, or set RUDDERCTL_LOCALCLOUD_ADDR=127.0.0.1:PORT" >&2
  exit 1
fi
step "starting the local cloud on $addr (log: .cache/localcloud.log)"
: >.cache/localcloud.out
bin/rudderctl localcloud start --addr "$addr" --state-dir .cache/localcloud >.cache/localcloud.out 2>.cache/localcloud.log &
cloud=$!
trap 'kill "$cloud" 2>/dev/null; wait "$cloud" 2>/dev/null' EXIT INT TERM
# Ready when our own process says it listens (not merely when something answers on the port).
for _ in $(seq 1 100); do
  grep -q "listening on" .cache/localcloud.out 2>/dev/null && break
  kill -0 "$cloud" 2>/dev/null || { echo "up.sh: the local cloud exited:" >&2; cat .cache/localcloud.log >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" .cache/localcloud.out || { echo "up.sh: the local cloud did not start within 10 s (log: .cache/localcloud.log)" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://$addr" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local

step "deploying examples/transformer (stack '$stack')"
bin/rudderctl deploy transformer --lambda --src examples/transformer --stack "$stack"

url=$(bin/rudderctl endpoints --stack "$stack" --show-secret --json | sed -n 's/.*"dest_transform_url": *"\([^"]*\)".*/\1/p')
step "GET /health through API Gateway -> Lambda -> adapter -> transformer"
curl -sS -i "$url/health"
echo
step "POST /v0/destinations/webhook (a processor transform, as rudder-server sends it)"
curl -sS -i -X POST "$url/v0/destinations/webhook" -H 'Content-Type: application/json' \
  -d '[{"message":{"type":"track","event":"Signed Up","userId":"u1"},"destination":{"Config":{"webhookUrl":"http://127.0.0.1:9/hook"}},"metadata":{"jobId":1}}]'
echo
step "without the secret prefix the gateway answers 404 and Lambda is never invoked"
curl -sS -o /dev/null -w '%{http_code}\n' "${url%/*}/health"
step "deploying examples/workspace (rudder-server's config backend, on the same API)"
bin/rudderctl deploy workspace --file examples/workspace/workspace.yaml --stack "$stack"
eps=$(bin/rudderctl endpoints --stack "$stack" --show-secret --json)
cfg=$(printf '%s' "$eps" | sed -n 's/.*"config_backend_url": *"\([^"]*\)".*/\1/p')
token=$(printf '%s' "$eps" | sed -n 's/.*"workspace_token": *"\([^"]*\)".*/\1/p')
step "GET /workspaceConfig with the workspace token (as rudder-server fetches it): status and size"
curl -sS -o /dev/null -w '%{http_code} %{size_download} bytes\n' -u "$token:" "$cfg/workspaceConfig?fetchAll=true"
step "deployed; rudder-server would use DEST_TRANSFORM_URL, CONFIG_BACKEND_URL and WORKSPACE_TOKEN from 'rudderctl endpoints --show-secret'"
step "local cloud running at http://$addr (export AWS_ENDPOINT_URL=http://$addr); Ctrl-C to stop"
wait "$cloud"
