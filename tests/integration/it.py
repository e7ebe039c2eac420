#!/usr/bin/env python3
"""it.py: integration tests of mailharness against the real Dovecot and Postfix that
ci/servers/start.sh runs on loopback (see tests/integration/CMakeLists.txt for the list).

  it.py --mailharness BIN --source DIR --out DIR TEST

Each TEST runs the CLI as a user would and asserts on its exit status, its console output and
the JSON and JUnit reports (schema-valid, well-formed, no secrets, the expected verdicts).
"""
import argparse
import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

ARGS = None
ENV = {}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def load_env():
    d = os.environ.get("MH_SERVER_DIR", "/tmp/mailharness-servers")
    path = os.path.join(d, "env")
    if not os.path.exists(path):
        fail(f"{path} missing: the servers are not running (ci/servers/start.sh)")
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                ENV[k] = v
    with open(ENV["MH_PASSFILE1"]) as f:
        ENV["PASSWORD1"] = f.read().strip()


def out_path(name):
    os.makedirs(ARGS.out, exist_ok=True)
    return os.path.join(ARGS.out, name)


def mh(args, timeout=300, env=None):
    """Runs mailharness; returns (exit status, stdout+stderr)."""
    e = dict(os.environ)
    e["NO_COLOR"] = "1"
    if env:
        e.update(env)
    p = subprocess.run([ARGS.mailharness] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, env=e)
    text = p.stdout.decode("utf-8", "replace")
    return p.returncode, text


def expect_status(args, want, what, **kw):
    st, text = mh(args, **kw)
    if st != want:
        print(text[-6000:])
        fail(f"{what}: exit status {st}, expected {want} (mailharness {' '.join(args)})")
    return text


def validate(report, junit):
    """Schema-validates the JSON report and checks the JUnit file is well-formed XML."""
    import jsonschema  # Debian: python3-jsonschema
    with open(report, "rb") as f:
        raw = f.read()
    doc = json.loads(raw)
    with open(os.path.join(ARGS.source, "reports", "schema.json")) as f:
        schema = json.load(f)
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    if junit:
        x = subprocess.run(["xmllint", "--noout", junit], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if x.returncode != 0:
            fail(f"{junit} is not well-formed: {x.stdout.decode()[:2000]}")
    return doc


def secrets():
    pw = ENV["PASSWORD1"]
    user = ENV["MH_USER1"]
    plain = base64.b64encode(f"\0{user}\0{pw}".encode()).decode()
    return [pw, plain, base64.b64encode(pw.encode()).decode()]


def assert_no_secrets(label, text):
    for s in secrets():
        if s and s in text:
            fail(f"{label} contains a secret ({s[:3]}...)")


def verdicts(doc):
    return {(c["id"], c["target"]): c["verdict"] for c in doc["cases"]}


def common(proto):
    a = ["--user", ENV["MH_USER1"], "--password-file", ENV["MH_PASSFILE1"],
         "--param", f"rcpt={ENV['MH_ADDR1']}", "--timeout", "10000"]
    bl = os.path.join(ARGS.source, "ci", "baseline", f"{proto}.json")
    if os.path.exists(bl):
        a += ["--baseline", bl]
    return a


TARGETS = {
    "smtp-plain": ("smtp", "smtp://127.0.0.1:{MH_SMTP_PORT}"),
    "smtp-starttls": ("smtp", "smtp://127.0.0.1:{MH_SMTP_PORT}?starttls"),
    "smtp-implicit": ("smtp", "smtps://127.0.0.1:{MH_SMTPS_PORT}"),
    "submission-starttls": ("smtp", "submission://127.0.0.1:{MH_SUBMISSION_PORT}?starttls"),
    "imap-plain": ("imap", "imap://127.0.0.1:{MH_IMAP_PORT}"),
    "imap-starttls": ("imap", "imap://127.0.0.1:{MH_IMAP_PORT}?starttls"),
    "imap-implicit": ("imap", "imaps://127.0.0.1:{MH_IMAPS_PORT}"),
    "pop3-plain": ("pop3", "pop3://127.0.0.1:{MH_POP3_PORT}"),
    "pop3-starttls": ("pop3", "pop3://127.0.0.1:{MH_POP3_PORT}?starttls"),
    "pop3-implicit": ("pop3", "pop3s://127.0.0.1:{MH_POP3S_PORT}"),
}


def t_suite(name):
    proto, url = TARGETS[name]
    url = url.format(**ENV)
    report, junit = out_path(f"{name}.json"), out_path(f"{name}.xml")
    extra = ["--allow-destructive"] if name == "pop3-starttls" else []
    text = expect_status(["run", "--target", url, "-v", "--report", report, "--junit", junit]
                         + common(proto) + extra, 0,
                         f"{name}: the full {proto} suite (0 unexpected FAIL, 0 ERROR)")
    doc = validate(report, junit)
    assert_no_secrets(f"{name} console output", text)
    assert_no_secrets(f"{name} JSON report", open(report, encoding="ascii").read())
    assert_no_secrets(f"{name} JUnit report", open(junit, encoding="utf-8").read())
    counts = {}
    for c in doc["cases"]:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    print(f"{name}: {counts}")
    if counts.get("ERROR") or counts.get("FAIL"):
        fail(f"{name}: unexpected FAIL or ERROR: {counts}")
    if counts.get("PASS", 0) < 10:
        fail(f"{name}: only {counts.get('PASS', 0)} cases passed; expected at least 10")
    tgt = doc["targets"][0]
    if not tgt["greeting"] or not tgt["capabilities_before"]:
        fail(f"{name}: the report lacks the greeting or the capabilities")
    if "?starttls" in url:
        if not tgt["capabilities_after"] or not tgt["tls_version"]:
            fail(f"{name}: STARTTLS target without capabilities_after / tls_version")
    if url.startswith(("smtps", "imaps", "pop3s")) and not tgt["tls_version"]:
        fail(f"{name}: implicit TLS target without tls_version")
    cov = doc["coverage"][proto]
    if cov["exercised"] < 5:
        fail(f"{name}: coverage matrix nearly empty: {cov['exercised']} cells")
    # every spec check carries its RFC section and level
    for c in doc["cases"]:
        for k in c["checks"]:
            if not k["rfc"] or not k["level"]:
                fail(f"{name}: check without rfc/level in {c['id']}: {k}")


def t_delivery():
    report = out_path("delivery.json")
    url = f"smtp://127.0.0.1:{ENV['MH_SMTP_PORT']}?starttls"
    expect_status(["run", "--target", url, "--filter", "smtp.data.transparency", "--report", report]
                  + common("smtp"), 0, "the SMTP transfer case")
    doc = validate(report, None)
    case = doc["cases"][0]
    if case["verdict"] != "PASS":
        fail(f"smtp.data.transparency: {case['verdict']} {case['reason']}")
    marker = None
    for e in case["transcript"]:
        m = re.search(r"marker ([0-9a-f]+)", e["data"])
        if e["dir"] == "*" and m:
            marker = m.group(1)
    if not marker:
        fail("no marker in the transcript")
    maildir = ENV["MH_MAILDIR1"]
    deadline = time.time() + 20
    found = None
    while time.time() < deadline and not found:
        for f in glob.glob(os.path.join(maildir, "new", "*")) + glob.glob(os.path.join(maildir, "cur", "*")):
            with open(f, "rb") as fh:
                data = fh.read()
            if f"X-Mailharness-Marker: {marker}".encode() in data:
                found = (f, data)
        time.sleep(0.3)
    if not found:
        fail(f"message with marker {marker} not delivered to {maildir}")
    lines = found[1].replace(b"\r\n", b"\n").split(b"\n")
    # the sender dot-stuffed these; the stored message must hold them unstuffed (RFC 5321 4.5.2)
    for want in (b".A line that starts with a period.", b"..Two periods.", b"."):
        if want not in lines:
            fail(f"delivered message lacks the line {want!r} (transparency broken): {found[0]}")
    for bad in (b"..A line that starts with a period.", b"...Two periods."):
        if bad in lines:
            fail(f"delivered message still has the stuffed line {bad!r}")
    body_after = lines[lines.index(b"."):]
    if b"The line above held a single period." not in body_after:
        fail("the message was cut at the lone '.' line")
    print(f"delivered: {found[0]}")


def t_exit_codes():
    cases = os.path.join(ARGS.source, "tests", "integration", "cases")
    smtp = f"smtp://127.0.0.1:{ENV['MH_SMTP_PORT']}"
    expect_status(["--help"], 0, "--help")
    expect_status(["--version"], 0, "--version")
    expect_status(["run", "--help"], 0, "run --help")
    expect_status([], 2, "no command")
    expect_status(["frobnicate"], 2, "unknown command")
    expect_status(["run"], 2, "run without --target")
    expect_status(["run", "--bogus"], 2, "unknown option")
    expect_status(["run", "--target", "ftp://127.0.0.1"], 2, "unknown URL scheme")
    expect_status(["run", "--target", smtp, "--jobs", "0"], 2, "--jobs 0")
    expect_status(["run", "--target", smtp, "--password-file", "/nonexistent"], 2,
                  "missing password file")
    # an unreachable server is an infrastructure error; the report still says why
    report = out_path("unreachable.json")
    text = expect_status(["run", "--target", "smtp://127.0.0.1:1", "--report", report,
                          "--timeout", "2000"], 2, "unreachable server")
    doc = validate(report, None)
    if not doc["targets"][0]["probe_error"] or "connect" not in doc["targets"][0]["probe_error"]:
        fail(f"unreachable: probe_error missing: {doc['targets'][0]['probe_error']}")
    if any(c["verdict"] != "ERROR" for c in doc["cases"]):
        fail("unreachable: every case must be ERROR")
    if "cannot connect" not in text:
        fail("unreachable: no clear message on the console")
    # TLS: a handshake against a plaintext port fails clearly; verification is enforced with
    # --tls-verify and satisfied with --ca-file (the test certificate has IP:127.0.0.1)
    imap_plain = f"imaps://127.0.0.1:{ENV['MH_IMAP_PORT']}"
    text = expect_status(["run", "--target", imap_plain, "--timeout", "3000"], 2,
                         "implicit TLS against a plaintext port")
    if "TLS" not in text:
        fail("a failed handshake must say TLS")
    imaps = f"imaps://127.0.0.1:{ENV['MH_IMAPS_PORT']}"
    text = expect_status(["run", "--target", imaps, "--tls-verify", "--filter", "imap.greeting.*"],
                         2, "self-signed certificate with --tls-verify")
    if "certificate verification failed" not in text:
        fail(f"verification failure must be named: {text[-500:]}")
    expect_status(["run", "--target", imaps, "--tls-verify", "--ca-file", ENV["MH_CERT"],
                   "--filter", "imap.greeting.*"], 0, "--tls-verify with the right --ca-file")
    # conformance failures
    report = out_path("fail_must.json")
    expect_status(["run", "--target", smtp, "--suite", os.path.join(cases, "fail_must.lua"),
                   "--report", report], 1, "MUST-level failure")
    doc = validate(report, None)
    if doc["cases"][0]["verdict"] != "FAIL" or doc["exit_status"] != 1:
        fail("fail_must: verdict FAIL / exit_status 1 expected in the report")
    bl = out_path("bl.json")
    with open(bl, "w") as f:
        json.dump({"baseline_version": 1, "entries": [
            {"id": "it.fail.must", "reason": "test", "rfc": "RFC 5321 4.2"}]}, f)
    report = out_path("fail_must_bl.json")
    expect_status(["run", "--target", smtp, "--suite", os.path.join(cases, "fail_must.lua"),
                   "--baseline", bl, "--report", report], 0, "baselined failure")
    doc = validate(report, None)
    if doc["cases"][0]["verdict"] != "XFAIL":
        fail("baselined failure must be XFAIL")
    expect_status(["run", "--target", smtp, "--suite", os.path.join(cases, "fail_should.lua")], 0,
                  "SHOULD-level failure without --strict")
    expect_status(["run", "--target", smtp, "--suite", os.path.join(cases, "fail_should.lua"),
                   "--strict"], 1, "SHOULD-level failure with --strict")
    wb = out_path("written-baseline.json")
    expect_status(["run", "--target", smtp, "--suite", os.path.join(cases, "fail_must.lua"),
                   "--write-baseline", wb], 1, "--write-baseline")
    expect_status(["run", "--target", smtp, "--suite", os.path.join(cases, "fail_must.lua"),
                   "--baseline", wb], 0, "run with the written baseline")
    text = expect_status(["run", "--target", smtp, "--suite",
                          os.path.join(cases, "broken_syntax.lua")], 2, "broken script")
    if "broken_syntax.lua" not in text:
        fail("a broken script's error must name the file")
    # list and spec
    text = expect_status(["list"], 0, "list")
    if "smtp.rcpt.before-mail" not in text:
        fail("list does not show smtp.rcpt.before-mail")
    text = expect_status(["list", "--markdown", "--proto", "pop3"], 0, "list --markdown")
    if "| `pop3.greeting.ok` |" not in text or "`smtp." in text:
        fail("list --markdown --proto pop3 output is wrong")
    text = expect_status(["spec", "smtp"], 0, "spec smtp")
    if "RCPT" not in text or "503" not in text or "HELLO" not in text:
        fail("spec smtp must show RCPT, 503 and the HELLO alias")
    expect_status(["spec", "nntp"], 2, "spec of an unknown protocol")


def t_redaction():
    # every login style, verbose, with transcripts in all outputs
    for proto, url, flt in (
            ("smtp", f"smtp://127.0.0.1:{ENV['MH_SMTP_PORT']}", "smtp.auth.*"),
            ("imap", f"imap://127.0.0.1:{ENV['MH_IMAP_PORT']}", "imap.login.*"),
            ("pop3", f"pop3://127.0.0.1:{ENV['MH_POP3_PORT']}", "pop3.login.*")):
        report, junit = out_path(f"redact-{proto}.json"), out_path(f"redact-{proto}.xml")
        text = expect_status(["run", "--target", url, "--filter", flt, "-v", "--report", report,
                              "--junit", junit] + common(proto), 0, f"{proto} login cases")
        doc = validate(report, junit)
        if not any(c["verdict"] == "PASS" for c in doc["cases"]):
            fail(f"{proto}: no login case passed, so nothing was redacted")
        assert_no_secrets(f"{proto} console", text)
        assert_no_secrets(f"{proto} JSON", open(report, encoding="ascii").read())
        assert_no_secrets(f"{proto} JUnit", open(junit, encoding="utf-8").read())
        if "[redacted" not in open(report, encoding="ascii").read():
            fail(f"{proto}: no redaction marker in the transcript")
    # the environment variable works like the file
    url = f"imap://127.0.0.1:{ENV['MH_IMAP_PORT']}"
    expect_status(["run", "--target", url, "--filter", "imap.login.good", "--user", ENV["MH_USER1"]],
                  0, "password from MAILHARNESS_PASSWORD", env={"MAILHARNESS_PASSWORD": ENV["PASSWORD1"]})


def t_baseline_fixed():
    bl = out_path("bl-fixed.json")
    with open(bl, "w") as f:
        json.dump({"baseline_version": 1, "entries": [
            {"id": "smtp.greeting.code", "reason": "was broken once", "rfc": "RFC 5321 4.2"}]}, f)
    report = out_path("bl-fixed-report.json")
    text = expect_status(["run", "--target", f"smtp://127.0.0.1:{ENV['MH_SMTP_PORT']}", "--filter",
                          "smtp.greeting.code", "--baseline", bl, "--report", report], 0,
                         "baseline entry that passes now")
    doc = validate(report, None)
    c = doc["cases"][0]
    if c["verdict"] != "PASS" or not c["baseline"] or not c["baseline"]["fixed"]:
        fail(f"a baselined case that passes must be reported as fixed: {c['baseline']}")
    if "smtp.greeting.code" not in text.split("baseline")[-1]:
        fail("the console must name the baseline entries that pass now")


def t_jobs():
    url = f"imap://127.0.0.1:{ENV['MH_IMAP_PORT']}?starttls"
    r1, r2 = out_path("jobs1.json"), out_path("jobs2.json")
    expect_status(["run", "--target", url, "--jobs", "1", "--report", r1] + common("imap"), 0, "jobs 1")
    expect_status(["run", "--target", url, "--jobs", "2", "--report", r2] + common("imap"), 0, "jobs 2")
    v1, v2 = verdicts(validate(r1, None)), verdicts(validate(r2, None))
    if v1 != v2:
        fail(f"--jobs 2 changed verdicts: {set(v1.items()) ^ set(v2.items())}")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailharness", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("test")
    ARGS = ap.parse_args()
    load_env()
    t = ARGS.test
    if t.startswith("suite-"):
        t_suite(t[len("suite-"):])
    else:
        fn = globals().get("t_" + t.replace("-", "_"))
        if fn is None:
            fail(f"unknown test {t}")
        fn()
    print(f"ok {t}")


if __name__ == "__main__":
    main()
