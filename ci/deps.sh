#!/usr/bin/env bash
# ci/deps.sh: installs the Debian packages mailharness needs to build, test and run the demo
# servers, without starting any system service. Idempotent: installs only what is missing.
set -euo pipefail

PKGS=(build-essential cmake pkg-config libssl-dev liblua5.4-dev lua5.4 libjansson-dev
      afl++ clang libclang-rt-14-dev dovecot-imapd dovecot-pop3d postfix openssl
      python3 python3-jsonschema libxml2-utils time procps clang-format strace)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages (${missing[*]}); run as root or install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# no package may start a system service during the install
policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1 && cp -p "$policy" "$policy.mailharness-saved"
printf '#!/bin/sh\nexit 101\n' > "$policy"
chmod +x "$policy"
restore() {
	if [ "$had_policy" = 1 ]; then mv -f "$policy.mailharness-saved" "$policy"; else rm -f "$policy"; fi
}
trap restore EXIT
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
