#!/usr/bin/env python3
"""validate.py SCHEMA.json OUTPUT.json...: checks each `hotpatch --json` output (one
JSON object on one line, "schema": 1) against docs/hotpatch.schema.json. A small JSON Schema (2020-12) subset, enough for that file:
$ref (local), type, const, enum, properties, required, additionalProperties: false,
items, minItems, minimum, maximum, minLength, pattern, allOf, anyOf, oneOf.
Any keyword it does not know is an error, so the schema cannot say more than is checked.
Prints what does not match, with the JSON path, and exits 1."""
import json
import re
import sys

KNOWN = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum", "properties",
         "required", "additionalProperties", "items", "minItems", "minimum", "maximum", "minLength", "pattern",
         "allOf", "anyOf", "oneOf"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Validator:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported: {ref}")
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def errors(self, value, schema, path):
        """A list of 'path: problem' strings; empty when value matches."""
        unknown = set(schema) - KNOWN
        if unknown:
            raise ValueError(f"schema at {path} uses unsupported keywords {sorted(unknown)}")
        out = []
        if "$ref" in schema:
            out += self.errors(value, self.resolve(schema["$ref"]), path)
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(TYPES[t](value) for t in types):
                return out + [f"{path}: expected {'/'.join(types)}, got {json.dumps(value)[:80]}"]
        if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
            out.append(f"{path}: expected {json.dumps(schema['const'])}, got {json.dumps(value)[:80]}")
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{path}: {json.dumps(value)[:80]} is not one of {schema['enum']}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                out.append(f"{path}: {value} < minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                out.append(f"{path}: {value} > maximum {schema['maximum']}")
        if isinstance(value, str):
            if "minLength" in schema and len(value) < schema["minLength"]:
                out.append(f"{path}: shorter than {schema['minLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                out.append(f"{path}: {value!r} does not match /{schema['pattern']}/")
        if isinstance(value, dict):
            for key in schema.get("required", []):
                if key not in value:
                    out.append(f"{path}: missing '{key}'")
            props = schema.get("properties", {})
            for key, sub in props.items():
                if key in value:
                    out += self.errors(value[key], sub, f"{path}.{key}")
            if schema.get("additionalProperties") is False:
                for key in value:
                    if key not in props:
                        out.append(f"{path}: unexpected '{key}'")
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                out.append(f"{path}: fewer than {schema['minItems']} items")
            if "items" in schema:
                for i, item in enumerate(value):
                    out += self.errors(item, schema["items"], f"{path}[{i}]")
        for sub in schema.get("allOf", []):
            out += self.errors(value, sub, path)
        if "anyOf" in schema:
            tries = [self.errors(value, sub, path) for sub in schema["anyOf"]]
            if all(tries):
                out.append(f"{path}: matches none of anyOf; closest: " + "; ".join(min(tries, key=len)))
        if "oneOf" in schema:
            tries = [self.errors(value, sub, path) for sub in schema["oneOf"]]
            matched = sum(1 for t in tries if not t)
            if matched == 0:
                out.append(f"{path}: matches none of oneOf; closest: " + "; ".join(min(tries, key=len)))
            elif matched > 1:
                out.append(f"{path}: matches {matched} of oneOf (ambiguous)")
        return out


def check(validator, schema, path):
    """Problems with the output in `path` (empty: it matches)."""
    text = open(path).read()
    lines = [l for l in text.splitlines() if l.strip()]
    if len(lines) != 1:
        return [f"expected one JSON object on one line, got {len(lines)} lines:\n{text}"]
    try:
        value = json.loads(lines[0])
    except ValueError as e:
        return [f"not JSON ({e}): {lines[0][:200]}"]
    if not isinstance(value, dict) or value.get("schema") != 1:
        return [f'no "schema": 1 in {lines[0][:200]}']
    problems = validator.errors(value, schema, "$")
    return problems + ["output: " + lines[0][:500]] if problems else []


def main():
    schema_path, outputs = sys.argv[1], sys.argv[2:]
    schema = json.load(open(schema_path))
    validator = Validator(schema)
    failed = 0
    for path in outputs:
        problems = check(validator, schema, path)
        if problems:
            failed += 1
            print(f"{path}: does not match {schema_path}:")
            for p in problems:
                print("  " + p)
    print(f"{len(outputs) - failed} of {len(outputs)} outputs match the schema")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
