# Shared helpers for scripts/services.sh and scripts/dev.sh; source it, do not run it.
#
# Every address, port and credential comes from the same LANTERN_* variables the binary reads
# (run `go run ./cmd/lantern config` for the list), with the same defaults.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEV="$ROOT/.dev"
LOGS="$DEV/logs"
RUN="$DEV/run"
TOOLS="$ROOT/scripts/tools.sh"

: "${LANTERN_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/lantern?sslmode=disable}"
: "${LANTERN_TEMPORAL_ADDRESS:=127.0.0.1:7233}"
: "${LANTERN_TEMPORAL_NAMESPACE:=default}"
: "${LANTERN_TEMPORAL_UI_URL:=http://127.0.0.1:8233}"
: "${LANTERN_S3_ENDPOINT:=127.0.0.1:7070}"
: "${LANTERN_S3_ACCESS_KEY:=lantern}"
: "${LANTERN_S3_SECRET_KEY:=lantern-dev-secret}"
: "${LANTERN_S3_REGION:=us-east-1}"

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() {
	printf '%s: %s\n' "$(basename "$0")" "$*" >&2
	exit 1
}

# split_hostport ADDR: sets HP_HOST and HP_PORT from host:port, [v6]:port or scheme://host:port/...
split_hostport() {
	local a=$1 default_port=${2:-}
	a=${a#*://}
	a=${a%%/*}
	if [[ $a =~ ^\[([^]]*)\](:([0-9]+))?$ ]]; then
		HP_HOST=${BASH_REMATCH[1]}
		HP_PORT=${BASH_REMATCH[3]:-$default_port}
	elif [[ $a == *:* && $a != *:*:* ]]; then
		HP_HOST=${a%:*}
		HP_PORT=${a##*:}
	else
		HP_HOST=$a
		HP_PORT=$default_port
	fi
	[[ -n $HP_HOST ]] || HP_HOST=127.0.0.1
}

urldecode() {
	local s=${1//+/ }
	printf '%b' "${s//%/\\x}"
}

# parse_db_url: sets PG_HOST PG_PORT PG_USER PG_PASSWORD PG_DB PG_SSLMODE from LANTERN_DATABASE_URL.
parse_db_url() {
	local url=$LANTERN_DATABASE_URL rest query="" userinfo="" kv
	[[ $url =~ ^postgres(ql)?:// ]] || die "LANTERN_DATABASE_URL must be a postgres:// URL, got '$url'"
	rest=${url#*://}
	if [[ $rest == *\?* ]]; then
		query=${rest#*\?}
		rest=${rest%%\?*}
	fi
	PG_DB=""
	if [[ $rest == */* ]]; then
		PG_DB=$(urldecode "${rest#*/}")
		rest=${rest%%/*}
	fi
	if [[ $rest == *@* ]]; then
		userinfo=${rest%@*}
		rest=${rest##*@}
	fi
	PG_USER=$(urldecode "${userinfo%%:*}")
	PG_PASSWORD=""
	[[ $userinfo == *:* ]] && PG_PASSWORD=$(urldecode "${userinfo#*:}")
	split_hostport "$rest" 5432
	PG_HOST=$HP_HOST
	PG_PORT=$HP_PORT
	PG_SSLMODE=""
	local IFS='&'
	for kv in $query; do
		[[ $kv == sslmode=* ]] && PG_SSLMODE=${kv#sslmode=}
	done
	: "${PG_USER:=postgres}"
	: "${PG_DB:=$PG_USER}"
}

# is_local HOST: whether a server for HOST could be started on this machine.
is_local() {
	case "$1" in
	127.* | localhost | ::1 | 0.0.0.0 | "" | "$(hostname 2>/dev/null)") return 0 ;;
	*) return 1 ;;
	esac
}

# listening HOST PORT: whether something accepts TCP connections there.
listening() {
	local host=$1 port=$2
	[[ $host == 0.0.0.0 ]] && host=127.0.0.1
	if command -v timeout >/dev/null; then
		timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
	else
		bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
	fi
}

# wait_port NAME HOST PORT TIMEOUT LOG [PID]: wait until HOST:PORT accepts connections; fail with
# a pointer at LOG when it does not within TIMEOUT seconds or when PID exits first.
wait_port() {
	local name=$1 host=$2 port=$3 timeout=$4 log=$5 pid=${6:-} i
	for ((i = 0; i < timeout * 4; i++)); do
		listening "$host" "$port" && return 0
		if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			warn "$name exited before it listened on $host:$port; last lines of $log:"
			tail -n 20 "$log" >&2 2>/dev/null || true
			return 1
		fi
		sleep 0.25
	done
	warn "$name did not listen on $host:$port within ${timeout}s; see $log"
	tail -n 20 "$log" >&2 2>/dev/null || true
	return 1
}

# relpath PATH: PATH relative to the repository root, for messages.
relpath() { printf '%s' "${1#"$ROOT"/}"; }
