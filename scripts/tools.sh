#!/usr/bin/env bash
# Developer tools, built once into a per-user cache outside the clone so that every clone
# (CI clones afresh each run) reuses them:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/lantern/bin/NAME@VERSION
#
# usage:
#   scripts/tools.sh path NAME    print the tool's path, building it first if it is missing
#   scripts/tools.sh build NAME   build the tool if it is missing
#   scripts/tools.sh all          build every tool that is missing
#   scripts/tools.sh list         print NAME VERSION PACKAGE and whether it is built
#
# NAME is one of: temporal versitygw staticcheck workflowcheck.
#
# A build goes to a temporary GOBIN and is moved into place in one rename, so a killed build
# never leaves a half-written binary, and a lock (flock) makes concurrent runs wait for one
# build instead of each starting their own. Progress goes to stderr; `path` prints only the path.
set -euo pipefail

TOOLS=(temporal versitygw staticcheck workflowcheck)

# tool_spec NAME -> "PACKAGE VERSION"
tool_spec() {
	case "$1" in
	temporal) echo "github.com/temporalio/cli/cmd/temporal v1.5.1" ;;
	versitygw) echo "github.com/versity/versitygw/cmd/versitygw v1.8.0" ;;
	staticcheck) echo "honnef.co/go/tools/cmd/staticcheck v0.8.2" ;;
	# v0.6.0 was the newest release on the module proxy and builds with Go 1.26.
	workflowcheck) echo "go.temporal.io/sdk/contrib/tools/workflowcheck v0.6.0" ;;
	*) return 1 ;;
	esac
}

cache_dir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/lantern/bin"; }

die() { echo "tools.sh: $*" >&2; exit 1; }

spec_or_die() {
	tool_spec "$1" || die "unknown tool '$1' (known: ${TOOLS[*]})"
}

tool_path() {
	local spec pkg version
	spec=$(spec_or_die "$1")
	read -r pkg version <<<"$spec"
	echo "$(cache_dir)/$1@$version"
}

build() {
	local name=$1 spec pkg version dir bin tmp lockfd
	spec=$(spec_or_die "$name")
	read -r pkg version <<<"$spec"
	dir=$(cache_dir)
	bin="$dir/$name@$version"
	[[ -x $bin ]] && return 0
	command -v go >/dev/null || die "go is not on PATH; it is needed to build $name"
	mkdir -p "$dir"
	if command -v flock >/dev/null; then
		exec {lockfd}>"$dir/.$name@$version.lock"
		if ! flock -n "$lockfd"; then
			echo "tools.sh: waiting for another build of $name@$version to finish..." >&2
			flock "$lockfd"
		fi
		# Another run may have finished the build while we waited.
		if [[ -x $bin ]]; then
			exec {lockfd}>&-
			return 0
		fi
	fi
	echo "tools.sh: building $name@$version into $dir (once per machine; can take a few minutes)..." >&2
	tmp=$(mktemp -d "$dir/.build-$name.XXXXXX")
	# Build outside the clone so the project's go.mod/go.work play no part, and with the
	# machine's Go toolchain rather than whatever the tool's go.mod might ask for.
	if (cd "$tmp" && GOBIN="$tmp" GOWORK=off GOFLAGS="${GOFLAGS:-} -trimpath" \
		go install "$pkg@$version" >"$tmp/build.log" 2>&1); then
		mv -f "$tmp/$(basename "$pkg")" "$bin"
		rm -rf "$tmp"
		echo "tools.sh: built $bin" >&2
	else
		local rc=$?
		tail -n 30 "$tmp/build.log" >&2 || true
		rm -rf "$tmp"
		echo "tools.sh: building $name@$version failed (go install exit $rc)" >&2
		return 1
	fi
	[[ -n ${lockfd:-} ]] && exec {lockfd}>&-
	return 0
}

cmd=${1:-}
case "$cmd" in
path)
	[[ $# -eq 2 ]] || die "usage: $0 path NAME"
	build "$2"
	tool_path "$2"
	;;
build)
	[[ $# -ge 2 ]] || die "usage: $0 build NAME..."
	shift
	for t in "$@"; do build "$t"; done
	;;
all)
	failed=()
	for t in "${TOOLS[@]}"; do
		build "$t" || failed+=("$t")
	done
	for t in "${TOOLS[@]}"; do
		[[ -x $(tool_path "$t") ]] && echo "$(tool_path "$t")"
	done
	[[ ${#failed[@]} -eq 0 ]] || die "could not build: ${failed[*]}"
	;;
list)
	for t in "${TOOLS[@]}"; do
		read -r pkg version <<<"$(tool_spec "$t")"
		p=$(tool_path "$t")
		state=missing
		[[ -x $p ]] && state=built
		printf '%-14s %-8s %-55s %s\n' "$t" "$version" "$pkg" "$state"
	done
	;;
*)
	die "usage: $0 path NAME | build NAME... | all | list   (NAME: ${TOOLS[*]})"
	;;
esac
