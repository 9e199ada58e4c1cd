#!/usr/bin/env bash
# Install the Debian packages the reports (PDF, chart export) and browser tests need, when missing:
# Chromium (Plotly's kaleido and Playwright drive it), poppler-utils (pdftotext/pdftoppm), Pango and fonts
# (WeasyPrint); or the packages named as arguments. Runs as root on the project's machines; elsewhere it says
# what to install.
set -euo pipefail

packages=(chromium poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b)
if [ $# -gt 0 ]; then
  packages=("$@")  # e.g. `ensure_system_packages.sh wrk` for the benchmarks' load generator
fi
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install these system packages: ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
