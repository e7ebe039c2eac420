#!/usr/bin/env bash
# Show the state and ports of the local Dovecot/Postfix test servers; exit 0 iff all requested are up.
# Usage: ci/servers/status.sh [dovecot|postfix|all]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mh_parse_targets "$@"
mh_load_env

port_label() {
    case "$1" in
        "$MH_SMTP_PORT") echo smtp ;;
        "$MH_SMTPS_PORT") echo smtps ;;
        "$MH_SUBMISSION_PORT") echo submission ;;
        "$MH_IMAP_PORT") echo imap ;;
        "$MH_IMAPS_PORT") echo imaps ;;
        "$MH_POP3_PORT") echo pop3 ;;
        "$MH_POP3S_PORT") echo pop3s ;;
    esac
}

rc=0
printf 'runtime dir: %s\n' "$MH_SERVER_DIR"
for name in $MH_TARGETS; do
    ports=""
    closed=0
    while read -r port; do
        if mh_port_open "$port"; then
            ports="$ports $(port_label "$port")=$MH_HOST:$port(open)"
        else
            ports="$ports $(port_label "$port")=$MH_HOST:$port(closed)"
            closed=1
        fi
    done < <(mh_ports "$name")
    if mh_running "$name"; then
        if [ "$closed" = 1 ]; then
            printf '%-8s DEGRADED (pid %s, some ports closed)%s\n' "$name" "$(mh_read_pid "$name")" "$ports"
            rc=1
        else
            printf '%-8s running (pid %s)%s\n' "$name" "$(mh_read_pid "$name")" "$ports"
        fi
    else
        printf '%-8s stopped%s\n' "$name" "$ports"
        rc=1
    fi
done
exit "$rc"
