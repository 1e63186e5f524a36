#!/usr/bin/env bash
# Installs the Debian packages slate builds and tests with, only those that are
# missing, so a second run costs nothing. Needs root (or sudo) on a fresh machine.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libglpk-dev glpk-utils          # LP solver (+ glpsol for the solver benchmark)
  libcjson-dev                    # JSON
  libcunit1-dev                   # unit tests
  libmicrohttpd-dev               # controller HTTP
  libnghttp2-dev libevent-dev libhttp-parser-dev  # sidecar
  curl python3 python3-yaml       # integration tests (export YAML parsed back)
  nghttp2-client nghttp2-server   # nghttp, h2load, nghttpd: h2c clients/servers in tests and bench
  wrk haproxy                     # HTTP/1.1 load tool and the reference proxy for bench/
  prometheus                      # promtool checks /metrics
  gnuplot-nox                     # slate-sim --plot writes SVG with gnuplot
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
