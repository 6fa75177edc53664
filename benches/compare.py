#!/usr/bin/env python3
"""Side-by-side accuracy of several OCR outputs of one corpus, and the per-page regression guard.

  compare.py CORPUS NAME=HYPDIR [NAME=HYPDIR ...] [--guard NAME:BASE] [--margin 0.02]

Each HYPDIR holds <page stem>.txt. Prints CER (order-sensitive, as ../shared/tools/cer.py counts
it) and bag-of-words F1 (order-blind, as ../shared/tools/bow.py) per profile for every output, and
the pages with ink whose text is empty. With --guard A:B it lists every page where A's word F1 is
more than MARGIN below B's (the "never worse than plain Tesseract" list) and exits 1 if any.
"""
import argparse, json, os, re, sys, unicodedata
from collections import Counter, defaultdict

from rapidfuzz.distance import Levenshtein

LEADER = re.compile(r"[.…_·]{3,}")
PUNCT = ".,;:!?()\"'“”"


def norm(s):
    s = LEADER.sub(" ", unicodedata.normalize("NFC", s))
    return re.sub(r"\s+", " ", s).strip()


def words(s):
    s = LEADER.sub(" ", unicodedata.normalize("NFC", s))
    return Counter(w.strip(PUNCT) for w in s.split() if w.strip(PUNCT))


def f1(h, r):
    m = sum((h & r).values())
    p, q = m / max(1, sum(h.values())), m / max(1, sum(r.values()))
    return m, 2 * p * q / max(1e-9, p + q)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("outputs", nargs="+")
    ap.add_argument("--guard")
    ap.add_argument("--margin", type=float, default=0.02)
    a = ap.parse_args()
    outs = dict(o.split("=", 1) for o in a.outputs)
    truth = [json.loads(l) for l in open(os.path.join(a.corpus, "truth.jsonl"), encoding="utf-8")]
    truth = [t for t in truth if not t["blank"]]
    # name -> group -> [edits, ref chars, matched words, hyp words, ref words]
    agg = {n: defaultdict(lambda: [0, 0, 0, 0, 0]) for n in outs}
    page_f1 = {n: {} for n in outs}
    empty = {n: [] for n in outs}
    for t in truth:
        stem = os.path.splitext(t["file"])[0]
        ref, rw = norm(t["text"]), words(t["text"])
        groups = ["all", "profile:" + t["profile"], "type:" + t["doc_type"]]
        if t.get("seal") == "real":
            groups.append("seal:real")
        for n, d in outs.items():
            p = os.path.join(d, stem + ".txt")
            raw = open(p, encoding="utf-8").read() if os.path.exists(p) else ""
            hyp, hw = norm(raw), words(raw)
            if not hyp:
                empty[n].append(stem)
            m, f = f1(hw, rw)
            page_f1[n][stem] = f
            for g in groups:
                s = agg[n][g]
                s[0] += Levenshtein.distance(hyp, ref)
                s[1] += len(ref)
                s[2] += m
                s[3] += sum(hw.values())
                s[4] += sum(rw.values())
    names = list(outs)
    keys = sorted(agg[names[0]], key=lambda k: (k != "all", k))
    print(f"{'group':24s}" + "".join(f"{n + ' CER':>16s}{n + ' F1':>14s}" for n in names))
    for k in keys:
        row = f"{k:24s}"
        for n in names:
            e, c, m, nh, nr = agg[n][k]
            p, r = m / max(1, nh), m / max(1, nr)
            row += f"{e / max(1, c):16.4f}{2 * p * r / max(1e-9, p + r):14.4f}"
        print(row)
    for n in names:
        print(f"pages with ink and empty text, {n}: {len(empty[n])} {' '.join(empty[n])}")
    if a.guard:
        mine, base = a.guard.split(":")
        worse = sorted(
            (s, page_f1[mine][s], page_f1[base][s])
            for s in page_f1[mine]
            if page_f1[mine][s] < page_f1[base][s] - a.margin
        )
        print(f"regression guard: pages where {mine} word F1 < {base} - {a.margin}: {len(worse)}")
        for s, x, y in worse:
            print(f"  {s:44s} {mine} {x:.4f}  {base} {y:.4f}")
        if worse or empty[mine]:
            sys.exit(1)


if __name__ == "__main__":
    main()
