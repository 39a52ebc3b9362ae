#!/usr/bin/env bash
# The services Lantern needs locally: Postgres, the Temporal dev server and an S3 gateway
# (versitygw). Addresses and credentials come from the LANTERN_* variables.
#
#   scripts/services.sh up [--record FILE] [NAME...]  start whatever is not already listening
#   scripts/services.sh down [NAME...]                stop what this script started
#   scripts/services.sh status                        say what listens and who started it
#
# NAME is postgres, temporal or versitygw (default: all three). `up postgres` also creates the
# database LANTERN_DATABASE_URL names when it is missing.
#
# Only services this script started are ever stopped: a server that was already listening
# (the machine's Postgres, a Temporal someone else runs) is used and left alone. What it started
# is remembered under .dev/run/ (NAME.pid, or postgres.started for a Postgres cluster), with logs
# in .dev/logs/NAME.log and data in .dev/temporal, .dev/s3 (and .dev/postgres when it had to
# create a cluster). `up --record FILE` also appends the names it started to FILE, so that a
# caller (scripts/dev.sh) can stop exactly those.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(postgres temporal versitygw)
STARTED=()
RECORD=""

lock() {
	mkdir -p "$RUN" "$LOGS"
	if command -v flock >/dev/null; then
		exec {LOCKFD}>"$RUN/services.lock"
		flock "$LOCKFD"
	fi
}

# nolock CMD...: run CMD without the services lock, for commands that leave daemons behind
# (pg_ctl, pg_ctlcluster): a daemon that inherited the lock would hold it for its lifetime.
nolock() {
	if [[ -n ${LOCKFD:-} ]]; then
		"$@" {LOCKFD}>&-
	else
		"$@"
	fi
}

# started NAME: note that this run started NAME (and tell the --record file at once, so that a
# caller interrupted while NAME is still starting can still stop it).
started() {
	STARTED+=("$1")
	[[ -z $RECORD ]] || echo "$1" >>"$RECORD"
}

# our_pid NAME: prints the pid recorded for NAME when that process is alive and is still NAME.
our_pid() {
	local name=$1 f="$RUN/$1.pid" pid cmd
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || ps -o args= -p "$pid" 2>/dev/null || true)
		if [[ $cmd == *"$name"* ]]; then
			echo "$pid"
			return 0
		fi
	fi
	rm -f "$f" # stale: the process is gone (or the pid now belongs to something else)
	return 1
}

# spawn NAME LOG CMD...: start CMD in its own session (so Ctrl-C in the terminal that started it
# does not reach it), detached from the caller's stdio, and record its pid.
spawn() {
	local name=$1 log=$2
	shift 2
	{
		echo
		echo "=== $(date -u +%FT%TZ) services.sh starting $name: $*"
	} >>"$log"
	local detach=nohup
	command -v setsid >/dev/null && detach=setsid
	(
		# The daemon must not inherit the services lock, or it would hold it for its lifetime.
		[[ -z ${LOCKFD:-} ]] || exec {LOCKFD}>&-
		exec "$detach" "$@" </dev/null >>"$log" 2>&1
	) &
	SPAWNED=$!
	echo "$SPAWNED" >"$RUN/$name.pid"
}

# ---------------------------------------------------------------------------------- postgres

# find_pg_bin NAME: the PostgreSQL program NAME, from PATH or the newest /usr/lib/postgresql/*/bin.
find_pg_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[[ -x $d/$1 ]] && { echo "$d/$1"; return 0; }
	done
	command -v "$1" 2>/dev/null
}

# debian_cluster PORT: "VERSION NAME" of the Debian cluster (pg_ctlcluster) configured for PORT.
debian_cluster() {
	local want=$1 conf ver name port best=""
	for conf in $(ls /etc/postgresql/*/*/postgresql.conf 2>/dev/null | sort -V); do
		name=$(basename "$(dirname "$conf")")
		ver=$(basename "$(dirname "$(dirname "$conf")")")
		port=$(sed -n 's/^[[:space:]]*port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$conf" | tail -n 1)
		[[ ${port:-5432} == "$want" ]] && best="$ver $name"
	done
	[[ -n $best ]] && echo "$best"
}

pg_as_owner() {
	# initdb and postgres refuse to run as root: run them as the postgres user then.
	if [[ $(id -u) == 0 ]]; then
		getent passwd postgres >/dev/null || die "running as root and there is no 'postgres' user to run initdb/pg_ctl as"
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

postgres_up() {
	parse_db_url
	local addr="$PG_HOST:$PG_PORT" log="$LOGS/postgres.log"
	if listening "$PG_HOST" "$PG_PORT"; then
		if [[ -f $RUN/postgres.started ]]; then
			say "postgres   already running on $addr (started by services.sh)"
		else
			say "postgres   already listening on $addr (not started here; left alone)"
		fi
		return 0
	fi
	rm -f "$RUN/postgres.started"
	is_local "$PG_HOST" || die "nothing listens on $addr and it is not this machine: check LANTERN_DATABASE_URL"

	local cluster pg_ctl initdb data
	if command -v pg_ctlcluster >/dev/null && cluster=$(debian_cluster "$PG_PORT"); then
		say "postgres   starting cluster $cluster with pg_ctlcluster..."
		# shellcheck disable=SC2086
		nolock pg_ctlcluster --skip-systemctl-redirect $cluster start >>"$log" 2>&1 ||
			{ tail -n 20 "$log" >&2; die "pg_ctlcluster $cluster start failed; see $(relpath "$log") (LANTERN_DATABASE_URL=$LANTERN_DATABASE_URL)"; }
		echo "pg_ctlcluster $cluster" >"$RUN/postgres.started"
		started postgres
		wait_port postgres "$PG_HOST" "$PG_PORT" 60 "$log" ||
			die "cluster $cluster started but nothing listens on $addr (LANTERN_DATABASE_URL)"
		say "postgres   started cluster $cluster on $addr"
		return 0
	fi

	pg_ctl=$(find_pg_bin pg_ctl) || pg_ctl=""
	initdb=$(find_pg_bin initdb) || initdb=""
	if [[ -z $pg_ctl || -z $initdb ]]; then
		die "nothing listens on $addr (LANTERN_DATABASE_URL) and neither pg_ctlcluster nor initdb/pg_ctl were found: install PostgreSQL 15+ or point LANTERN_DATABASE_URL at a running server"
	fi
	# Use the pg_ctl that sits next to the initdb we use.
	[[ -x $(dirname "$initdb")/pg_ctl ]] && pg_ctl=$(dirname "$initdb")/pg_ctl
	data="$DEV/postgres"
	if [[ ! -f $data/PG_VERSION ]]; then
		say "postgres   creating a cluster in $(relpath "$data") with $initdb..."
		mkdir -p "$data"
		chmod 700 "$data"
		[[ $(id -u) == 0 ]] && chown postgres: "$data"
		pg_as_owner "$initdb" -D "$data" -U "$PG_USER" -A trust -E UTF8 --no-locale >>"$log" 2>&1 ||
			{ tail -n 20 "$log" >&2; die "initdb failed; see $(relpath "$log")"; }
	fi
	[[ $(id -u) == 0 ]] && chown postgres: "$log"
	local listen=$PG_HOST
	[[ $listen == 0.0.0.0 ]] && listen='*'
	say "postgres   starting $(relpath "$data") on $addr with $pg_ctl..."
	nolock pg_as_owner "$pg_ctl" -D "$data" -l "$log" -w -t 60 \
		-o "-p $PG_PORT -c listen_addresses='$listen' -c unix_socket_directories=''" start >/dev/null ||
		{ tail -n 20 "$log" >&2; die "pg_ctl start failed; see $(relpath "$log")"; }
	echo "pg_ctl $pg_ctl $data" >"$RUN/postgres.started"
	started postgres
	wait_port postgres "$PG_HOST" "$PG_PORT" 30 "$log" || die "Postgres did not come up on $addr (LANTERN_DATABASE_URL)"
	say "postgres   started $(relpath "$data") on $addr"
}

postgres_down() {
	local f="$RUN/postgres.started" how a b c
	if [[ ! -f $f ]]; then
		say "postgres   not started by services.sh; left alone"
		return 0
	fi
	read -r how a b c <"$f"
	case "$how" in
	pg_ctlcluster)
		say "postgres   stopping cluster $a $b..."
		pg_ctlcluster --skip-systemctl-redirect "$a" "$b" stop >>"$LOGS/postgres.log" 2>&1 ||
			warn "pg_ctlcluster $a $b stop failed (already stopped?)"
		;;
	pg_ctl)
		say "postgres   stopping $(relpath "$b")..."
		pg_as_owner "$a" -D "$b" -m fast -w stop >/dev/null 2>&1 || warn "pg_ctl stop failed (already stopped?)"
		;;
	esac
	rm -f "$f"
}

# Create the database LANTERN_DATABASE_URL names when it does not exist yet.
create_db() {
	parse_db_url
	local psql createdb
	psql=$(command -v psql || find_pg_bin psql) || psql=""
	if [[ -z $psql ]]; then
		warn "database   psql not found; cannot check that database '$PG_DB' exists (create it yourself if lantern says so)"
		return 0
	fi
	export PGHOST=$PG_HOST PGPORT=$PG_PORT PGUSER=$PG_USER PGCONNECT_TIMEOUT=10
	[[ -n $PG_PASSWORD ]] && export PGPASSWORD=$PG_PASSWORD
	[[ -n $PG_SSLMODE ]] && export PGSSLMODE=$PG_SSLMODE
	local exists
	exists=$("$psql" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${PG_DB//\'/\'\'}'" 2>&1) ||
		die "cannot query Postgres at $PG_HOST:$PG_PORT as $PG_USER (LANTERN_DATABASE_URL): $exists"
	if [[ $exists == 1 ]]; then
		say "database   $PG_DB exists"
		return 0
	fi
	createdb=$(command -v createdb || find_pg_bin createdb) || createdb=""
	if [[ -n $createdb ]]; then
		"$createdb" "$PG_DB" || die "createdb $PG_DB failed (LANTERN_DATABASE_URL)"
	else
		"$psql" -d postgres -qc "CREATE DATABASE \"${PG_DB//\"/\"\"}\"" || die "CREATE DATABASE $PG_DB failed (LANTERN_DATABASE_URL)"
	fi
	say "database   created $PG_DB"
}

# ---------------------------------------------------------------------------------- temporal

temporal_up() {
	split_hostport "$LANTERN_TEMPORAL_ADDRESS" 7233
	local host=$HP_HOST port=$HP_PORT addr="$HP_HOST:$HP_PORT" log="$LOGS/temporal.log" pid bin
	if listening "$host" "$port"; then
		if pid=$(our_pid temporal); then
			say "temporal   already running on $addr (pid $pid, started by services.sh)"
		else
			say "temporal   already listening on $addr (not started here; left alone)"
		fi
		return 0
	fi
	if pid=$(our_pid temporal); then
		# Ours, alive, but not listening: still starting (another run) or wedged.
		wait_port temporal "$host" "$port" 60 "$log" "$pid" || die "Temporal (pid $pid) is not answering on $addr; run '$0 down temporal' and retry"
		say "temporal   running on $addr (pid $pid, started by services.sh)"
		return 0
	fi
	is_local "$host" || die "nothing listens on $addr and it is not this machine: check LANTERN_TEMPORAL_ADDRESS"
	bin=$("$TOOLS" path temporal)
	split_hostport "$LANTERN_TEMPORAL_UI_URL" 8233
	local ui_port=$HP_PORT args=()
	args+=(--ip "$host" --port "$port" --ui-port "$ui_port")
	[[ $LANTERN_TEMPORAL_NAMESPACE == default ]] || args+=(--namespace "$LANTERN_TEMPORAL_NAMESPACE")
	mkdir -p "$DEV/temporal"
	spawn temporal "$log" "$bin" server start-dev "${args[@]}" \
		--db-filename "$DEV/temporal/temporal.db" --log-level warn
	pid=$SPAWNED
	started temporal
	wait_port temporal "$host" "$port" 90 "$log" "$pid" || {
		stop_pid temporal >/dev/null
		die "Temporal dev server did not start; see $(relpath "$log")"
	}
	say "temporal   started on $addr (pid $pid), UI $LANTERN_TEMPORAL_UI_URL, log $(relpath "$log")"
}

# --------------------------------------------------------------------------------- versitygw

versitygw_up() {
	split_hostport "$LANTERN_S3_ENDPOINT" 7070
	local host=$HP_HOST port=$HP_PORT addr="$HP_HOST:$HP_PORT" log="$LOGS/versitygw.log" pid bin
	if listening "$host" "$port"; then
		if pid=$(our_pid versitygw); then
			say "versitygw  already running on $addr (pid $pid, started by services.sh)"
		else
			say "versitygw  already listening on $addr (not started here; left alone)"
		fi
		return 0
	fi
	if pid=$(our_pid versitygw); then
		wait_port versitygw "$host" "$port" 30 "$log" "$pid" || die "versitygw (pid $pid) is not answering on $addr; run '$0 down versitygw' and retry"
		say "versitygw  running on $addr (pid $pid, started by services.sh)"
		return 0
	fi
	is_local "$host" || die "nothing listens on $addr and it is not this machine: check LANTERN_S3_ENDPOINT"
	bin=$("$TOOLS" path versitygw)
	mkdir -p "$DEV/s3"
	# The credentials go through the environment, not argv, so ps does not show them.
	ROOT_ACCESS_KEY=$LANTERN_S3_ACCESS_KEY ROOT_SECRET_KEY=$LANTERN_S3_SECRET_KEY VGW_REGION=$LANTERN_S3_REGION \
		spawn versitygw "$log" "$bin" --port "$addr" --quiet posix "$DEV/s3"
	pid=$SPAWNED
	started versitygw
	wait_port versitygw "$host" "$port" 30 "$log" "$pid" || {
		stop_pid versitygw >/dev/null
		die "versitygw did not start; see $(relpath "$log")"
	}
	say "versitygw  started on $addr (pid $pid), data $(relpath "$DEV/s3"), log $(relpath "$log")"
}

# stop_pid NAME: stop the daemon recorded in .dev/run/NAME.pid, if it is still ours.
stop_pid() {
	local name=$1 pid i
	if ! pid=$(our_pid "$name"); then
		say "$(printf '%-10s' "$name") not started by services.sh (or already stopped); left alone"
		return 0
	fi
	say "$(printf '%-10s' "$name") stopping pid $pid..."
	# spawn made it a session and process-group leader: signal the group, so children go too.
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 60; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$pid" 2>/dev/null; then
		warn "$name (pid $pid) ignored SIGTERM for 15s; killing it"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$RUN/$name.pid"
}

check_names() {
	local n
	for n in "$@"; do
		[[ " ${SERVICES[*]} " == *" $n "* ]] || die "unknown service '$n' (known: ${SERVICES[*]})"
	done
}

cmd_up() {
	local names=()
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--record)
			[[ $# -ge 2 ]] || die "usage: $0 up [--record FILE] [NAME...]"
			RECORD=$2
			shift 2
			;;
		-*) die "usage: $0 up [--record FILE] [NAME...]" ;;
		*)
			names+=("$1")
			shift
			;;
		esac
	done
	[[ ${#names[@]} -gt 0 ]] || names=("${SERVICES[@]}")
	check_names "${names[@]}"
	lock
	if [[ " ${names[*]} " == *" postgres "* ]]; then
		postgres_up
		create_db
	fi
	[[ " ${names[*]} " != *" temporal "* ]] || temporal_up
	[[ " ${names[*]} " != *" versitygw "* ]] || versitygw_up
	if [[ ${#STARTED[@]} -eq 0 ]]; then
		say "services   already up; nothing to start"
	else
		say "services   started: ${STARTED[*]} (stop them with: go tool task services:down)"
	fi
}

cmd_down() {
	local names=("$@") n
	[[ ${#names[@]} -gt 0 ]] || names=("${SERVICES[@]}")
	check_names "${names[@]}"
	lock
	# Reverse start order.
	for n in versitygw temporal postgres; do
		[[ " ${names[*]} " == *" $n "* ]] || continue
		case "$n" in
		postgres) postgres_down ;;
		*) stop_pid "$n" ;;
		esac
	done
}

cmd_status() {
	local down=0 pid who
	parse_db_url
	if listening "$PG_HOST" "$PG_PORT"; then
		who="not started by services.sh"
		[[ -f $RUN/postgres.started ]] && who="started by services.sh: $(<"$RUN/postgres.started")"
		say "postgres   up    $PG_HOST:$PG_PORT ($who), database $PG_DB"
	else
		say "postgres   DOWN  $PG_HOST:$PG_PORT (LANTERN_DATABASE_URL)"
		down=1
	fi
	local name var default
	for name in temporal versitygw; do
		if [[ $name == temporal ]]; then
			split_hostport "$LANTERN_TEMPORAL_ADDRESS" 7233
			var=LANTERN_TEMPORAL_ADDRESS
		else
			split_hostport "$LANTERN_S3_ENDPOINT" 7070
			var=LANTERN_S3_ENDPOINT
		fi
		who="not started by services.sh"
		pid=$(our_pid "$name") && who="pid $pid, started by services.sh, log $(relpath "$LOGS/$name.log")"
		if listening "$HP_HOST" "$HP_PORT"; then
			say "$(printf '%-10s' "$name") up    $HP_HOST:$HP_PORT ($who)"
		else
			say "$(printf '%-10s' "$name") DOWN  $HP_HOST:$HP_PORT ($var)"
			down=1
		fi
	done
	say "temporal   UI    $LANTERN_TEMPORAL_UI_URL (LANTERN_TEMPORAL_UI_URL)"
	return $down
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
status) shift; cmd_status ;;
*) die "usage: $0 up [--record FILE] [NAME...] | down [NAME...] | status   (NAME: ${SERVICES[*]})" ;;
esac
