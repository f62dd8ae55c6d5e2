#!/usr/bin/env bash
# The project's test command (README, second command; .ci/run runs exactly this).
# It prepares what the tests execute for real, then runs vet and every test:
#   - the Lambda Runtime Interface Emulator, pinned as a Go tool in go.mod;
#   - Node 22 (Lambda's nodejs22.x) from npm, cached under ~/.cache/rudderctl;
#   - examples/transformer's production node_modules, built for Node 22 (isolated-vm compiles).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

for tool in go node npm; do
  command -v "$tool" >/dev/null || { echo "test.sh: '$tool' is not on PATH: install it (see README, Requirements) and run again" >&2; exit 1; }
done
if ! command -v aws >/dev/null; then
  step "installing the AWS CLI (tests check the local cloud's wire format with it)"
  (apt-get update -qq && apt-get install -y -qq awscli) >&2 || echo "test.sh: could not install awscli; the AWS CLI test will fail" >&2
fi

step "building the Runtime Interface Emulator (go tool aws-lambda-rie)"
go tool -n aws-lambda-rie >/dev/null

step "packaging examples/transformer once (fetches Node 22, installs and builds its node_modules)"
warm=$(mktemp -d)
trap 'rm -rf "$warm"' EXIT
go run ./cmd/rudderctl package transformer --src examples/transformer --out "$warm/transformer.zip" >/dev/null

step "go vet"
go vet ./...

# -p 4: most test time is waiting on real processes (health checks, deploys), not CPU.
step "go test"
go test -count=1 -p 4 -timeout 30m ./... 2>&1 | tee "$warm/test.log"
