#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/api/browser), and the fonts the page needs
# (Korean text renders with Noto Sans CJK), idempotently: only what is missing.
# Playwright's own browser download cannot reach its CDN here, so the tests drive /usr/bin/chromium.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
for package in fonts-dejavu-core fonts-noto-cjk; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_browser.sh: ${missing[*]} missing and installing needs root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
/usr/bin/chromium --version
