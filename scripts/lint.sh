#!/usr/bin/env bash
# `go tool task lint`: go vet, staticcheck (when it builds with this Go) and Temporal's
# workflowcheck over ./workflows/... (determinism of workflow code). Every check runs even when
# an earlier one finds something; the exit status is non-zero when any of them did.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

failed=()

echo "lint: go vet ./..."
go vet ./... || failed+=("go vet")

if sc=$(bash scripts/tools.sh path staticcheck); then
	echo "lint: staticcheck ./... ($(basename "$sc"))"
	"$sc" ./... || failed+=(staticcheck)
else
	echo "lint: skipping staticcheck: it does not build with $(go env GOVERSION) here (see the build error above)"
fi

if wc=$(bash scripts/tools.sh path workflowcheck); then
	echo "lint: workflowcheck ./workflows/... ($(basename "$wc"))"
	"$wc" ./workflows/... || failed+=(workflowcheck)
else
	failed+=("workflowcheck (build)")
fi

if [[ ${#failed[@]} -gt 0 ]]; then
	echo "lint: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "lint: ok"
