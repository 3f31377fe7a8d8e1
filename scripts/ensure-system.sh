#!/usr/bin/env bash
# Install the Debian packages wise-al needs, only those missing. Idempotent; fast when done.
set -euo pipefail
packages=(cp2k packmol docker-compose chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come with a nodejs from elsewhere (it conflicts with Debian's npm): any npm will do
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the index first (fast); refresh only if that fails.
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
  || { "${as_root[@]}" apt-get update -q >/dev/null \
       && "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
