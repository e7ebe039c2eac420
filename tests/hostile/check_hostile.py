#!/usr/bin/env python3
"""check_hostile.py: judges one hostile-server run (tests/hostile/run_hostile.sh) from its JSON
report, exit status, wall time and max RSS. Prints one line per finding; exit 0 when the run
behaved as the mode requires, 1 otherwise.

Resource-abuse modes must end every case in ERROR with a reason that names the cap, the timeout
or the close, exit status 2. Grammar modes must end in FAIL with a failed "syntax" check citing
the RFC section below, exit status 1, in both phases (a garbage greeting is the server's
failure, not harness trouble, even when the harness's probe meets it first). Every run must
stay within the case timeout plus 5 s and under 100 MB of resident memory."""
import argparse
import json
import re
import sys

RSS_LIMIT_KB = 100 * 1024
SLACK_MS = 5000

# mode -> regex the ERROR reason must match (the cap, the timeout or the close)
ABUSE = {
    "endless-line": r"line exceeds \d+ bytes",
    "endless-multiline": r"reply exceeds \d+ (lines|bytes)",
    "slow": r"timeout|time limit",
    "huge-literal": r"literal of 4294967295 bytes exceeds",
    "lying-literal-small": r"timeout|time limit",
    "reset": r"reset|closed",
    "binary": r"line exceeds \d+ bytes",
}

# mode -> the RFC section the failed syntax check must cite
GRAMMAR = {
    "bare-lf": "RFC 5321 2.3.8",
    "mixed-codes": "RFC 5321 4.2.1",
    "nul": "RFC 5321 4.2",
    "binary-lines": "RFC 5321 4.2",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--phase", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--exit", type=int, required=True)
    ap.add_argument("--wall-ms", type=int, required=True)
    ap.add_argument("--rss-kb", type=int, required=True)
    ap.add_argument("--case-timeout-ms", type=int, required=True)
    a = ap.parse_args()

    problems = []
    try:
        with open(a.report, encoding="utf-8") as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        print(f"  no usable report {a.report}: {e}")
        return 1
    cases = rep.get("cases", [])
    if rep.get("exit_status") != a.exit:
        problems.append(f"report exit_status {rep.get('exit_status')} != process exit {a.exit}")
    if a.wall_ms >= a.case_timeout_ms + SLACK_MS:
        problems.append(f"wall time {a.wall_ms} ms >= case timeout {a.case_timeout_ms} ms + 5 s")
    if a.rss_kb <= 0 or a.rss_kb >= RSS_LIMIT_KB:
        problems.append(f"max RSS {a.rss_kb} kB not in (0, {RSS_LIMIT_KB}) kB")
    if not cases:
        problems.append("the report has no cases")

    def failed_checks(c):
        return [k for k in c.get("checks", []) if k.get("verdict") == "FAIL"]

    def describe(c):
        fails = "; ".join(f"{k['kind']} {k['rfc']}: {k['message']}" for k in failed_checks(c))
        return f"{c['id']}: {c['verdict']} ({c.get('reason')})" + (f" [{fails}]" if fails else "")

    if a.mode == "first-conn-endless":
        want = {"hostile.first_conn_endless.victim": ("ERROR", ABUSE["endless-line"]),
                "hostile.first_conn_endless.next": ("PASS", None)}
        got = [c["id"] for c in cases]
        if got != list(want):
            problems.append(f"cases {got}, expected {list(want)} in that order")
        for c in cases:
            v, rx = want.get(c["id"], (None, None))
            if c["verdict"] != v:
                problems.append(f"{describe(c)}: expected {v}")
            elif rx and not re.search(rx, c.get("reason") or "", re.I):
                problems.append(f"{describe(c)}: reason does not match /{rx}/")
        if a.exit != 2:
            problems.append(f"exit status {a.exit}, expected 2 (a case ended in ERROR)")
    elif a.mode in ABUSE:
        rx = ABUSE[a.mode]
        for c in cases:
            if c["verdict"] != "ERROR":
                problems.append(f"{describe(c)}: expected ERROR")
            elif not re.search(rx, c.get("reason") or "", re.I):
                problems.append(f"{describe(c)}: reason does not match /{rx}/")
        if a.exit != 2:
            problems.append(f"exit status {a.exit}, expected 2")
    elif a.mode in GRAMMAR:
        rfc = GRAMMAR[a.mode]
        for c in cases:
            syn = [k for k in failed_checks(c) if k.get("kind") == "syntax"]
            if c["verdict"] != "FAIL":
                problems.append(f"{describe(c)}: expected FAIL")
            elif not any(k.get("rfc") == rfc for k in syn):
                problems.append(f"{describe(c)}: no failed syntax check citing {rfc}")
        if a.exit != 1:
            problems.append(f"exit status {a.exit}, expected 1")
    else:
        problems.append(f"unknown mode {a.mode}")

    for c in cases:
        print(f"  {describe(c)}")
    for p in problems:
        print(f"  PROBLEM: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
