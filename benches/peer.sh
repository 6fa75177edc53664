#!/usr/bin/env bash
# Runs `motcua process` over the peer-suite files (../shared/corpus/peer: files from other
# projects' test suites, with a manifest saying which must be read and which refused), one
# process per file under a timeout and an address-space limit as the corpus README asks, and
# prints what went wrong: `read` files refused, `refuse` files read or refused with a code that
# does not say what happened, crashes, time-outs; then the peak RSS. Deliberate disagreements
# (EXPECTED_DEVIATIONS below, each with its reason) are listed apart and do not fail the run.
#
#   benches/peer.sh [PEER_DIR] [JOBS]      (exit 1 when anything is wrong)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
peer=${1:-$here/../shared/corpus/peer}
jobs=${2:-$(nproc)}
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
bin="$here/target/release/motcua"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export bin work peer
# One line per file: name, exit status, peak RSS (KiB), pages, characters of text, error code.
run_one() {
  f=$1; out="$work/out/$f"; mkdir -p "$out"
  set +e
  /usr/bin/time -f '%M' -o "$out/rss" timeout 120 prlimit --as=4000000000 \
    "$bin" process "$peer/files/$f" --out "$out" >/dev/null 2>"$out/log"
  rc=$?
  set -e
  rss=$(tail -1 "$out/rss" 2>/dev/null || echo 0)
  code=$(grep -o 'code="\?[a-z_]*' "$out/log" | head -1 | cut -d= -f2 | tr -d '"' || true)
  pages=0; chars=0
  json=$(ls "$out"/*.json 2>/dev/null | head -1 || true)
  if [ -n "$json" ]; then
    pages=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["pages"]))' "$json")
    chars=$(wc -m < "${json%.json}.txt")
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$f" "$rc" "$rss" "$pages" "$chars" "${code:--}"
}
export -f run_one
tail -n +2 "$peer/manifest.tsv" | cut -f1 | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} \
  > "$work/results.tsv"
python3 - "$peer/manifest.tsv" "$work/results.tsv" <<'PY'
import csv, sys
man = {r["file"]: r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")}
res = {}
for line in open(sys.argv[2]):
    f, rc, rss, pages, chars, code = line.rstrip("\n").split("\t")
    res[f] = dict(rc=int(rc), rss=int(rss or 0), pages=int(pages), chars=int(chars), code=code)

def expected_code(kind):
    """The code a refusal of this kind must carry; None when any stable code will do."""
    if "encrypted" in kind:
        return {"password_protected"}
    if kind.startswith("bomb"):
        return {"decode_memory_limit", "page_too_large", "file_too_large", "unsupported_format"}
    if kind.startswith(("unsupported", "not-a-pdf", "raw-", "odt", "docx")):
        return {"unsupported_format"}
    return None

# Files on which we disagree with the manifest on purpose, with the reason. Reported, not
# counted as wrong; one that agrees again is (drop it from here).
EXPECTED_DEVIATIONS = {
    "ocrmypdf--encrypted_algo4.pdf": "owner password only (no user password): read, as our "
    "encrypted-input issue says; OCRmyPDF refuses any encrypted input",
}

bad, counts, deviations = [], {}, []
for f, m in man.items():
    r, exp, kind = res.get(f), m["expected"], m["kind"]
    if r is None:
        bad.append((f, kind, exp, "not run")); continue
    crashed = r["rc"] not in (0, 1) or (r["rc"] == 1 and r["code"] in ("-", "internal"))
    outcome = "crash" if crashed else ("read" if r["rc"] == 0 and r["pages"] > 0 else "refused")
    counts[(exp, outcome)] = counts.get((exp, outcome), 0) + 1
    if crashed:
        bad.append((f, kind, exp, f"crash/timeout rc={r['rc']} code={r['code']}"))
    elif exp == "read" and outcome != "read":
        bad.append((f, kind, exp, f"refused: {r['code']}"))
    elif exp == "refuse" and outcome == "read":
        bad.append((f, kind, exp, f"read ({r['pages']} pages)"))
    elif exp == "refuse" and expected_code(kind) and r["code"] not in expected_code(kind):
        bad.append((f, kind, exp, f"refused with {r['code']}, expected {'/'.join(sorted(expected_code(kind)))}"))
    elif exp == "read" and r["chars"] == 0 and not kind.endswith("blank"):
        # Not an error by itself (a photo has no text), but worth a look.
        print(f"note: read without text: {f} ({kind})")
for b in list(bad):
    if b[0] in EXPECTED_DEVIATIONS:
        bad.remove(b)
        deviations.append(b + (EXPECTED_DEVIATIONS[b[0]],))
for f in EXPECTED_DEVIATIONS:
    if f in man and f in res and not any(d[0] == f for d in deviations):
        bad.append((f, man[f]["kind"], man[f]["expected"], "agrees now: drop it from EXPECTED_DEVIATIONS"))
print("expected  outcome   files")
for (e, o), n in sorted(counts.items()):
    print(f"{e:9s} {o:9s} {n:5d}")
rss = sorted(((r["rss"], f) for f, r in res.items()), reverse=True)
print(f"peak RSS: {rss[0][0] / 1024:.0f} MiB ({rss[0][1]}); median {rss[len(rss) // 2][0] / 1024:.0f} MiB")
print(f"expected deviations: {len(deviations)}")
for d in sorted(deviations):
    print("  " + "\t".join(d))
print(f"wrong: {len(bad)}")
for b in sorted(bad):
    print("  " + "\t".join(b))
sys.exit(1 if bad else 0)
PY
