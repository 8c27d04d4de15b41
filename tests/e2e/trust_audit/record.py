"""record.py FILE KEY=REGEX...: exit 0 if a record in FILE (journal.py's output)
has every KEY with a value REGEX matches in full; prints that (last) record. Else
exit 1, printing the records seen to stderr."""
import json
import re
import sys

path, wanted = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
records = []
with open(path) as f:
    records = [json.loads(line) for line in f if line.strip()]
for record in reversed(records):
    if all(k in record and re.fullmatch(v, record[k]) for k, v in wanted):
        print(json.dumps(record, sort_keys=True))
        sys.exit(0)
print("no record has %s; the records:" % " ".join("=".join(w) for w in wanted), file=sys.stderr)
for record in records:
    print("  " + json.dumps(record, sort_keys=True), file=sys.stderr)
sys.exit(1)
