# Shared settings and helpers for the local Dovecot/Postfix test servers (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034 # variables are used by the scripts that source this file

# ---- layout -----------------------------------------------------------------
MH_SERVER_DIR="${MH_SERVER_DIR:-/tmp/mailharness-servers}"
MH_SERVERS_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MH_TEMPLATE_DIR="$MH_SERVERS_SRC/templates"

MH_HOST=127.0.0.1
MH_DOMAIN=example.test
MH_HOSTNAME=mx.example.test

MH_SMTP_PORT="${MH_SMTP_PORT:-10025}"
MH_SMTPS_PORT="${MH_SMTPS_PORT:-10465}"
MH_SUBMISSION_PORT="${MH_SUBMISSION_PORT:-10587}"
MH_IMAP_PORT="${MH_IMAP_PORT:-10143}"
MH_IMAPS_PORT="${MH_IMAPS_PORT:-10993}"
MH_POP3_PORT="${MH_POP3_PORT:-10110}"
MH_POP3S_PORT="${MH_POP3S_PORT:-10995}"

MH_USER1=alice
MH_USER2=bob
MH_PASSWORD1=alice-secret-1
MH_PASSWORD2=bob-secret-2

# Unix account owning the maildirs (used by Postfix virtual(8) and Dovecot).
MH_VMAIL_USER=mhvmail

MH_LOG_DIR="$MH_SERVER_DIR/log"
MH_TLS_DIR="$MH_SERVER_DIR/tls"
MH_CERT="$MH_TLS_DIR/cert.pem"
MH_KEY="$MH_TLS_DIR/key.pem"
MH_MAIL_DIR="$MH_SERVER_DIR/mail"
MH_MAILDIR1="$MH_MAIL_DIR/$MH_USER1/Maildir"
MH_MAILDIR2="$MH_MAIL_DIR/$MH_USER2/Maildir"
MH_PASSFILE1="$MH_SERVER_DIR/$MH_USER1.pass"
MH_PASSFILE2="$MH_SERVER_DIR/$MH_USER2.pass"

MH_DOVECOT_DIR="$MH_SERVER_DIR/dovecot"
MH_DOVECOT_CONF="$MH_DOVECOT_DIR/dovecot.conf"
MH_DOVECOT_BASE="$MH_DOVECOT_DIR/run"
MH_DOVECOT_STATE="$MH_DOVECOT_DIR/state"
MH_DOVECOT_USERS="$MH_DOVECOT_DIR/users"
MH_DOVECOT_PIDFILE="$MH_DOVECOT_BASE/master.pid"
MH_DOVECOT_LOG="$MH_LOG_DIR/dovecot.log"

MH_POSTFIX_CONF_DIR="$MH_SERVER_DIR/postfix"
MH_POSTFIX_QUEUE="$MH_SERVER_DIR/postfix-spool"
MH_POSTFIX_DATA="$MH_SERVER_DIR/postfix-data"
MH_POSTFIX_PIDFILE="$MH_POSTFIX_QUEUE/pid/master.pid"
MH_POSTFIX_LOG="$MH_LOG_DIR/postfix.log"
# Dovecot creates this socket; Postfix smtpd uses it as smtpd_sasl_path = private/auth.
MH_SASL_SOCKET="$MH_POSTFIX_QUEUE/private/auth"

MH_START_TIMEOUT="${MH_START_TIMEOUT:-30}"
MH_STOP_TIMEOUT="${MH_STOP_TIMEOUT:-15}"

# ---- messages -----------------------------------------------------------------
mh_info() { printf '[mh-servers] %s\n' "$*"; }
mh_warn() { printf '[mh-servers] WARNING: %s\n' "$*" >&2; }
mh_die() { printf '[mh-servers] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- argument parsing -----------------------------------------------------------
# mh_parse_targets ARG... : sets MH_TARGETS to "dovecot", "postfix" or "dovecot postfix"
# (Dovecot first: Postfix needs Dovecot's SASL socket). Other flags are left to the caller.
mh_parse_targets() {
    local want_d=0 want_p=0 arg
    for arg in "$@"; do
        case "$arg" in
            dovecot) want_d=1 ;;
            postfix) want_p=1 ;;
            all) want_d=1; want_p=1 ;;
            *) mh_die "unknown server '$arg' (expected dovecot, postfix or all)" ;;
        esac
    done
    if [ "$want_d" = 0 ] && [ "$want_p" = 0 ]; then want_d=1; want_p=1; fi
    MH_TARGETS=""
    if [ "$want_d" = 1 ]; then MH_TARGETS="dovecot"; fi
    if [ "$want_p" = 1 ]; then MH_TARGETS="${MH_TARGETS:+$MH_TARGETS }postfix"; fi
}

# ---- processes ------------------------------------------------------------------------
# mh_pidfile NAME
mh_pidfile() {
    case "$1" in
        dovecot) printf '%s\n' "$MH_DOVECOT_PIDFILE" ;;
        postfix) printf '%s\n' "$MH_POSTFIX_PIDFILE" ;;
        *) mh_die "unknown server '$1'" ;;
    esac
}

# mh_read_pid NAME : prints the pid recorded in the pid file (empty if none/invalid).
mh_read_pid() {
    local f pid=""
    f="$(mh_pidfile "$1")"
    if [ -r "$f" ]; then
        pid="$(tr -dc '0-9' <"$f" | head -c 10)"
    fi
    printf '%s\n' "$pid"
}

mh_pid_alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null
}

# mh_running NAME : true iff the pid file names a live process that is really that server.
mh_running() {
    local pid comm
    pid="$(mh_read_pid "$1")"
    mh_pid_alive "$pid" || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    case "$1" in
        dovecot) [ "$comm" = dovecot ] ;;
        postfix) [ "$comm" = master ] ;;
    esac
}

# mh_ports NAME : the TCP ports a server listens on.
mh_ports() {
    case "$1" in
        dovecot) printf '%s\n' "$MH_IMAP_PORT" "$MH_IMAPS_PORT" "$MH_POP3_PORT" "$MH_POP3S_PORT" ;;
        postfix) printf '%s\n' "$MH_SMTP_PORT" "$MH_SMTPS_PORT" "$MH_SUBMISSION_PORT" ;;
    esac
}

# mh_port_open PORT : true iff something accepts TCP connections on 127.0.0.1:PORT.
mh_port_open() {
    # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$MH_HOST" "$1" 2>/dev/null
}

# mh_wait_ports NAME : wait (bounded) until all ports of NAME accept connections.
mh_wait_ports() {
    local name="$1" deadline port missing
    deadline=$((SECONDS + MH_START_TIMEOUT))
    while :; do
        missing=""
        while read -r port; do
            mh_port_open "$port" || missing="$missing $port"
        done < <(mh_ports "$name")
        [ -z "$missing" ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            mh_warn "$name: ports not accepting connections after ${MH_START_TIMEOUT}s:$missing"
            return 1
        fi
        sleep 0.2
    done
}

# mh_log_tail NAME : print the end of a server's log to stderr.
mh_log_tail() {
    local log
    case "$1" in
        dovecot) log="$MH_DOVECOT_LOG" ;;
        postfix) log="$MH_POSTFIX_LOG" ;;
    esac
    if [ -f "$log" ]; then
        printf -- '----- last lines of %s -----\n' "$log" >&2
        tail -n 30 "$log" >&2 || true
        printf -- '-----\n' >&2
    else
        printf '(no log file %s)\n' "$log" >&2
    fi
}

# mh_load_env : if a previous start wrote $MH_SERVER_DIR/env, take ports from it
# (so stop/status see the ports the servers were really started with).
mh_load_env() {
    local f="$MH_SERVER_DIR/env" k v
    [ -r "$f" ] || return 0
    while IFS='=' read -r k v; do
        case "$k" in
            MH_SMTP_PORT|MH_SMTPS_PORT|MH_SUBMISSION_PORT|MH_IMAP_PORT|MH_IMAPS_PORT|MH_POP3_PORT|MH_POP3S_PORT)
                [[ "$v" =~ ^[0-9]+$ ]] && printf -v "$k" '%s' "$v" ;;
        esac
    done <"$f"
}
