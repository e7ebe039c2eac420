#!/usr/bin/env bash
# Stop the local Dovecot/Postfix test servers started by ci/servers/start.sh (by pid file).
# Usage: ci/servers/stop.sh [dovecot|postfix|all]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mh_parse_targets "$@"

# wait_gone TIMEOUT PID... : true iff all PIDs exit within TIMEOUT seconds.
wait_gone() {
    local timeout="$1" deadline p alive
    shift
    deadline=$((SECONDS + timeout))
    while :; do
        alive=""
        for p in "$@"; do
            if mh_pid_alive "$p"; then alive="$alive $p"; fi
        done
        [ -z "$alive" ] && return 0
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# proc_start PID : the process start time from /proc (empty if gone); guards against pid reuse.
proc_start() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    # Field 22 of /proc/PID/stat; after stripping "pid (comm) " it is the 20th.
    # shellcheck disable=SC2086 # split the stat fields
    set -- $stat
    printf '%s\n' "${20}"
}

# signal_children SIG PID:START... : signal those still alive (same start time); print their pids.
signal_children() {
    local sig="$1" p out=""
    shift
    for p in "$@"; do
        if [ "$(proc_start "${p%%:*}")" = "${p#*:}" ]; then
            kill "-$sig" "${p%%:*}" 2>/dev/null || true
            out="$out ${p%%:*}"
        fi
    done
    printf '%s' "$out"
}

# stop_server NAME
stop_server() {
    local name="$1" pid p st children=() left=""
    if ! mh_running "$name"; then
        mh_info "$name is not running"
        return 0
    fi
    pid="$(mh_read_pid "$name")"
    # Remember the master's children (pid:starttime) so none of them is left behind.
    for p in $(ps -o pid= --ppid "$pid" 2>/dev/null || true); do
        st="$(proc_start "$p")"
        if [ -n "$st" ]; then children+=("$p:$st"); fi
    done
    mh_info "stopping $name (pid $pid)"
    case "$name" in
        postfix) postfix -c "$MH_POSTFIX_CONF_DIR" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true ;;
        dovecot) kill -TERM "$pid" 2>/dev/null || true ;;
    esac
    if ! wait_gone "$MH_STOP_TIMEOUT" "$pid"; then
        mh_warn "$name (pid $pid) did not exit after ${MH_STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone 5 "$pid" || mh_die "$name (pid $pid) survived SIGKILL"
    fi
    # Children normally exit with the master. Stragglers (e.g. Dovecot's auth process while
    # Postfix still holds a SASL connection) get SIGTERM, then SIGKILL.
    if [ "${#children[@]}" -gt 0 ] && ! wait_gone 2 "${children[@]%%:*}"; then
        signal_children TERM "${children[@]}" >/dev/null
        if ! wait_gone 3 "${children[@]%%:*}"; then
            left="$(signal_children KILL "${children[@]}")"
            if [ -n "$left" ]; then mh_warn "$name: SIGKILLed leftover child processes:$left"; fi
        fi
    fi
    mh_info "$name stopped"
}

# Postfix first (it uses Dovecot's auth socket), then Dovecot.
for name in postfix dovecot; do
    case " $MH_TARGETS " in
        *" $name "*) stop_server "$name" ;;
    esac
done
