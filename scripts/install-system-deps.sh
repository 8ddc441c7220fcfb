#!/usr/bin/env bash
# Installs what aidevops needs from the OS on a Debian/Ubuntu machine: the Docker engine (for the
# sandbox and Molecule), debootstrap (to build the sandbox image without a registry), an SSH client,
# BIND for the DNS tests, headless Chromium for the HTML report test, and Python's venv module.
# Does nothing when all is there already.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v named >/dev/null 2>&1 || need+=(bind9 bind9-utils)  # RFC 2136 tests run a real BIND
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # the HTML report is checked in a real browser
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing system packages: ${need[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u)
