#!/usr/bin/env python3
"""check_cli.py: the CLI around the coverage matrix, compare and profiles. No server is contacted:
runs use a closed loopback port, so every selected case ends in ERROR and the report shows which
cases the profile selected.

  check_cli.py MAILHARNESS OUTDIR SUITESDIR
OUTDIR holds the reports test_matrix wrote (matrix-smtp.json, postfix.json, exim.json).
"""
import json
import os
import re
import socket
import subprocess
import sys

failures = 0


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + msg)


def run(args, want_rc):
    p = subprocess.run([MH] + args, capture_output=True, text=True, timeout=120)
    check(p.returncode == want_rc,
          f"mailharness {' '.join(args)}: exit {p.returncode}, want {want_rc}\n"
          f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
    return p


def has_line(text, pattern, what):
    check(re.search(pattern, text, re.M) is not None, f"{what}: no line matching {pattern!r} in:\n{text}")


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused at once
    return port


MH, OUT, SUITES = sys.argv[1], sys.argv[2], sys.argv[3]
rep = os.path.join(OUT, "matrix-smtp.json")

# spec --matrix without reports: allowed / refused, the excluded state, the totals
p = run(["spec", "smtp", "--matrix"], 0)
has_line(p.stdout, r"\(not in the matrix: rejected\)$", "excluded state named")
has_line(p.stdout, r"^core commands +initial +ready +mail +rcpt +bdat$", "grid header")
has_line(p.stdout, r"^  RCPT +R +R +A +A +R$", "RCPT row")
has_line(p.stdout, r"^  STARTTLS \(STARTTLS\) +A +A +A +A +A$", "extension row")
has_line(p.stdout, r"^core: +\d+ cells \(\d+ commands x 5 states\): \d+ allowed, \d+ refused$", "core total")
has_line(p.stdout, r"^extensions: +\d+ cells \(\d+ commands x 5 states\)", "extension total")
check("rejected  " not in p.stdout, "the excluded state is not a column")

# with a report: the case ids per cell, coverage totals; the rejected/QUIT cell is outside
p = run(["spec", "smtp", "--matrix", "--report", rep, "--report", rep], 0)
has_line(p.stdout, r"^core +initial +EHLO +yes +smtp\.ehlo\.basic, smtp\.rcpt\.before-mail$", "EHLO cell")
has_line(p.stdout, r"^core +ready +RCPT +no +smtp\.rcpt\.before-mail$", "negative cell")
has_line(p.stdout, r"^extension +ready +STARTTLS +yes +smtp\.rcpt\.before-mail$", "extension cell")
has_line(p.stdout, r"^core +mail +VRFY +yes +-$", "uncovered cell")
has_line(p.stdout, r"^core: +2/\d+ cells covered \(\d+\.\d%\); allowed 1/\d+, refused 1/\d+$", "core coverage")
has_line(p.stdout, r"^extensions: +1/\d+ cells covered", "extension coverage")
has_line(p.stdout, r"^  EHLO +A 2 +A \. ", "grid counts")
check("note:" not in p.stdout, "known names are not reported as unknown")

p = run(["spec", "smtp", "--matrix", "--markdown", "--report", rep], 0)
has_line(p.stdout, r"^## smtp state x command matrix$", "markdown heading")
has_line(p.stdout, r"^\| `EHLO` \| allowed: `smtp\.ehlo\.basic`, `smtp\.rcpt\.before-mail` \| allowed: \*\*not covered\*\* \|",
         "markdown EHLO row")
has_line(p.stdout, r"^### Core commands: 2/\d+ cells covered", "markdown core totals")

run(["spec", "smtp", "--report", rep], 2)
run(["spec", "smtp", "--markdown"], 2)
p = run(["spec", "smtp", "--matrix", "--report", os.path.join(OUT, "missing.json")], 2)
check("missing.json" in p.stderr, "unreadable report named")
p = run(["spec", "imap", "--matrix", "--report", rep], 0)
has_line(p.stdout, r"^core: +0/\d+ cells covered \(0\.0%\)", "a report of another protocol covers nothing")

# compare
a, b = os.path.join(OUT, "postfix.json"), os.path.join(OUT, "exim.json")
p = run(["compare", a, b], 0)
has_line(p.stdout, r"^SMTP: 4 cases x 2 servers$", "compare heading")
has_line(p.stdout, r"^smtp\.vrfy\.reply    FAIL     PASS   SHOULD  RFC 5321 3\.5\.3$", "compare row")
has_line(p.stdout, r"^IMAP: 1 case x 1 server$", "second protocol")
p = run(["compare", "--markdown", "--only-differences", a, b], 0)
has_line(p.stdout, r"^## SMTP: 4 cases x 2 servers, 3 differ$", "markdown heading")
check("smtp.ehlo.basic" not in p.stdout, "--only-differences hides equal rows")
run(["compare"], 2)
run(["compare", "--bogus", a], 2)
p = run(["compare", a, os.path.join(OUT, "missing.json")], 2)
check("missing.json" in p.stderr, "compare names the unreadable report")
p = run(["compare", "--help"], 0)
check("--only-differences" in p.stdout, "compare --help")

# --profile validation: usage errors before any connection
port = closed_port()
smtp = f"smtp://127.0.0.1:{port}"
suite = os.path.join(SUITES, "smtp")
for prof, msg in [("rev2", "profile 'rev2' is for imap, but no target speaks imap"),
                  ("bogus", "unknown profile 'bogus' (smtp: mx, submission)"),
                  ("mx,submission", "two smtp profiles")]:
    p = run(["run", "--target", smtp, "--suite", suite, "--profile", prof], 2)
    check(msg in p.stderr, f"--profile {prof}: {p.stderr}")
    check("running" not in p.stdout and "ERROR" not in p.stdout, f"--profile {prof} ran cases")

# case selection by profile (the closed port makes every selected case an ERROR)
def selected(args, want_ids, want_profile):
    r = os.path.join(OUT, "profile-run.json")
    if os.path.exists(r):
        os.unlink(r)
    p = run(["run", "--suite", suite, "--report", r, "--timeout", "2000", "--no-color"] + args, 2)
    doc = json.load(open(r))
    ids = sorted(c["id"] for c in doc["cases"])
    check(ids == sorted(want_ids), f"{args}: cases {ids}, want {sorted(want_ids)}")
    check(doc["profile"] == want_profile, f"{args}: report profile {doc['profile']!r}, want {want_profile!r}")
    if want_profile is not None:
        check(f"Profile: {want_profile}\n" in p.stdout, f"{args}: console header:\n{p.stdout}")


selected(["--target", smtp], ["prof.any", "prof.mx", "prof.both"], "mx")
selected(["--target", smtp, "--profile", "submission"], ["prof.any", "prof.submission", "prof.both"], "submission")
selected(["--target", f"submission://127.0.0.1:{port}"], ["prof.any", "prof.submission", "prof.both"], "submission")
selected(["--target", smtp, "--target", f"imap://127.0.0.1:{port}", "--profile", "submission,rev2"],
         ["prof.any", "prof.submission", "prof.both"], "submission,rev2")
selected(["--target", f"submission://127.0.0.1:{port}", "--target", smtp],
         ["prof.any", "prof.submission", "prof.both", "prof.any", "prof.mx", "prof.both"], "submission,mx")

# case declarations
p = run(["list", "--suite", suite], 0)
has_line(p.stdout, r"^prof\.submission .*\[profile submission\]$", "list shows the profile")
has_line(p.stdout, r"^prof\.both .*\[profile mx,submission\]$", "list shows a profile list")
p = run(["list", "--suite", suite, "--markdown"], 0)
has_line(p.stdout, r"^\| `prof\.both` \| MX and submission \| RFC 5321 4\.1\.1\.1 \| MUST \| profile mx,submission \|$",
         "markdown requires column")
for name, msg in [("unknown.lua", "unknown profile 'rev2' for smtp (mx, submission)"),
                  ("both.lua", "give 'profile' or 'profiles', not both"),
                  ("pop3.lua", "unknown profile 'mx' for pop3 (none)"),
                  ("type.lua", "profiles[1] is not a profile name")]:
    p = run(["list", "--suite", os.path.join(SUITES, "bad", name)], 2)
    check(msg in p.stderr, f"{name}: {p.stderr}")

print("ok" if failures == 0 else f"{failures} failure(s)")
sys.exit(1 if failures else 0)
