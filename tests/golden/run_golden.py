#!/usr/bin/env python3
"""run_golden.py: runs one golden case directory (tests/golden/<proto>/<case>/, format in
tests/golden/README.md): starts canned_server with server.txt on loopback, runs
`mailharness run` with case.lua against it, and compares the JSON report with expected.json.

Usage: run_golden.py --mailharness BIN --server BIN --case DIR [--workdir DIR]
Exit 0 when everything matches, 1 on a mismatch, 2 on a setup problem. Every wait is bounded and
the canned server is always stopped (by pid) before the script exits."""
import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

TIMEOUT_MS = 3000        # mailharness --timeout
CASE_TIMEOUT_MS = 8000   # mailharness --case-timeout
SERVER_WAIT_MS = 10000   # canned_server --timeout (each wait for a client line or close)
RUN_LIMIT_S = 120        # the whole mailharness run
KNOWN_KEYS = {"description", "exit_status", "args", "server_complete", "cases"}
CASE_KEYS = {"verdict", "failed_checks", "reason_contains", "checks_include",
             "transcript_contains", "note"}


def load_expected(path):
    with open(path, encoding="utf-8") as f:
        exp = json.load(f, object_pairs_hook=collections.OrderedDict)
    unknown = set(exp) - KNOWN_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    if not isinstance(exp.get("exit_status"), int) or not exp.get("cases"):
        raise ValueError("needs exit_status (int) and cases (object)")
    for cid, c in exp["cases"].items():
        bad = set(c) - CASE_KEYS
        if bad:
            raise ValueError(f"case {cid}: unknown keys {sorted(bad)}")
        if c.get("verdict") not in ("PASS", "FAIL", "SKIP", "XFAIL", "ERROR"):
            raise ValueError(f"case {cid}: verdict must be PASS/FAIL/SKIP/XFAIL/ERROR")
        if c["verdict"] == "FAIL" and "failed_checks" not in c:
            raise ValueError(f"case {cid}: a FAIL must list its failed_checks")
    return exp


def wait_port(path, proc, limit_s=5.0):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            return None
        try:
            with open(path, encoding="ascii") as f:
                text = f.read().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return None


def stop(proc, grace_s=10.0):
    """SIGTERM, bounded wait, then SIGKILL; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


def transcript_text(case, direction):
    return "".join(e["data"] for e in case.get("transcript", []) if e["dir"] == direction)


def compare(exp, rep, exit_status):
    """Returns a list of mismatch descriptions."""
    out = []
    if exit_status != exp["exit_status"]:
        out.append(f"exit status {exit_status}, expected {exp['exit_status']}")
    if rep.get("exit_status") != exit_status:
        out.append(f"report exit_status {rep.get('exit_status')} != process exit {exit_status}")
    got_ids = [c["id"] for c in rep.get("cases", [])]
    want_ids = list(exp["cases"])
    if got_ids != want_ids:
        out.append(f"cases {got_ids}, expected {want_ids} (in this order)")
    by_id = {c["id"]: c for c in rep.get("cases", [])}
    for cid, want in exp["cases"].items():
        c = by_id.get(cid)
        if c is None:
            continue
        where = f"case {cid}"
        if c["verdict"] != want["verdict"]:
            out.append(f"{where}: verdict {c['verdict']} ({c.get('reason')}), expected "
                       f"{want['verdict']}")
        failed = [k for k in c.get("checks", []) if k["verdict"] == "FAIL"]
        if "failed_checks" in want or want["verdict"] == "PASS":
            wanted = list(want.get("failed_checks", []))
            unmatched = list(failed)
            for w in wanted:
                hit = next((k for k in unmatched if all(k.get(f) == v for f, v in w.items())), None)
                if hit is None:
                    out.append(f"{where}: no failed check matching {json.dumps(w)}")
                else:
                    unmatched.remove(hit)
            for k in unmatched:
                out.append(f"{where}: unexpected failed check: {k['kind']} {k['rfc']} "
                           f"{k['level']}: {k['message']}")
        rc = want.get("reason_contains")
        if rc is not None and rc.lower() not in (c.get("reason") or "").lower():
            out.append(f"{where}: reason {c.get('reason')!r} does not contain {rc!r}")
        for w in want.get("checks_include", []):
            if not any(all(k.get(f) == v for f, v in w.items()) for k in c.get("checks", [])):
                out.append(f"{where}: no check matching {json.dumps(w)}")
        for w in want.get("transcript_contains", []):
            if w["text"] not in transcript_text(c, w["dir"]):
                out.append(f"{where}: transcript ({w['dir']}) does not contain {w['text']!r}")
    return out


def show_case(c):
    lines = [f"  {c['id']}: {c['verdict']}" + (f" ({c['reason']})" if c.get("reason") else "")]
    for k in c.get("checks", []):
        lines.append(f"    {k['verdict']:4} {k['kind']:6} {k['rfc'] or '-'} {k['level']}: "
                     f"{k['message']}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailharness", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--workdir")
    a = ap.parse_args()

    case_dir = os.path.abspath(a.case)
    proto = os.path.basename(os.path.dirname(case_dir))
    name = f"{proto}/{os.path.basename(case_dir)}"
    if proto not in ("smtp", "imap", "pop3"):
        print(f"golden {name}: the parent directory must be smtp, imap or pop3")
        return 2
    try:
        exp = load_expected(os.path.join(case_dir, "expected.json"))
    except (OSError, ValueError) as e:
        print(f"golden {name}: expected.json: {e}")
        return 2
    for f in ("server.txt", "case.lua"):
        if not os.path.isfile(os.path.join(case_dir, f)):
            print(f"golden {name}: {f} is missing")
            return 2
    wd = a.workdir or tempfile.mkdtemp(prefix="mh-golden.")
    os.makedirs(wd, exist_ok=True)
    paths = {k: os.path.join(wd, k) for k in
             ("port", "server.log", "report.json", "report.xml", "stdout", "stderr")}
    for p in paths.values():
        if os.path.exists(p):
            os.unlink(p)
    env = dict(os.environ)
    # the specs and the Lua library of this source tree, wherever the binary was built
    env.setdefault("MAILHARNESS_DATADIR",
                   os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

    server = subprocess.Popen(
        [a.server, "--script", os.path.join(case_dir, "server.txt"), "--port-file",
         paths["port"], "--log", paths["server.log"], "--timeout", str(SERVER_WAIT_MS),
         "--lifetime", str(RUN_LIMIT_S + 60)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = wait_port(paths["port"], server)
        if port is None:
            print(f"golden {name}: canned_server did not start")
            stop(server)
            print(open(paths["server.log"], encoding="utf-8", errors="replace").read()
                  if os.path.exists(paths["server.log"]) else "")
            return 2
        cmd = [a.mailharness, "run", "--target", f"{proto}://127.0.0.1:{port}",
               "--suite", os.path.join(case_dir, "case.lua"),
               "--timeout", str(TIMEOUT_MS), "--case-timeout", str(CASE_TIMEOUT_MS),
               "--report", paths["report.json"], "--junit", paths["report.xml"],
               "--no-color"] + list(exp.get("args", []))
        t0 = time.monotonic()
        with open(paths["stdout"], "wb") as so, open(paths["stderr"], "wb") as se:
            run = subprocess.Popen(cmd, stdout=so, stderr=se, env=env)
            try:
                exit_status = run.wait(timeout=RUN_LIMIT_S)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait(timeout=5)
                exit_status = None
        wall_ms = int((time.monotonic() - t0) * 1000)
    finally:
        server_status = stop(server)

    problems = []
    rep = None
    if exit_status is None:
        problems.append(f"mailharness did not finish within {RUN_LIMIT_S} s")
    else:
        try:
            with open(paths["report.json"], encoding="utf-8") as f:
                rep = json.load(f)
        except (OSError, ValueError) as e:
            problems.append(f"no usable JSON report: {e}")
        try:
            ET.parse(paths["report.xml"])
        except (OSError, ET.ParseError) as e:
            problems.append(f"JUnit report is not well-formed XML: {e}")
    if rep is not None:
        problems += compare(exp, rep, exit_status)
    if exp.get("server_complete", True) and server_status != 0:
        problems.append(f"canned_server exit {server_status}: the dialogue did not go as "
                        "server.txt scripts it (log below)")

    print(f"golden {name}: exit {exit_status}, {wall_ms} ms, "
          f"{'ok' if not problems else 'MISMATCH'}")
    if rep is not None:
        for c in rep.get("cases", []):
            print(show_case(c))
    for p in problems:
        print(f"  PROBLEM: {p}")
    if problems:
        for label, key in (("canned_server log", "server.log"), ("mailharness stderr", "stderr")):
            if os.path.exists(paths[key]):
                text = open(paths[key], encoding="utf-8", errors="replace").read().strip()
                if text:
                    print(f"  --- {label} ({paths[key]}):")
                    print("\n".join("  " + line for line in text.splitlines()[-30:]))
        print(f"  report: {paths['report.json']}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
