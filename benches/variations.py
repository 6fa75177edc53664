#!/usr/bin/env python3
"""Our own variations of the real-document corpus, to measure on pages nobody tuned on.

  variations.py REAL_CORPUS OUT_DIR [--seed N]

Every clean page of REAL_CORPUS (../shared/corpus/real: pages rendered from real Vietnamese
government PDFs) is delivered again in ways the corpus does not use, with other seeds: a 200 dpi
office scan (skew, JPEG), a 150 dpi phone-like photo (uneven light, colour cast, soft focus), a
fine fax (200 dpi, bilevel) and a standard fax (200×100 dpi, bilevel, G4), and a 400 dpi gray scan.
OUT_DIR/tune/ and OUT_DIR/heldout/ each get images and a truth.jsonl in the corpus format (same
text; profile = the variation). Pages are split by their source page (`source.page_id`): half of
the source pages go to `heldout`, which no setting may be tuned on; BENCHMARKS.md reports both.
Deterministic for a seed. Needs Pillow.
"""
import argparse, hashlib, json, os, random

from PIL import Image, ImageFilter, ImageOps


def heldout(page_id):
    # A fixed split by source page, independent of the order of truth.jsonl.
    return hashlib.sha256(page_id.encode()).digest()[0] % 2 == 1


def rotate(img, deg, fill):
    return img.rotate(deg, resample=Image.BICUBIC, expand=False, fillcolor=fill)


def scan200(img, rnd):
    g = img.convert("L")
    g = g.resize((g.width * 2 // 3, g.height * 2 // 3), Image.LANCZOS)
    g = rotate(g, rnd.uniform(-2.0, 2.0), 250)
    return g, 200, None, "JPEG", {"quality": rnd.randint(55, 75)}


def phone150(img, rnd):
    c = img.convert("RGB").resize((img.width // 2, img.height // 2), Image.LANCZOS)
    c = rotate(c, rnd.uniform(-3.0, 3.0), (90, 90, 90))
    w, h = c.size
    # Light falling off towards one corner, and a warm colour cast.
    shade = Image.linear_gradient("L").resize((w, h)).rotate(rnd.choice([0, 90, 180, 270]))
    shade = shade.point(lambda v: 255 - v * rnd.uniform(0.25, 0.4) / 1.0)
    r, g, b = c.split()
    r = Image.composite(r, r.point(lambda v: v * 0.75), shade)
    g = Image.composite(g, g.point(lambda v: v * 0.72), shade)
    b = Image.composite(b, b.point(lambda v: v * 0.6), shade)
    c = Image.merge("RGB", (r, g, b)).filter(ImageFilter.GaussianBlur(rnd.uniform(0.6, 1.1)))
    return c, None, None, "JPEG", {"quality": rnd.randint(70, 85)}


def fax(img, rnd, standard):
    g = img.convert("L").resize((img.width * 2 // 3, img.height * 2 // 3), Image.LANCZOS)
    g = rotate(g, rnd.uniform(-1.0, 1.0), 255)
    if standard:
        g = g.resize((g.width, g.height // 2), Image.BOX)
    bw = g.point(lambda v: 255 if v > rnd.randint(150, 175) else 0).convert("1")
    return bw, 200, 100 if standard else None, "TIFF", {"compression": "group4"}


def scan400(img, rnd):
    g = img.convert("L").resize((img.width * 4 // 3, img.height * 4 // 3), Image.BICUBIC)
    g = ImageOps.autocontrast(rotate(g, rnd.uniform(-1.0, 1.0), 245), cutoff=1)
    return g, 400, None, "PNG", {}


VARIATIONS = {
    "scan200": scan200,
    "phone150": phone150,
    "fax200": lambda i, r: fax(i, r, False),
    "fax200x100": lambda i, r: fax(i, r, True),
    "scan400": scan400,
}
EXT = {"JPEG": "jpg", "TIFF": "tif", "PNG": "png"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=12)
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(os.path.join(a.corpus, "truth.jsonl"), encoding="utf-8")]
    clean = [t for t in rows if t["profile"] == "clean" and not t["blank"]]
    truth = {"tune": [], "heldout": []}
    for t in clean:
        split = "heldout" if heldout(t["source"]["page_id"]) else "tune"
        os.makedirs(os.path.join(a.out, split), exist_ok=True)
        src = Image.open(os.path.join(a.corpus, t["file"]))
        src.load()
        # Rendered at the corpus page's own resolution; the variations assume 300 dpi.
        dpi = t.get("dpi", 300)
        if dpi != 300:
            src = src.resize((src.width * 300 // dpi, src.height * 300 // dpi), Image.LANCZOS)
        stem = os.path.splitext(t["file"])[0]
        for name, make in VARIATIONS.items():
            rnd = random.Random(f"{a.seed}-{stem}-{name}")
            img, xdpi, ydpi, fmt, opts = make(src, rnd)
            out = f"var-{stem[5:8]}-{t['doc_type']}-{name}.{EXT[fmt]}"
            if xdpi:
                opts["dpi"] = (xdpi, ydpi or xdpi)
            img.save(os.path.join(a.out, split, out), fmt, **opts)
            row = {k: v for k, v in t.items() if k not in ("file", "profile", "dpi", "ydpi")}
            row.update(file=out, profile=name, dpi=xdpi or 150)
            if ydpi:
                row["ydpi"] = ydpi
            truth[split].append(row)
    for split, rs in truth.items():
        with open(os.path.join(a.out, split, "truth.jsonl"), "w", encoding="utf-8") as f:
            for r in rs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{split}: {len(rs)} pages")


if __name__ == "__main__":
    main()
