#!/usr/bin/env python3
"""lint_specs.py: the spec lint ctest.

1. Validates each specs/<proto>.json against specs/schema.json (JSON Schema draft 2020-12) and
   rejects duplicate keys; then checks that the schema really rejects typical typos (unknown keys,
   bad levels, patterns, RFC references), so a loosened schema cannot pass silently.
2. Runs the C lint program (spec_lint: mh_spec_lint plus the project's naming rules) on the specs.

Needs the jsonschema module (Debian: python3-jsonschema). Without it the test FAILS, never skips.
Usage: lint_specs.py --schema SCHEMA --lint SPEC_LINT_BINARY SPEC.json...
"""
import argparse
import copy
import json
import subprocess
import sys


def no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError("duplicate key %r" % key)
        seen[key] = value
    return seen


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_duplicates)


def first_command(spec, pseudo=False):
    for name, cmd in spec["commands"].items():
        if name.startswith("@") == pseudo:
            return cmd
    raise KeyError("no command")


def mutations(spec):
    """(description, mutate(copy)) pairs; every mutation must make the spec invalid."""
    def top(s): s["commandz"] = {}
    def state(s): next(iter(s["states"].values()))["inputs"] = "command"
    def command(s): first_command(s)["sumary"] = "x"
    def rule(s): first_command(s)["rules"][0]["level "] = "MUST"
    def outcome(s):
        replies = first_command(s)["rules"][0]["replies"]
        key = next(iter(replies))
        replies[key] = {"next": "same", "rfc_": "RFC 1 1"}
    def level(s): first_command(s)["rules"][0]["level"] = "MUSTNT"
    def pattern(s): first_command(s)["rules"][0]["replies"]["2x5"] = "same"
    def rfc(s): first_command(s)["rfc"] = "RFC5321 4.1"
    def ruleset(s): s["disallowed"]["levels"] = "MUST"
    def pseudo(s): first_command(s, True)["pseudo"] = False
    def name(s): s["commands"]["@greet"] = first_command(s, True)
    def missing(s): del first_command(s)["syntax"]
    def version(s): s["spec_version"] = 2
    return [("unknown top-level key", top), ("unknown state key", state),
            ("unknown command key", command), ("unknown rule key", rule),
            ("unknown outcome key", outcome), ("bad level", level), ("bad pattern", pattern),
            ("bad rfc", rfc), ("unknown ruleset key", ruleset), ("pseudo false on @ name", pseudo),
            ("unknown pseudo name", name), ("missing syntax", missing),
            ("spec_version 2", version)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--lint", required=True, help="path of the spec_lint program")
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()

    try:
        import jsonschema
    except ImportError:
        print("FAIL: the Python module jsonschema is missing for %s; install the Debian package "
              "python3-jsonschema (apt-get install -y python3-jsonschema)" % sys.executable)
        return 1

    failures = 0
    schema = load(args.schema)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        print("FAIL: %s is not a valid draft 2020-12 schema: %s" % (args.schema, e.message))
        return 1
    validator = jsonschema.Draft202012Validator(schema)

    for path in args.specs:
        try:
            spec = load(path)
        except ValueError as e:
            print("FAIL: %s: %s" % (path, e))
            failures += 1
            continue
        errors = sorted(validator.iter_errors(spec), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print("FAIL: %s: %s: %s" % (path, where, e.message))
        failures += len(errors)
        if errors:
            continue
        print("ok: %s matches %s" % (path, args.schema))
        for what, mutate in mutations(spec):
            bad = copy.deepcopy(spec)
            mutate(bad)
            if validator.is_valid(bad):
                print("FAIL: %s: the schema accepts a spec with a %s" % (path, what))
                failures += 1

    proc = subprocess.run([args.lint] + args.specs, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        print("FAIL: %s exited with %d" % (args.lint, proc.returncode))
        failures += 1

    print("%s: %d failure(s)" % ("FAIL" if failures else "ok", failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
