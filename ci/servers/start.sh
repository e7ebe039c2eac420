#!/usr/bin/env bash
# Start local Dovecot (IMAP/POP3) and/or Postfix (SMTP) test servers under $MH_SERVER_DIR.
# Usage: ci/servers/start.sh [--fresh] [dovecot|postfix|all]   (MH_FRESH=1 == --fresh)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
    sed -n '2,3p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

fresh="${MH_FRESH:-0}"
args=()
for a in "$@"; do
    case "$a" in
        --fresh) fresh=1 ;;
        -h|--help) usage; exit 0 ;;
        *) args+=("$a") ;;
    esac
done
mh_parse_targets "${args[@]+"${args[@]}"}"

[ "$(id -u)" = 0 ] || mh_die "must run as root (Dovecot and Postfix drop privileges themselves)"
for bin in dovecot doveconf postfix postconf openssl useradd; do
    command -v "$bin" >/dev/null || mh_die "'$bin' not found (apt-get install dovecot-imapd dovecot-pop3d postfix openssl)"
done
case "$MH_SERVER_DIR" in
    /?*) ;;
    *) mh_die "MH_SERVER_DIR must be an absolute path (got '$MH_SERVER_DIR')" ;;
esac

MARKER="$MH_SERVER_DIR/.mailharness-servers"

# ---- --fresh: stop everything and wipe the runtime dir ---------------------------
if [ "$fresh" = 1 ] && [ -e "$MH_SERVER_DIR" ]; then
    [ -f "$MARKER" ] || mh_die "refusing to wipe $MH_SERVER_DIR: no $MARKER (not created by start.sh)"
    "$MH_SERVERS_SRC/stop.sh" all
    mh_info "--fresh: removing $MH_SERVER_DIR"
    rm -rf -- "$MH_SERVER_DIR"
fi

# ---- already running? -----------------------------------------------------------------
to_start=""
for name in $MH_TARGETS; do
    if mh_running "$name"; then
        mh_info "$name already running (pid $(mh_read_pid "$name"))"
    else
        to_start="${to_start:+$to_start }$name"
    fi
done
if [ -z "$to_start" ]; then
    mh_info "nothing to start; environment in $MH_SERVER_DIR/env"
    exit 0
fi

# ---- runtime directory, account, certificate, users, maildirs ------------------------------
umask 022
mkdir -p "$MH_SERVER_DIR" "$MH_LOG_DIR" "$MH_TLS_DIR" "$MH_MAIL_DIR" "$MH_DOVECOT_DIR" \
    "$MH_POSTFIX_CONF_DIR" "$MH_POSTFIX_DATA"
chmod 755 "$MH_SERVER_DIR"
touch "$MARKER"

if ! getent passwd "$MH_VMAIL_USER" >/dev/null; then
    mh_info "creating system user $MH_VMAIL_USER (owner of the test maildirs)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "mailharness virtual mail" "$MH_VMAIL_USER"
fi
MH_VMAIL_UID="$(id -u "$MH_VMAIL_USER")"
MH_VMAIL_GID="$(id -g "$MH_VMAIL_USER")"

if [ ! -s "$MH_CERT" ] || [ ! -s "$MH_KEY" ]; then
    mh_info "creating self-signed certificate $MH_CERT"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$MH_KEY" -out "$MH_CERT" 2>"$MH_TLS_DIR/openssl.err" \
        || { cat "$MH_TLS_DIR/openssl.err" >&2; mh_die "openssl req failed"; }
    rm -f "$MH_TLS_DIR/openssl.err"
fi
chmod 600 "$MH_KEY"
chmod 644 "$MH_CERT"

# Password files for the tests (password only, mode 600).
(umask 077
 printf '%s' "$MH_PASSWORD1" >"$MH_PASSFILE1"
 printf '%s' "$MH_PASSWORD2" >"$MH_PASSFILE2")
chmod 600 "$MH_PASSFILE1" "$MH_PASSFILE2"

# Dovecot passwd-file: user:{PLAIN}password:uid:gid::home::
{
    printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$MH_USER1" "$MH_PASSWORD1" "$MH_VMAIL_UID" "$MH_VMAIL_GID" "$MH_MAIL_DIR/$MH_USER1"
    printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$MH_USER2" "$MH_PASSWORD2" "$MH_VMAIL_UID" "$MH_VMAIL_GID" "$MH_MAIL_DIR/$MH_USER2"
} >"$MH_DOVECOT_USERS.tmp"
chown root:dovecot "$MH_DOVECOT_USERS.tmp"
chmod 640 "$MH_DOVECOT_USERS.tmp"
mv -f "$MH_DOVECOT_USERS.tmp" "$MH_DOVECOT_USERS"

# seed_message USER N : prints seed message N (1..3) for USER on stdout.
seed_message() {
    local user="$1" n="$2" other
    if [ "$user" = "$MH_USER1" ]; then other="$MH_USER2"; else other="$MH_USER1"; fi
    case "$n" in
        1) cat <<EOF
Return-Path: <carol@example.org>
Received: from client.example.org (client.example.org [192.0.2.10])
	by $MH_HOSTNAME (Postfix) with ESMTP id SEED1$user
	for <$user@$MH_DOMAIN>; Mon, 01 Jan 2024 10:00:00 +0000 (UTC)
Date: Mon, 01 Jan 2024 10:00:00 +0000
From: Carol Sender <carol@example.org>
To: ${user^} <$user@$MH_DOMAIN>
Cc: ${other^} <$other@$MH_DOMAIN>
Reply-To: carol+replies@example.org
Subject: Seed 1: plain text message with several header fields
Message-ID: <seed1.$user@mailharness.example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit
X-Mailharness-Seed: 1

Hello ${user^},

this is seed message 1 of the mailharness test servers.
It is a single-part text/plain message with a handful of header fields.

Regards,
Carol
EOF
        ;;
        2) cat <<EOF
Date: Tue, 02 Jan 2024 11:30:00 +0000
From: Dave Dots <dave@example.org>
To: $user@$MH_DOMAIN
Subject: Seed 2: lines beginning with dots (POP3/SMTP dot-stuffing)
Message-ID: <seed2.$user@mailharness.example.test>
X-Mailharness-Seed: 2

The next lines start with a period and must be dot-stuffed on the wire:
.leading dot line
..two leading dots
.
The line above consisted of a single dot.
...and this one starts with an ellipsis.
End of seed 2.
EOF
        ;;
        3) cat <<EOF
Date: Wed, 03 Jan 2024 12:45:00 +0000
From: erin@example.org
To: $user@$MH_DOMAIN
Subject: Seed 3: short
Message-ID: <seed3.$user@mailharness.example.test>

Short body.
EOF
        ;;
    esac
}

# seed_maildir USER : create USER's Maildir with 3 messages (only if it does not exist yet).
seed_maildir() {
    local user="$1" home md n f
    home="$MH_MAIL_DIR/$user"
    md="$home/Maildir"
    if [ -d "$md" ]; then
        return 0
    fi
    mh_info "seeding $md with 3 messages"
    mkdir -p "$md/cur" "$md/new" "$md/tmp"
    for n in 1 2 3; do
        f="$md/new/170409$((5999 + n * 1000)).M${n}P1000Q${n}.$MH_HOSTNAME"
        seed_message "$user" "$n" >"$f"
        touch -d "2024-01-0$n 12:00:00 UTC" "$f"
    done
    chown -R "$MH_VMAIL_UID:$MH_VMAIL_GID" "$home"
    chmod 700 "$home" "$md" "$md/cur" "$md/new" "$md/tmp"
    chmod 600 "$md"/new/*
}
chown "$MH_VMAIL_UID:$MH_VMAIL_GID" "$MH_MAIL_DIR"
chmod 750 "$MH_MAIL_DIR"
seed_maildir "$MH_USER1"
seed_maildir "$MH_USER2"

# ---- config rendering --------------------------------------------------------------------------
RENDER_KEYS=(MH_HOST MH_DOMAIN MH_HOSTNAME MH_SMTP_PORT MH_SMTPS_PORT MH_SUBMISSION_PORT
    MH_IMAP_PORT MH_IMAPS_PORT MH_POP3_PORT MH_POP3S_PORT MH_USER1 MH_USER2 MH_VMAIL_USER
    MH_VMAIL_UID MH_VMAIL_GID MH_CERT MH_KEY MH_MAIL_DIR MH_DOVECOT_BASE MH_DOVECOT_STATE
    MH_DOVECOT_LOG MH_DOVECOT_USERS MH_SASL_SOCKET MH_POSTFIX_CONF_DIR MH_POSTFIX_QUEUE
    MH_POSTFIX_DATA MH_POSTFIX_LOG MH_LOG_DIR)

# render TEMPLATE OUTPUT : replace @KEY@ for every key in RENDER_KEYS.
render() {
    local text key
    text="$(cat "$MH_TEMPLATE_DIR/$1")"
    for key in "${RENDER_KEYS[@]}"; do
        text="${text//@$key@/${!key}}"
    done
    if [[ "$text" =~ @MH_[A-Z0-9_]+@ ]]; then
        mh_die "template $1: unreplaced placeholder ${BASH_REMATCH[0]}"
    fi
    printf '%s\n' "$text" >"$2.tmp"
    mv -f "$2.tmp" "$2"
}

check_ports_free() {
    local name="$1" port busy=""
    while read -r port; do
        if mh_port_open "$port"; then busy="$busy $port"; fi
    done < <(mh_ports "$name")
    [ -z "$busy" ] || mh_die "$name: port(s) already in use by another process:$busy"
}

# ---- Dovecot --------------------------------------------------------------------------------------
start_dovecot() {
    render dovecot.conf.in "$MH_DOVECOT_CONF"
    mkdir -p "$MH_DOVECOT_STATE"
    # The SASL socket for Postfix lives in Postfix's private/ queue dir; make sure it exists.
    mkdir -p "$MH_POSTFIX_QUEUE/private"
    chown postfix "$MH_POSTFIX_QUEUE/private"
    chmod 700 "$MH_POSTFIX_QUEUE/private"
    touch "$MH_DOVECOT_LOG"
    if ! doveconf -c "$MH_DOVECOT_CONF" -n >/dev/null 2>"$MH_DOVECOT_DIR/doveconf.err"; then
        cat "$MH_DOVECOT_DIR/doveconf.err" >&2
        mh_die "dovecot: configuration check failed ($MH_DOVECOT_CONF)"
    fi
    rm -f "$MH_DOVECOT_DIR/doveconf.err"
    check_ports_free dovecot
    mh_info "starting dovecot (config $MH_DOVECOT_CONF, log $MH_DOVECOT_LOG)"
    # Dovecot keeps its stderr open after daemonizing: never hand it our stdout/stderr
    # (a caller doing `start.sh | tee` or `$(start.sh)` would hang). Early errors land here:
    if ! dovecot -c "$MH_DOVECOT_CONF" </dev/null >"$MH_LOG_DIR/dovecot-stderr.log" 2>&1; then
        cat "$MH_LOG_DIR/dovecot-stderr.log" >&2
        mh_log_tail dovecot
        mh_die "dovecot failed to start"
    fi
    if ! mh_wait_ports dovecot || ! wait_sasl_socket; then
        mh_log_tail dovecot
        "$MH_SERVERS_SRC/stop.sh" dovecot >&2 || true
        mh_die "dovecot did not come up"
    fi
    mh_info "dovecot running (pid $(mh_read_pid dovecot)): imap $MH_IMAP_PORT, imaps $MH_IMAPS_PORT, pop3 $MH_POP3_PORT, pop3s $MH_POP3S_PORT"
}

wait_sasl_socket() {
    local deadline=$((SECONDS + MH_START_TIMEOUT))
    until [ -S "$MH_SASL_SOCKET" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            mh_warn "dovecot: SASL socket $MH_SASL_SOCKET did not appear"
            return 1
        fi
        sleep 0.2
    done
}

# postfix_tty_diag CMD : rerun `postfix CMD` on a pseudo-tty. Early fatal errors of the
# postfix(1) command go only to syslog (absent here) unless stderr is a terminal.
postfix_tty_diag() {
    if command -v script >/dev/null; then
        script -qec "postfix -c '$MH_POSTFIX_CONF_DIR' $1" /dev/null >&2 </dev/null || true
    fi
}

# ---- Postfix -------------------------------------------------------------------------------------------
start_postfix() {
    local out
    render main.cf.in "$MH_POSTFIX_CONF_DIR/main.cf"
    render master.cf.in "$MH_POSTFIX_CONF_DIR/master.cf"
    render vmailbox.in "$MH_POSTFIX_CONF_DIR/vmailbox"
    render valias.in "$MH_POSTFIX_CONF_DIR/valias"
    mkdir -p "$MH_POSTFIX_QUEUE"
    chown root:root "$MH_POSTFIX_QUEUE"
    chmod 755 "$MH_POSTFIX_QUEUE"
    chown postfix:postfix "$MH_POSTFIX_DATA"
    chmod 700 "$MH_POSTFIX_DATA"
    touch "$MH_POSTFIX_LOG"
    if ! mh_running dovecot; then
        mh_warn "dovecot is not running: Postfix SMTP AUTH will not work until it is"
    fi
    # `postfix check` also creates/fixes the queue directories (post-install create-missing).
    if ! out="$(postfix -c "$MH_POSTFIX_CONF_DIR" check 2>&1)"; then
        printf '%s\n' "$out" >&2
        postfix_tty_diag check
        mh_die "postfix: 'postfix -c $MH_POSTFIX_CONF_DIR check' failed"
    fi
    if [ -n "$out" ]; then
        mh_warn "postfix check complaints:"
        printf '  %s\n' "$out" >&2
    fi
    check_ports_free postfix
    mh_info "starting postfix (config $MH_POSTFIX_CONF_DIR, log $MH_POSTFIX_LOG)"
    if ! out="$(postfix -c "$MH_POSTFIX_CONF_DIR" start </dev/null 2>&1)"; then
        printf '%s\n' "$out" >&2
        mh_log_tail postfix
        postfix_tty_diag status
        mh_die "postfix failed to start"
    fi
    if ! mh_wait_ports postfix; then
        mh_log_tail postfix
        "$MH_SERVERS_SRC/stop.sh" postfix >&2 || true
        mh_die "postfix did not come up"
    fi
    mh_info "postfix running (pid $(mh_read_pid postfix)): smtp $MH_SMTP_PORT, smtps $MH_SMTPS_PORT, submission $MH_SUBMISSION_PORT"
}

# ---- env file ----------------------------------------------------------------------------------------------
write_env() {
    local f="$MH_SERVER_DIR/env" k
    {
        printf '# mailharness test servers (written by ci/servers/start.sh); source this file.\n'
        for k in MH_SERVER_DIR MH_HOST MH_DOMAIN MH_HOSTNAME \
            MH_SMTP_PORT MH_SMTPS_PORT MH_SUBMISSION_PORT MH_IMAP_PORT MH_IMAPS_PORT \
            MH_POP3_PORT MH_POP3S_PORT MH_USER1 MH_USER2 MH_PASSFILE1 MH_PASSFILE2 \
            MH_MAILDIR1 MH_MAILDIR2 MH_CERT MH_LOG_DIR MH_DOVECOT_LOG MH_POSTFIX_LOG \
            MH_DOVECOT_CONF MH_POSTFIX_CONF_DIR; do
            printf '%s=%q\n' "$k" "${!k}"
        done
        printf 'MH_ADDR1=%q\n' "$MH_USER1@$MH_DOMAIN"
        printf 'MH_ADDR2=%q\n' "$MH_USER2@$MH_DOMAIN"
    } >"$f.tmp"
    mv -f "$f.tmp" "$f"
}

for name in $to_start; do
    case "$name" in
        dovecot) start_dovecot ;;
        postfix) start_postfix ;;
    esac
done
write_env
mh_info "environment written to $MH_SERVER_DIR/env"
