#!/usr/bin/env bash
# ci/demo.sh: the main job. Builds mailharness, starts the local Dovecot and Postfix, runs the
# shipped SMTP, IMAP and POP3 suites against them (STARTTLS and implicit TLS), writes
# reports/<proto>.json and reports/<proto>.xml, prints the verdict tables and stops the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash ci/deps.sh
build=${MH_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMH_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)"
mh=$build/mailharness

export MH_SERVER_DIR=${MH_SERVER_DIR:-/tmp/mailharness-servers}
bash ci/servers/start.sh --fresh
trap 'bash ci/servers/stop.sh >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$MH_SERVER_DIR/env"

mkdir -p reports
common=(--user "$MH_USER1" --password-file "$MH_PASSFILE1" --param "rcpt=$MH_USER1@$MH_DOMAIN"
	--param "user2=$MH_USER2" --param "password2_file=$MH_PASSFILE2" --jobs 2)
worst=0
run() {
	local proto=$1
	shift
	local baseline=()
	[ -f "ci/baseline/$proto.json" ] && baseline=(--baseline "ci/baseline/$proto.json")
	echo
	echo "=================== $proto ==================="
	set +e
	"$mh" run "$@" "${common[@]}" "${baseline[@]}" --report "reports/$proto.json" \
		--junit "reports/$proto.xml"
	local st=$?
	set -e
	echo "-> $proto: exit status $st; reports/$proto.json, reports/$proto.xml"
	((st > worst)) && worst=$st
	return 0
}
run smtp --target "smtp://127.0.0.1:$MH_SMTP_PORT?starttls" --target "smtps://127.0.0.1:$MH_SMTPS_PORT"
run imap --target "imap://127.0.0.1:$MH_IMAP_PORT?starttls" --target "imaps://127.0.0.1:$MH_IMAPS_PORT"
run pop3 --target "pop3://127.0.0.1:$MH_POP3_PORT?starttls" --target "pop3s://127.0.0.1:$MH_POP3S_PORT"
echo
echo "demo finished: worst exit status $worst (0 all required checks pass, 1 conformance failures, 2 errors)"
[ "$worst" -lt 2 ]
