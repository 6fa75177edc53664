#!/usr/bin/env python3
"""Field-extraction accuracy on a corpus with truth.jsonl.

    python3 benches/fields.py [--corpus ../shared/corpus/dev] [--out DIR] [--run]

--run first runs `target/release/motcua process` on the corpus into DIR; otherwise DIR holds
JSON already written by `motcua process` (or by `examples/extract_offline.rs`). Compares each
page's fields with the truth `fields` and prints exact-match accuracy per document type, per
profile, per font split (truth `font_split`, benches/forms.py), per layout and value font when the
truth has them, and per field; page classification (a page whose doc_type has no model, e.g.
`form`, `text`, `blank`, must get none), listing the pages classified as a model they are not and
the pages whose model was missed; a calibration table (fields by reported confidence and by
validation status: how many, how many right); and every field reported `valid` whose value is
wrong (the target is none). Dates are compared as ISO; names (fields named `name`/`*.name`, or
whose truth is upper case) after the product's normalization of both sides (upper case NFC,
white space collapsed). Exit code 1 when any valid field is wrong.
"""

import argparse
import collections
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
    "death_declaration": "to_khai_khai_tu",
    "marital_status_declaration": "to_khai_xac_nhan_tinh_trang_hon_nhan",
}
DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
BUCKETS = [(0.5, "<0.5"), (0.7, "0.5-0.7"), (0.8, "0.7-0.8"), (0.9, "0.8-0.9"), (0.95, "0.9-0.95"),
           (0.98, "0.95-0.98"), (float("inf"), ">=0.98")]


def is_name(field, truth):
    return (field == "name" or field.endswith(".name")
            or (any(c.isalpha() for c in truth) and truth == truth.upper()))


def norm_name(v):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", v).upper()).strip()


def norm_truth(v):
    m = DATE.match(v)
    if m:
        return f"{m.group(3)}-{m.group(2)}-{m.group(1)}"
    return unicodedata.normalize("NFC", v)


def bucket(conf):
    if conf is None:
        return "missing"
    for top, label in BUCKETS:
        if conf < top:
            return label
    return BUCKETS[-1][1]


def pct(a, b):
    return f"{100.0 * a / b:5.1f}% ({a}/{b})" if b else "   n/a"


def table(title, acc, order=None, width=24):
    if not acc:
        return
    print(f"\n{title}:")
    for k in order or sorted(acc):
        if k in acc:
            ok, n = acc[k]
            print(f"  {k:{width}} {pct(ok, n)}")


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

    pair = lambda: [0, 0]
    per_field = collections.defaultdict(pair)  # (doc_type, field) -> [ok, total]
    per_type = collections.defaultdict(pair)
    per_profile = collections.defaultdict(pair)
    per_split = collections.defaultdict(pair)
    per_type_split = collections.defaultdict(pair)
    per_profile_split = collections.defaultdict(pair)
    per_layout = collections.defaultdict(pair)
    per_value_font = collections.defaultdict(pair)
    per_conf = collections.defaultdict(pair)
    per_status = collections.defaultdict(pair)
    classified = [0, 0]
    class_split = collections.defaultdict(pair)
    wrong_model, missed, no_output = [], [], []
    valid_wrong = []
    for t in truth:
        stem = os.path.splitext(t["file"])[0]
        path = os.path.join(a.out, stem + ".json")
        pages = json.load(open(path, encoding="utf-8"))["pages"] if os.path.exists(path) else []
        if not os.path.exists(path):
            no_output.append(t["file"])
        split = t.get("font_split")
        want_model = MODEL_OF.get(t["doc_type"])
        got_models = [p["doc_type"]["model"] if p.get("doc_type") else None for p in pages]
        got = [m for m in got_models if m]
        ok_class = bool(pages) and (got[:1] or [None])[0] == want_model and len(set(got)) <= 1
        classified[0] += ok_class
        classified[1] += 1
        if split:
            class_split[split][0] += ok_class
            class_split[split][1] += 1
        if not ok_class and pages:
            line = f"{t['file']}: want {want_model or 'no model'}, got {', '.join(m or 'none' for m in got_models) or 'no output'}"
            (missed if want_model and not got else wrong_model).append(line)
        fields = {}
        for p in pages:
            for f in p.get("fields", []):
                fields.setdefault(f["name"], f)
        for name, want in (t.get("fields") or {}).items():
            want = norm_truth(want)
            f = fields.get(name)
            got_v = f and f.get("value")
            if is_name(name, want) and isinstance(got_v, str):
                ok = norm_name(got_v) == norm_name(want)
            else:
                ok = got_v == want
            st = f["validation"]["status"] if f else "missing"
            conf = f.get("confidence") if f else None
            keys = [((t["doc_type"], name), per_field), (t["doc_type"], per_type),
                    (t["profile"], per_profile), (bucket(conf), per_conf), (st, per_status)]
            if split:
                keys += [(split, per_split), ((t["doc_type"], split), per_type_split),
                         ((t["profile"], split), per_profile_split)]
            if t.get("layout"):
                keys.append((f"{t['doc_type']}/{t['layout']}", per_layout))
            if t.get("value_font"):
                keys.append((t["value_font"], per_value_font))
            for key, acc in keys:
                acc[key][0] += ok
                acc[key][1] += 1
            if st == "valid" and not ok:
                valid_wrong.append(f"{t['file']} {name}: valid {got_v!r}, truth {want!r}"
                                   + (f" (confidence {conf:.3f})" if isinstance(conf, (int, float)) else ""))
            if not ok and os.environ.get("VERBOSE"):
                c = f"{conf:.2f}" if isinstance(conf, (int, float)) else "-"
                print(f"  miss {t['file']} {name}: got {got_v!r} ({st} {c}) want {want!r} raw {f and f.get('raw')!r}")

    print(f"page classification: {pct(*classified)}")
    for s in sorted(class_split):
        print(f"  {s:22} {pct(*class_split[s])}")
    if no_output:
        print(f"no JSON in {a.out} for {len(no_output)} page(s): {', '.join(no_output)}")
    print(f"classified as a model they are not: {len(wrong_model)}")
    for l in wrong_model:
        print("  " + l)
    print(f"model missed: {len(missed)}")
    for l in missed:
        print("  " + l)

    table("exact match per document type", per_type)
    table("exact match per profile", per_profile)
    if per_split:
        table("exact match per font split", per_split)
        splits = sorted({s for _, s in per_type_split})
        for title, acc in (("document type", per_type_split), ("profile", per_profile_split)):
            rows = sorted({k for k, _ in acc})
            print(f"\nexact match per {title} and font split:")
            print(f"  {'':26}" + "".join(f"{s:>20}" for s in splits))
            for r in rows:
                print(f"  {r:26}" + "".join(f"{pct(*acc[(r, s)]) if (r, s) in acc else 'n/a':>20}" for s in splits))
    table("exact match per layout", per_layout, width=38)
    table("exact match per value font", per_value_font, width=30)
    print("\nexact match per field:")
    for (dt, name), (ok, n) in sorted(per_field.items()):
        print(f"  {dt:26} {name:24} {pct(ok, n)}")

    print("\ncalibration: truth fields by reported confidence (right/all):")
    for label in [b for _, b in BUCKETS] + ["missing"]:
        if label in per_conf:
            print(f"  {label:12} {pct(*per_conf[label])}")
    print("by validation status:")
    for st in ("valid", "unchecked", "invalid", "missing"):
        if st in per_status:
            print(f"  {st:12} {pct(*per_status[st])}")
    print(f"\nvalid but wrong: {len(valid_wrong)}")
    for v in valid_wrong:
        print("  " + v)
    return 1 if valid_wrong else 0


if __name__ == "__main__":
    sys.exit(main())
