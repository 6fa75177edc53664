#!/usr/bin/env bash
# Throughput and accuracy of `motcua process` against the tesseract CLI, measured in one run on the
# same pages and cores. The baseline runs one `tesseract` process per page (OMP_THREAD_LIMIT=1),
# as many at once as there are cores.
#
#   benches/corpus.sh [CORPUS_DIR] [JOBS]        (../shared/corpus/dev, …/real, or your own)
#   OCRMYPDF=1 benches/corpus.sh …                also runs OCRmyPDF (--rotate-pages --deskew
#                                                 --clean) on the same pages, one page per process
#
# Prints pages/s, CER and bag-of-words F1 per profile side by side (benches/compare.py), the
# pages with ink whose text came out empty, and the regression guard: every page where motcua's
# word F1 is more than 0.02 below raw tesseract's.
# Needs: a release build (built here), tesseract-ocr-vie, python3 with rapidfuzz (installed if
# missing); for OCRMYPDF=1 the ocrmypdf and unpaper packages.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/corpus/dev}
jobs=${2:-$(nproc)}
cer="$here/../shared/tools/cer.py"
[ -f "$cer" ] || cer="$corpus/../../tools/cer.py"
python3 -c 'import rapidfuzz' 2>/dev/null || python3 -m pip install -q rapidfuzz

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
bin="$here/target/release/motcua"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t files < <(find "$corpus" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.jpeg' -o -name '*.png' -o -name '*.tif' -o -name '*.tiff' -o -name '*.webp' \) | sort)
pages=${#files[@]}

now() { date +%s.%N; }

t0=$(now)
"$bin" process "${files[@]}" --out "$work/motcua" --jobs "$jobs" 2>"$work/motcua.log"
t1=$(now)
mkdir -p "$work/tess"
printf '%s\n' "${files[@]}" | OMP_THREAD_LIMIT=1 xargs -P "$jobs" -I{} sh -c \
  'f="{}"; b=$(basename "$f"); tesseract "$f" "$0/${b%.*}" -l vie >/dev/null 2>&1' "$work/tess"
t2=$(now)

python3 - "$pages" "$t0" "$t1" "$t2" "$jobs" <<'PY'
import sys
pages, t0, t1, t2, jobs = int(sys.argv[1]), *map(float, sys.argv[2:5]), sys.argv[5]
m, t = t1 - t0, t2 - t1
print(f"pages: {pages}  cores used: {jobs}")
print(f"motcua process        {m:7.2f} s  {pages / m:6.3f} pages/s")
print(f"tesseract CLI/page    {t:7.2f} s  {pages / t:6.3f} pages/s")
print(f"speed-up              {t / m:7.2f}x")
PY
grep -o 'ocr_engines=[0-9]*' "$work/motcua.log" | sed 's/^/motcua /'
echo "--- CER motcua"
python3 "$cer" "$corpus" "$work/motcua"
echo "--- CER tesseract CLI"
python3 "$cer" "$corpus" "$work/tess"
outputs=(motcua="$work/motcua" tesseract="$work/tess")
if [ "${OCRMYPDF:-0}" = 1 ]; then
  mkdir -p "$work/ocrmypdf"
  t3=$(now)
  # Images without a stated resolution need --image-dpi; try without first, as a user would.
  printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c \
    'f="{}"; b=$(basename "$f"); s="$0/${b%.*}"
     for extra in "" "--image-dpi 300"; do
       ocrmypdf -q -l vie --rotate-pages --deskew --clean --jobs 1 $extra --sidecar "$s.txt" \
         --output-type pdf "$f" "$s.pdf" 2>/dev/null && break
     done' "$work/ocrmypdf"
  t4=$(now)
  python3 -c "import sys; print(f'ocrmypdf              {float(sys.argv[2]) - float(sys.argv[1]):7.2f} s')" "$t3" "$t4"
  outputs+=(ocrmypdf="$work/ocrmypdf")
fi
echo "--- CER and bag-of-words F1 by profile; empty pages; regression guard against tesseract"
python3 "$here/benches/compare.py" "$corpus" "${outputs[@]}" --guard motcua:tesseract || true
# Per-stage time per page, text-layer agreement, and orientation/blank flags against truth.
python3 - "$work/motcua" "$corpus" <<'PY'
import glob, json, os, re, subprocess, sys, unicodedata
from rapidfuzz.distance import Levenshtein
out, corpus = sys.argv[1], sys.argv[2]
truth = {os.path.splitext(json.loads(l)["file"])[0]: json.loads(l) for l in open(os.path.join(corpus, "truth.jsonl"))}
fold = lambda s: re.sub(r"\s+", " ", unicodedata.normalize("NFC", s)).strip()
st, n, flags, agree = {}, 0, [0, 0], {"-raw": [], "default": []}
for f in sorted(glob.glob(out + "/*.json")):
    stem = os.path.basename(f)[:-5]
    pages = json.load(open(f))["pages"]
    for p in pages:
        n += 1
        for k, v in p["timings"].items():
            st[k] = st.get(k, 0) + v
    t = truth.get(stem)
    if t and len(pages) == 1:
        flags[1] += 1
        flags[0] += pages[0]["orientation"] == t["orientation"] and pages[0]["blank"] == t["blank"]
    txt = fold(open(f[:-5] + ".txt", encoding="utf-8").read())
    for mode in agree:
        args = ["pdftotext"] + (["-raw"] if mode == "-raw" else []) + [f[:-5] + ".pdf", "-"]
        pdf = fold(subprocess.run(args, capture_output=True, text=True).stdout)
        agree[mode].append(Levenshtein.distance(txt, pdf) / max(1, len(txt)))
print("--- motcua mean ms per page by stage (one core)")
for k, v in st.items():
    print(f"{k:14s} {v / max(n, 1):9.1f}")
if st.get("ocr_ms"):
    print(f"normalize / ocr  {st['normalize_ms'] / st['ocr_ms'] * 100:8.1f} %")
print(f"--- orientation and blank as in truth.jsonl: {flags[0]}/{flags[1]} pages")
for mode, v in agree.items():
    print(f"--- pdftotext {mode:8s} vs .txt: worst CER {max(v):.4f}, files over 0.01: {sum(x >= 0.01 for x in v)}/{len(v)}")
PY
