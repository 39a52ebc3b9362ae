#!/usr/bin/env bash
# `go tool task dev`: everything Lantern needs, then Lantern itself, in this terminal.
#
#   1. starts the services that are not already running (scripts/services.sh up), remembering
#      which ones this run started;
#   2. builds .dev/bin/lantern, applies migrations, seeds the demo org (lantern admin demo),
#      which prints the API URL, an API key, the docs URL and the Temporal UI URL;
#   3. runs `lantern dev` (API + worker in one process) in the foreground.
#
# Ctrl-C (SIGINT or SIGTERM) stops Lantern and every service this run started; services that
# were already running stay up. Data stays under .dev/, so re-running is safe and fast.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

mkdir -p "$RUN" "$DEV/bin"
RECORD=$(mktemp "$RUN/dev-started.XXXXXX")
LANTERN_PID=""
INTERRUPTED=0

cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM # a second Ctrl-C must not cut the clean-up short
	if [[ -n $LANTERN_PID ]] && kill -0 "$LANTERN_PID" 2>/dev/null; then
		say "dev: stopping lantern (pid $LANTERN_PID)..."
		kill -TERM "$LANTERN_PID" 2>/dev/null || true
		local i
		for ((i = 0; i < 80; i++)); do
			kill -0 "$LANTERN_PID" 2>/dev/null || break
			sleep 0.25
		done
		kill -KILL "$LANTERN_PID" 2>/dev/null || true
	fi
	local started=()
	mapfile -t started <"$RECORD" || true
	rm -f "$RECORD"
	if [[ ${#started[@]} -gt 0 ]]; then
		say "dev: stopping the services this run started: ${started[*]}"
		"$ROOT/scripts/services.sh" down "${started[@]}" || rc=1
	else
		say "dev: this run started no services; nothing else to stop"
	fi
	say "dev: stopped; data is kept in $(relpath "$DEV")/"
	[[ $INTERRUPTED == 1 && $rc == 0 ]] || exit "$rc"
	exit 0
}
on_signal() {
	trap '' INT TERM # Ctrl-C reaches us more than once (go tool forwards it to task as well)
	INTERRUPTED=1
	exit 0 # runs cleanup (the EXIT trap)
}
trap cleanup EXIT
trap on_signal INT TERM

"$ROOT/scripts/services.sh" up --record "$RECORD"

say "dev: building .dev/bin/lantern..."
go build -o "$DEV/bin/lantern" ./cmd/lantern
LANTERN="$DEV/bin/lantern"

say "dev: applying migrations..."
"$LANTERN" migrate up
"$LANTERN" admin demo --key-file "$DEV/demo-key"

say "dev: starting lantern dev (API + worker); Ctrl-C stops it and the services this run started"
"$LANTERN" dev &
LANTERN_PID=$!
# A trapped signal interrupts `wait`; on_signal then exits through cleanup.
rc=0
wait "$LANTERN_PID" || rc=$?
LANTERN_PID=""
say "dev: lantern exited with status $rc"
exit "$rc"
