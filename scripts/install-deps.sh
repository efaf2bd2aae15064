#!/usr/bin/env bash
# Installs the Debian packages trm builds against. Safe to re-run; does nothing when all are present.
set -euo pipefail
pkgs=(cmake make g++ pkg-config libopenblas-dev libcli11-dev libfmt-dev doctest-dev nlohmann-json3-dev
      libyaml-cpp-dev libzip-dev zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
