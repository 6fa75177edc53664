#!/usr/bin/env bash
# Installs the Debian (12+) font packages benches/forms.py renders its declaration forms with:
# typefaces with Vietnamese coverage beyond DejaVu and Noto (which scripts/setup.sh and the base
# system bring). forms.py lists the faces it uses by file path, checks each against the characters
# it renders and skips missing or incomplete ones; it names this script when a face is missing.
# Only missing packages are installed (apt-get update first).
set -euo pipefail
pkgs=(fonts-dejavu-core fonts-dejavu-extra fonts-noto-core fonts-noto-mono
      fonts-liberation2 fonts-croscore fonts-freefont-ttf fonts-roboto-unhinted
      fonts-sil-gentiumplus fonts-sil-charis fonts-sil-andika fonts-texgyre
      fonts-crosextra-caladea fonts-open-sans fonts-lato fonts-inter fonts-jetbrains-mono
      fonts-ebgaramond fonts-hack "$@")
bash "$(dirname "$0")/../scripts/apt-missing.sh" "${pkgs[@]}"
