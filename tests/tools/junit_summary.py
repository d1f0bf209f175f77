"""Reads a JUnit XML file with `junitparser` and prints what a CI system
would show, as JSON: per suite, its tests, failures and errors, and the
failed testcases with their messages."""
import json
import sys

from junitparser import Error, Failure, JUnitXml

xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    failed = {}
    for case in suite:
        for r in case.result:
            if isinstance(r, (Failure, Error)):
                failed[case.name] = {"kind": type(r).__name__, "message": r.message, "text": r.text}
    suites.append(
        {
            "name": suite.name,
            "tests": suite.tests,
            "failures": suite.failures,
            "errors": suite.errors,
            "cases": [c.name for c in suite],
            "failed": failed,
            "properties": {p.name: p.value for p in suite.properties()},
        }
    )
print(json.dumps(suites))
