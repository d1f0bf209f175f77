"""Validates JSON documents against a JSON Schema with the `jsonschema`
package (Draft 2020-12, formats checked). Usage:
    validate_json.py SCHEMA [EXTRA_SCHEMA...] -- DOCUMENT...
EXTRA_SCHEMAs are registered by their $id, for $refs between schemas.
Prints each error and exits 1 if there is any."""
import json
import sys

from jsonschema import FormatChecker
from jsonschema.validators import validator_for
from referencing import Registry, Resource

args = sys.argv[1:]
split = args.index("--")
schemas = [json.load(open(p, encoding="utf-8")) for p in args[:split]]
documents = args[split + 1 :]
registry = Registry().with_resources(
    (s["$id"], Resource.from_contents(s)) for s in schemas if "$id" in s
)
cls = validator_for(schemas[0])
cls.check_schema(schemas[0])
validator = cls(schemas[0], registry=registry, format_checker=FormatChecker())
errors = 0
for path in documents:
    for e in validator.iter_errors(json.load(open(path, encoding="utf-8"))):
        errors += 1
        print(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message[:400]}")
print(f"{len(documents)} documents, {errors} errors")
sys.exit(1 if errors else 0)
