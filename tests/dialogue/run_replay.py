#!/usr/bin/env python3
"""run_replay.py: `mailharness replay` and `minimize` against canned_server (tests/golden/README.md
documents server.txt). Table-driven: each case is a server script, a dialogue, the command line and
the exit status, outcome and output lines it must give; `--to-lua` output is loaded with
`mailharness list --suite` and run against a canned server too.

Usage: run_replay.py --mailharness BIN --server CANNED_SERVER --workdir DIR [--case NAME]
"""
import argparse
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time

LIVE_SMTP = "== liveness probe after the dialogue\nS: 220 canned.example ESMTP\\r\\n\nIGNORE\n"
LIVE_POP3 = "== liveness probe after the dialogue\nS: +OK canned ready\\r\\n\nIGNORE\n"
LIVE_IMAP = "== liveness probe after the dialogue\nS: * OK canned ready\\r\\n\nIGNORE\n"

SMTP_OK_SERVER = """== dialogue
S: 220 canned.example ESMTP\\r\\n
C: EHLO fuzz\\.example
S: 250-canned.example\\r\\n250 PIPELINING\\r\\n
C: QUIT
S: 221 2.0.0 bye\\r\\n
CLOSE
"""
SMTP_OK_DLG = """# mailharness dialogue 1
proto smtp
send EHLO fuzz.example\\r\\n
reply 250
send QUIT\\r\\n
reply 221
"""

SMTP_HANG_SERVER = """== dialogue: NOOP is never answered
S: 220 canned.example ESMTP\\r\\n
C: EHLO x
S: 250 canned.example\\r\\n
C: NOOP
"""
SMTP_HANG_DLG = """# mailharness dialogue 1
# finding: hang (comments such as this one are allowed anywhere)
proto smtp
send EHLO x\\r\\n
reply 250
send NOOP\\r\\n
reply 250
"""

CASES = [
    {
        "name": "ok",
        "server": SMTP_OK_SERVER + LIVE_SMTP,
        "dialogue": SMTP_OK_DLG,
        "exit": 0,
        "out": ["C: EHLO fuzz.example\\r\\n", "S: 250 PIPELINING\\r\\n", "outcome: ok", "alive:",
                "result: no finding"],
    },
    {
        "name": "pipelined",  # a SEND without a REPLY goes out at once
        "server": """== dialogue
S: 220 canned.example ESMTP\\r\\n
C: EHLO x
S: 250 canned.example\\r\\n
C: MAIL FROM:<>
C: RCPT TO:<a@example\\.test>
S: 250 2.1.0 ok\\r\\n250 2.1.5 ok\\r\\n
C: QUIT
S: 221 bye\\r\\n
CLOSE
""" + LIVE_SMTP,
        "dialogue": """# mailharness dialogue 1
proto smtp
send EHLO x\\r\\n
reply 250
send MAIL FROM:<>\\r\\n
send RCPT TO:<a@example.test>\\r\\n
reply 250
reply 250
send QUIT\\r\\n
reply 221
""",
        "exit": 0,
        "out": ["outcome: ok, 5 replies"],
        "max_ms": 2500,
    },
    {
        "name": "hang",
        "server": SMTP_HANG_SERVER + LIVE_SMTP,
        "dialogue": SMTP_HANG_DLG,
        "args": ["--timeout", "800"],
        "exit": 3,
        "out": ["outcome: hang (no reply due at record 3 within 800 ms", "alive:",
                "result: the finding reproduces"],
    },
    {
        "name": "disconnect",
        "server": """== dialogue: the server hangs up on NOOP
S: 220 canned.example ESMTP\\r\\n
C: EHLO x
S: 250 canned.example\\r\\n
C: NOOP
CLOSE
""" + LIVE_SMTP,
        "dialogue": SMTP_HANG_DLG,
        "exit": 3,
        "out": ["outcome: disconnect (the server closed the connection before the reply due at record 3)"],
    },
    {
        "name": "violation",
        "server": """== dialogue: RCPT before MAIL answered 250
S: 220 canned.example ESMTP\\r\\n
C: EHLO x
S: 250 canned.example\\r\\n
C: RCPT TO:<a@example\\.test>
S: 250 2.1.5 ok\\r\\n
C: QUIT
S: 221 bye\\r\\n
CLOSE
""" + LIVE_SMTP,
        "dialogue": """# mailharness dialogue 1
proto smtp
send EHLO x\\r\\n
reply 250
send RCPT TO:<a@example.test>\\r\\n
reply 503
send QUIT\\r\\n
reply 221
""",
        "exit": 3,
        "out": ["outcome: ok", "violation: RCPT is not allowed in state ready; the server answered 250 "
                "(RFC 5321 3.3 MUST)", "result: the finding reproduces"],
    },
    {
        "name": "crash",  # the dialogue runs, then nothing answers the liveness probe
        "server": SMTP_OK_SERVER,
        "dialogue": SMTP_OK_DLG,
        "exit": 3,
        "out": ["outcome: ok", "crash: the server no longer accepts connections"],
        "server_complete": False,
    },
    {
        "name": "drain_close",  # commands sent without waiting: their replies are read at the end
        "server": """== dialogue: the server hangs up on the pipelined RCPT
S: 220 canned.example ESMTP\\r\\n
C: EHLO x
S: 250 canned.example\\r\\n
C: MAIL FROM:<>
C: RCPT TO:<a@example\\.test>
S: 250 2.1.0 ok\\r\\n
CLOSE
""" + LIVE_SMTP,
        "dialogue": """# mailharness dialogue 1
proto smtp
send EHLO x\\r\\n
reply 250
send MAIL FROM:<>\\r\\nRCPT TO:<a@example.test>\\r\\n
""",
        "exit": 3,
        "out": ["S: 250 2.1.0 ok\\r\\n",
                "outcome: disconnect (after the last record: the server closed the connection "
                "owing 1 replies", "violation: the server closed the connection without replying"],
    },
    {
        "name": "drain_silent",  # a reply owed after the last record that never comes: no hang
        "server": """== dialogue: NOOP is never answered
S: 220 canned.example ESMTP\\r\\n
C: EHLO x
S: 250 canned.example\\r\\n
C: NOOP
""" + LIVE_SMTP,
        "dialogue": """# mailharness dialogue 1
proto smtp
send EHLO x\\r\\n
reply 250
send NOOP\\r\\n
""",
        "args": ["--timeout", "500"],
        "exit": 0,
        "out": ["after the last record: 1 replies owed did not come within 500 ms",
                "outcome: ok, 2 replies", "result: no finding"],
    },
    {
        "name": "announced_close",  # 221 to a non-SMTP line, then a close (RFC 5321 7.8)
        "server": """== dialogue: a bogus line gets 221 and the connection ends
S: 220 canned.example ESMTP\\r\\n
C: EHLO x
S: 250 canned.example\\r\\n
C: "
C: NOOP
S: 221 2.7.0 Error: I can break rules, too. Goodbye.\\r\\n
CLOSE
""" + LIVE_SMTP,
        "dialogue": """# mailharness dialogue 1
proto smtp
send EHLO x\\r\\n
reply 250
send "\\r\\nNOOP\\r\\n
reply
reply 250
""",
        "exit": 0,
        "out": ["outcome: ok", "result: no finding"],
        "not_out": ["violation:"],
    },
    {
        "name": "imap_bye_close",  # an untagged BYE, then a close with a command unanswered
        "proto": "imap",
        "server": """== dialogue
S: * OK canned IMAP4rev1 ready\\r\\n
C: A1 NOOP
S: * BYE Input buffer full\\r\\n
CLOSE
""" + LIVE_IMAP,
        "dialogue": """# mailharness dialogue 1
proto imap
send A1 NOOP\\r\\n
reply OK
""",
        "exit": 0,
        "out": ["outcome: ok", "result: no finding"],
        "not_out": ["violation:"],
    },
    {
        "name": "session_over",  # after 221 no reply is due: records after it are not awaited
        "server": SMTP_OK_SERVER + LIVE_SMTP,
        "dialogue": SMTP_OK_DLG + "send NOOP\\r\\nreply 250\n",
        "exit": 0,
        "out": ["outcome: ok"],
    },
    {
        "name": "refused",
        "server": None,
        "dialogue": SMTP_OK_DLG,
        "exit": 2,
        "out": ["outcome: refused", "result: could not run the dialogue"],
    },
    {
        "name": "placeholders",
        "proto": "pop3",
        "server": """== dialogue
S: +OK canned ready\\r\\n
C: USER alice
S: +OK\\r\\n
C: PASS pw\\.s3cret
S: +OK logged in\\r\\n
C: QUIT
S: +OK bye\\r\\n
CLOSE
""" + LIVE_POP3,
        "dialogue": """# mailharness dialogue 1
proto pop3
send USER ${USER}\\r\\n
reply +OK
send PASS ${PASSWORD}\\r\\n
reply +OK
send QUIT\\r\\n
reply +OK
""",
        "args": ["--user", "alice", "--password-file", "{workdir}/pw"],
        "exit": 0,
        "out": ["C: USER alice\\r\\n", "C: PASS [redacted]\\r\\n", "outcome: ok"],
        "not_out": ["pw.s3cret"],
    },
    {
        "name": "placeholders_missing",
        "proto": "pop3",
        "server": None,
        "dialogue": "# mailharness dialogue 1\nproto pop3\nsend PASS ${PASSWORD}\\r\\nreply\n",
        "exit": 2,
        "err": ["uses password placeholders"],
        "env": {"MAILHARNESS_PASSWORD": None},
    },
    {
        "name": "imap_literal_idle",
        "proto": "imap",
        "server": """== dialogue
S: * OK canned IMAP4rev1 ready\\r\\n
C: A0 LOGIN alice secret
S: A0 OK logged in\\r\\n
C: A1 APPEND INBOX \\{5\\}
S: + go ahead\\r\\n
C: hello
S: A1 OK APPEND completed\\r\\n
C: A2 IDLE
S: + idling\\r\\n* 1 EXISTS\\r\\n
C: DONE
S: A2 OK IDLE terminated\\r\\n
C: A3 LOGOUT
S: * BYE bye\\r\\nA3 OK LOGOUT completed\\r\\n
CLOSE
""" + LIVE_IMAP,
        "dialogue": """# mailharness dialogue 1
proto imap
send A0 LOGIN alice secret\\r\\n
reply OK
send A1 APPEND INBOX {5}\\r\\n
reply +
send hello\\r\\n
reply OK
send A2 IDLE\\r\\n
reply +
reply *
send DONE\\r\\n
reply OK
send A3 LOGOUT\\r\\n
reply OK
""",
        "exit": 0,
        # the untagged update in IDLE is owed by nobody: not awaited, read with the tagged OK
        "out": ["S: * 1 EXISTS\\r\\n", "record 8: no reply is due; not awaited", "outcome: ok, 7 replies"],
        "not_out": ["violation:"],
    },
    {
        "name": "bad_file",
        "server": None,
        "dialogue": "# mailharness dialogue 1\nproto smtp\nsend a\\q\n",
        "exit": 2,
        "err": ["line 3, column 7: unknown escape"],
    },
    {
        "name": "minimize_not_reproducing",
        "cmd": "minimize",
        "server": SMTP_OK_SERVER + LIVE_SMTP,
        "dialogue": SMTP_OK_DLG,
        "args": ["--oracle", "hang"],
        "exit": 2,
        "err": ["does not show a hang (outcome ok)"],
        "server_complete": False,
    },
]

# minimize against a tiny in-process SMTP server that takes any number of connections: it answers
# 250 to every line, 221 to QUIT, and never answers a line containing "hang".
MINI_DLG = """# mailharness dialogue 1
proto smtp
send EHLO fuzz.example\\r\\n
reply 250
send NOOP\\r\\n
reply 250
send MAIL FROM:<a@example.test> SIZE=10\\r\\n
reply 250
send RSET\\r\\n
reply 250
send RCPT TO:<b@example.test> NOTIFY=NEVER\\r\\n
reply 503
send NOOP please hang now\\r\\n
reply 250
send QUIT\\r\\n
reply 221
"""
MINI_CASES = [
    {"name": "minimize_hang", "oracle": "hang",
     "want": "# mailharness dialogue 1\nproto smtp\nsend hang\\n\nreply 250\n"},
    # 1-minimal, not necessarily the smallest: EHLO or MAIL + RSET both reach state ready
    {"name": "minimize_violation", "oracle": "violation", "max_sends": 3, "contains": "send RCPT\\n\n",
     "replay_out": "violation: RCPT is not allowed in state ready; the server answered 250"},
]


class Always250(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 mini.example ESMTP\r\n")
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            if b"hang" in line:
                continue
            if line.upper().startswith(b"QUIT"):
                self.wfile.write(b"221 bye\r\n")
                return
            self.wfile.write(b"250 ok\r\n")


class MiniServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def run_mini_case(a, c):
    dlg = os.path.join(a.workdir, c["name"] + ".dlg")
    out = os.path.join(a.workdir, c["name"] + ".min.dlg")
    with open(dlg, "w") as f:
        f.write(MINI_DLG)
    srv = MiniServer(("127.0.0.1", 0), Always250)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = subprocess.run([a.mailharness, "minimize", dlg, "--target",
                            "smtp://127.0.0.1:%d" % srv.server_address[1], "--oracle", c["oracle"],
                            "--timeout", "300", "-o", out], capture_output=True, text=True, timeout=120)
        problems = []
        got = open(out).read() if os.path.exists(out) else ""
        if r.returncode != 0:
            problems.append("exit %d" % r.returncode)
        elif "want" in c and got != c["want"]:
            problems.append("minimized to:\n" + got + "want:\n" + c["want"])
        elif "contains" in c and (c["contains"] not in got or got.count("\nsend") > c["max_sends"]):
            problems.append("minimized to:\n" + got)
        if "minimized: 14 -> " not in r.stderr:
            problems.append("no summary line")
        if "replay_out" in c:
            rr = subprocess.run([a.mailharness, "replay", out, "--target",
                                 "smtp://127.0.0.1:%d" % srv.server_address[1]],
                                capture_output=True, text=True, timeout=60)
            if rr.returncode != 3 or c["replay_out"] not in rr.stdout:
                problems.append("replay of the result: exit %d\n%s" % (rr.returncode, rr.stdout))
    finally:
        srv.shutdown()
        srv.server_close()
    return problems, r


# --to-lua: the generated case loads, and run against the same server bytes it passes (or, for a
# finding, fails). The harness probes the target first (greeting, EHLO, QUIT).
PROBE_SMTP = """== probe
S: 220 canned.example ESMTP\\r\\n
C: EHLO .*
S: 250 canned.example\\r\\n
C: QUIT
S: 221 bye\\r\\n
CLOSE
"""
LUA_CASES = [
    {"name": "lua_ok", "dialogue": SMTP_OK_DLG, "server": PROBE_SMTP + SMTP_OK_SERVER + LIVE_SMTP,
     "exit": 0, "verdict": "PASS"},
    {"name": "lua_hang", "dialogue": SMTP_HANG_DLG, "server": PROBE_SMTP + SMTP_HANG_SERVER,
     "exit": 1, "verdict": "FAIL"},
]


def start_server(server, script_text, workdir, name):
    script = os.path.join(workdir, name + ".server.txt")
    with open(script, "w") as f:
        f.write(script_text)
    log = open(os.path.join(workdir, name + ".server.log"), "w")
    p = subprocess.Popen([server, "--script", script, "--timeout", "10000", "--lifetime", "60"],
                         stdout=subprocess.PIPE, stderr=log, text=True)
    port = int(p.stdout.readline().strip())
    return p, port


def stop_server(p):
    p.terminate()
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_case(a, c):
    workdir = a.workdir
    proto = c.get("proto", "smtp")
    dlg = os.path.join(workdir, c["name"] + ".dlg")
    with open(dlg, "w") as f:
        f.write(c["dialogue"])
    with open(os.path.join(workdir, "pw"), "w") as f:
        f.write("pw.s3cret\n")
    srv = None
    if c["server"] is not None:
        srv, port = start_server(a.server, c["server"], workdir, c["name"])
    else:
        port = free_port()
    args = [x.replace("{workdir}", workdir) for x in c.get("args", [])]
    cmd = [a.mailharness, c.get("cmd", "replay"), dlg, "--target", "%s://127.0.0.1:%d" % (proto, port)]
    cmd += args
    env = dict(os.environ)
    for k, v in c.get("env", {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    ms = (time.monotonic() - t0) * 1000
    problems = []
    if srv is not None:
        rc = stop_server(srv)
        if rc != 0 and c.get("server_complete", True):
            problems.append("canned_server exited %d (see %s.server.log)" % (rc, c["name"]))
    if r.returncode != c["exit"]:
        problems.append("exit %d, want %d" % (r.returncode, c["exit"]))
    for s in c.get("out", []):
        if s not in r.stdout:
            problems.append("stdout lacks %r" % s)
    for s in c.get("not_out", []):
        if s in r.stdout or s in r.stderr:
            problems.append("output contains %r" % s)
    for s in c.get("err", []):
        if s not in r.stderr:
            problems.append("stderr lacks %r" % s)
    if "max_ms" in c and ms > c["max_ms"]:
        problems.append("took %.0f ms, more than %d" % (ms, c["max_ms"]))
    return problems, r


def run_lua_case(a, c):
    workdir = a.workdir
    dlg = os.path.join(workdir, c["name"] + ".dlg")
    with open(dlg, "w") as f:
        f.write(c["dialogue"])
    problems = []
    r = subprocess.run([a.mailharness, "replay", dlg, "--to-lua"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        return ["--to-lua exit %d: %s" % (r.returncode, r.stderr)], r
    lua = os.path.join(workdir, c["name"] + ".lua")
    with open(lua, "w") as f:
        f.write(r.stdout)
    lst = subprocess.run([a.mailharness, "list", "--suite", lua], capture_output=True, text=True,
                         timeout=60)
    want_id = "smtp.replay." + c["name"]
    if lst.returncode != 0 or want_id not in lst.stdout or "1 case(s)" not in lst.stdout:
        problems.append("list --suite: exit %d: %s%s" % (lst.returncode, lst.stdout, lst.stderr))
    srv, port = start_server(a.server, c["server"], workdir, c["name"])
    run = subprocess.run([a.mailharness, "run", "--target", "smtp://127.0.0.1:%d" % port, "--suite", lua,
                          "--timeout", "1000", "--no-color", "-v"], capture_output=True, text=True,
                         timeout=120)
    stop_server(srv)
    if run.returncode != c["exit"] or c["verdict"] not in run.stdout:
        problems.append("run: exit %d (want %d), verdict %s wanted:\n%s%s" % (
            run.returncode, c["exit"], c["verdict"], run.stdout, run.stderr))
    return problems, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailharness", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--case")
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    failed = 0
    n = 0
    for c in CASES + LUA_CASES + MINI_CASES:
        if a.case and c["name"] != a.case:
            continue
        n += 1
        run = run_lua_case if c in LUA_CASES else run_mini_case if c in MINI_CASES else run_case
        problems, r = run(a, c)
        print("%s %d - %s" % ("not ok" if problems else "ok", n, c["name"]))
        if problems:
            failed += 1
            for p in problems:
                print("#   " + p.replace("\n", "\n#   "))
            print("#   stdout:\n#   " + r.stdout.replace("\n", "\n#   "))
            print("#   stderr:\n#   " + r.stderr.replace("\n", "\n#   "))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
