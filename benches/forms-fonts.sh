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
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
