#!/usr/bin/env python3
"""check_report.py: validates the reports test_report wrote (schema, JUnit XML, transcript bytes).

  check_report.py schema SCHEMA REPORT...   JSON Schema validation, plus mutations that must fail
  check_report.py junit REPORT.json JUNIT   xmllint --noout, then JUnit vs JSON consistency
  check_report.py roundtrip REPORT TXDIR    transcript data decodes to the bytes in TXDIR/<case>_<entry>.bin
Exit status 0 ok, 1 failure, 77 skipped (an optional input file does not exist).
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def load_report(path):
    with open(path, "rb") as f:
        raw = f.read()
    if any(b >= 0x80 for b in raw):
        fail(f"{path}: not pure ASCII")
    return json.loads(raw.decode("ascii"))


def cmd_schema(schema_path, reports):
    try:
        import jsonschema
    except ImportError:
        fail("the Python module jsonschema is missing: apt-get install python3-jsonschema")
    with open(schema_path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    if not schema.get("$id", "").endswith("/v1"):
        fail("schema $id does not end in /v1")
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    checked = 0
    for path in reports:
        if not os.path.exists(path):
            print(f"note: {path} not written (optional), not validated")
            continue
        doc = load_report(path)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors[:10]:
            print(f"{path}: {'/'.join(str(p) for p in e.path)}: {e.message[:300]}")
        if errors:
            fail(f"{path}: {len(errors)} schema violation(s)")
        checked += 1
        print(f"{path}: valid against {schema['$id']}")
    if checked == 0:
        fail("no report to validate")

    # The schema must be strict: each mutation of the first report has to be rejected.
    doc = load_report(reports[0])
    if not doc["cases"] or not doc["cases"][0]["checks"] or not doc["cases"][0]["transcript"]:
        fail("the first report lacks the case/check/transcript the mutations need")

    def m_verdict(d): d["cases"][0]["verdict"] = "MAYBE"
    def m_extra(d): d["surprise"] = 1
    def m_missing(d): del d["summary"]
    def m_version(d): d["report_version"] = 2
    def m_level(d): d["cases"][0]["checks"][0]["level"] = "MUST NOT"
    def m_data(d): d["cases"][0]["transcript"][0]["data"] = "\u0100"
    def m_dir(d): d["cases"][0]["transcript"][0]["dir"] = "X"
    def m_time(d): d["started"] = "yesterday"
    def m_counts(d): del d["summary"]["by_verdict"]["XFAIL"]
    def m_xfail(d):
        d["cases"][0]["verdict"] = "XFAIL"
        d["cases"][0]["baseline"] = None
    def m_fixed(d):
        d["cases"][0]["verdict"] = "FAIL"
        d["cases"][0]["baseline"] = {"reason": "r", "fixed": True}
    def m_null_check(d): del d["cases"][0]["checks"][0]["next_state"]
    mutations = [m_verdict, m_extra, m_missing, m_version, m_level, m_data, m_dir, m_time,
                 m_counts, m_xfail, m_fixed, m_null_check]
    for m in mutations:
        bad = copy.deepcopy(doc)
        m(bad)
        if validator.is_valid(bad):
            fail(f"schema accepts an invalid report ({m.__name__})")
    print(f"schema rejects all {len(mutations)} invalid mutations")


def cmd_junit(report_path, junit_path):
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        fail("xmllint is missing: apt-get install libxml2-utils")
    r = subprocess.run([xmllint, "--noout", junit_path], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr[:2000])
        fail(f"xmllint rejects {junit_path}")
    doc = load_report(report_path)
    root = ET.parse(junit_path).getroot()
    if root.tag != "testsuites":
        fail("root element is not <testsuites>")
    cases = root.findall("./testsuite/testcase")
    if len(cases) != len(doc["cases"]):
        fail(f"{len(cases)} testcases in JUnit, {len(doc['cases'])} cases in JSON")
    want = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    by_id = {}
    for xc in cases:
        by_id.setdefault(xc.get("name"), []).append(xc)
    for c in doc["cases"]:
        want["tests"] += 1
        v = c["verdict"]
        xcs = by_id.get(c["id"])
        if not xcs:
            fail(f"case {c['id']} missing from JUnit")
        xc = xcs.pop(0)
        if xc.get("classname") != "mailharness." + (c["protocol"] or "unknown"):
            fail(f"case {c['id']}: classname {xc.get('classname')}")
        kinds = [child.tag for child in xc if child.tag in ("failure", "error", "skipped")]
        expect = {"PASS": [], "FAIL": ["failure"], "ERROR": ["error"], "SKIP": ["skipped"],
                  "XFAIL": ["skipped"]}[v]
        if kinds != expect:
            fail(f"case {c['id']} ({v}): JUnit elements {kinds}, expected {expect}")
        if v == "XFAIL":
            msg = xc.find("skipped").get("message")
            if msg != "expected failure (baseline): " + c["baseline"]["reason"]:
                fail(f"case {c['id']}: XFAIL message {msg!r}")
        if v == "FAIL":
            want["failures"] += 1
        elif v == "ERROR":
            want["errors"] += 1
        elif v in ("SKIP", "XFAIL"):
            want["skipped"] += 1
    for k, n in want.items():
        if int(root.get(k)) != n:
            fail(f"<testsuites {k}={root.get(k)}>, expected {n}")
    for suite in root.findall("testsuite"):
        n = len(suite.findall("testcase"))
        if int(suite.get("tests")) != n:
            fail(f"suite {suite.get('name')}: tests={suite.get('tests')} but {n} testcases")
    print(f"{junit_path}: well-formed, {len(cases)} testcases consistent with the JSON report")


def cmd_roundtrip(report_path, txdir):
    doc = load_report(report_path)
    compared = 0
    full_range = False
    for i, c in enumerate(doc["cases"]):
        for j, e in enumerate(c["transcript"]):
            try:
                got = e["data"].encode("latin-1")
            except UnicodeEncodeError:
                fail(f"case {i} entry {j}: data has a character above U+00FF")
            with open(os.path.join(txdir, f"{i}_{j}.bin"), "rb") as f:
                want = f.read()
            if got != want:
                fail(f"case {i} entry {j}: {len(got)} bytes decoded, {len(want)} expected, differ")
            compared += 1
            full_range = full_range or set(range(256)) <= set(got)
    if compared == 0 or not full_range:
        fail(f"round trip not meaningful: {compared} entries, all 256 byte values seen: {full_range}")
    print(f"{compared} transcript entries decode to the exact bytes")


def main(argv):
    if len(argv) >= 4 and argv[1] == "schema":
        cmd_schema(argv[2], argv[3:])
    elif len(argv) == 4 and argv[1] == "junit":
        cmd_junit(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "roundtrip":
        cmd_roundtrip(argv[2], argv[3])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
