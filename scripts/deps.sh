#!/usr/bin/env bash
# Installs the Debian packages DiffSync builds and tests with. Idempotent: does
# nothing (and needs no network) when everything is already installed.
# Usage: scripts/deps.sh [--fuzz] [--browser]   (--fuzz adds clang and its
# fuzzer runtime; --browser adds Chromium, with emoji and CJK fonts for its
# screenshots, for the browser editor's tests)
set -euo pipefail

packages=(
  cmake ninja-build ccache g++ pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  zlib1g-dev libsqlite3-dev libssl-dev libspdlog-dev libfmt-dev prometheus-cpp-dev
  python3-pytest python3-websocket
)
for arg in "$@"; do
  case "$arg" in
    --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
    --browser) packages+=(chromium fonts-noto-color-emoji fonts-wqy-zenhei) ;;
    *) echo "deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

# Node.js and npm (the browser editor's bundle; end-to-end tests drive
# MobWrite's own client): usually present; Debian's packages otherwise.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# --no-install-recommends: the recommends of some packages pull in the default
# Boost (1.74), which conflicts with the versioned 1.81 packages.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
