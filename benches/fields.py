#!/usr/bin/env python3
"""Field-extraction accuracy on a corpus with truth.jsonl.

    python3 benches/fields.py [--corpus ../shared/corpus/dev] [--out DIR] [--run]

--run first runs `target/release/motcua process` on the corpus into DIR; otherwise DIR holds
JSON already written by `motcua process` (or by `examples/extract_offline.rs`). Compares each
page's fields with the truth `fields` (dates compared as ISO) and prints exact-match accuracy per
document type and field, per profile, page classification, and every field reported `valid`
whose value is wrong (the target is none). Exit code 1 when any valid field is wrong.
"""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import unicodedata

MODEL_OF = {
    "cccd": "cccd",
    "birth_declaration": "to_khai_khai_sinh",
    "marriage_declaration": "to_khai_ket_hon",
}
DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def norm_truth(v):
    m = DATE.match(v)
    if m:
        return f"{m.group(3)}-{m.group(2)}-{m.group(1)}"
    return unicodedata.normalize("NFC", v)


def pct(a, b):
    return f"{100.0 * a / b:5.1f}% ({a}/{b})" if b else "   n/a"


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus", "dev"))
    ap.add_argument("--out", default="/tmp/motcua-fields")
    ap.add_argument("--run", action="store_true")
    a = ap.parse_args()
    truth = [json.loads(l) for l in open(os.path.join(a.corpus, "truth.jsonl"), encoding="utf-8")]
    if a.run:
        files = [os.path.join(a.corpus, t["file"]) for t in truth]
        exe = os.path.join(here, "..", "target", "release", "motcua")
        subprocess.run([exe, "process", *files, "--out", a.out], check=False)

    per_field = collections.defaultdict(lambda: [0, 0])  # (doc_type, field) -> [ok, total]
    per_type = collections.defaultdict(lambda: [0, 0])
    per_profile = collections.defaultdict(lambda: [0, 0])
    classified = [0, 0]
    status = collections.Counter()
    valid_wrong = []
    for t in truth:
        stem = os.path.splitext(t["file"])[0]
        path = os.path.join(a.out, stem + ".json")
        pages = json.load(open(path, encoding="utf-8"))["pages"] if os.path.exists(path) else []
        want_model = MODEL_OF.get(t["doc_type"])
        got_models = [p["doc_type"]["model"] for p in pages if p.get("doc_type")]
        classified[1] += 1
        if (got_models[:1] or [None])[0] == want_model and len(set(got_models)) <= 1:
            classified[0] += 1
        elif True:
            print(f"classification: {t['file']}: want {want_model}, got {got_models}")
        fields = {}
        for p in pages:
            for f in p.get("fields", []):
                fields.setdefault(f["name"], f)
        for name, want in (t.get("fields") or {}).items():
            want = norm_truth(want)
            f = fields.get(name)
            got = f and f.get("value")
            ok = got == want
            st = f["validation"]["status"] if f else "missing"
            status[st] += 1
            for key, acc in (((t["doc_type"], name), per_field), (t["doc_type"], per_type), (t["profile"], per_profile)):
                acc[key][0] += ok
                acc[key][1] += 1
            if st == "valid" and not ok:
                valid_wrong.append(f"{t['file']} {name}: valid {got!r}, truth {want!r}")
            if not ok and os.environ.get("VERBOSE"):
                print(f"  miss {t['file']} {name}: got {got!r} ({st}) want {want!r} raw {f and f.get('raw')!r}")

    print(f"page classification: {pct(*classified)}")
    print("\nexact match per document type:")
    for k, (ok, n) in sorted(per_type.items()):
        print(f"  {k:22} {pct(ok, n)}")
    print("\nexact match per profile:")
    for k, (ok, n) in sorted(per_profile.items()):
        print(f"  {k:22} {pct(ok, n)}")
    print("\nexact match per field:")
    for (dt, name), (ok, n) in sorted(per_field.items()):
        print(f"  {dt:22} {name:22} {pct(ok, n)}")
    print("\nvalidation status of truth fields:", dict(status))
    print(f"valid but wrong: {len(valid_wrong)}")
    for v in valid_wrong:
        print("  " + v)
    return 1 if valid_wrong else 0


if __name__ == "__main__":
    sys.exit(main())
